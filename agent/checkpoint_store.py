"""The SQLite checkpoint saver: each channel's value stored once per version, a branch's writes batched.

LangGraph's SQLite saver writes the whole state at every step: after the fan-out of a 1,000-story
epic that is 10,000 cases and 1,000 stories, serialised again after scope, journeys, review,
approve, write-back and report, seconds of CPU per step (and a 170 MB database). This saver stores
a checkpoint as LangGraph's in-memory and Postgres savers do: the checkpoint row holds the channel
versions, and each channel's value is a row of `checkpoint_blobs` under (channel, version),
written only in the step that changed it (`new_versions`). Reading a checkpoint puts the values
of its versions back; a checkpoint written by the plain SQLite saver (its values inline) reads as
before.

LangGraph saves each finished branch's writes (`put_writes`) in a transaction of its own, and every
transaction on a journalled SQLite file ends in an fsync: about 10 ms on the development box, so
the 1,000 branches of a 1,000-story epic spent 10 s on fsyncs alone. `BatchedSqliteSaver` keeps
each branch's writes whole but commits them together: at most `flush_s` after the first of them,
with every checkpoint (`put`), before anything is read back, and when the run ends (`close`, also
on an error). A process killed outright loses at most the writes of the last `flush_s`; those
branches run again on resume, and a branch's writes are never saved in part, so every story's
cases are still there exactly once.

The database is in WAL mode with `synchronous=NORMAL`: a commit appends to the log without an
fsync (4 ms each on the development box, a dozen of them at the end of every run, after the last
model answer). A committed checkpoint survives the process being killed; only a power cut or an
operating-system crash can lose the last commits, and then the resume runs those steps again
(the write-back is idempotent: agent/writeback)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from langgraph.checkpoint.base import WRITES_IDX_MAP, BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

FLUSH_S = 0.25
"""The longest a branch's writes wait in memory before they are committed."""

_INSERT = ("INSERT OR {verb} INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, "
           "channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
BLOBS = "checkpoint_blobs"
"""The table of channel values: one row per thread, namespace, channel and version."""
_BLOBS_DDL = (f"CREATE TABLE IF NOT EXISTS {BLOBS} (thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '', "
              "channel TEXT NOT NULL, version TEXT NOT NULL, type TEXT NOT NULL, blob BLOB, "
              "PRIMARY KEY (thread_id, checkpoint_ns, channel, version))")
_EMPTY = "empty"
"""A blob's type when the channel had no value at that version (LangGraph's convention)."""


def connect(path: Any) -> sqlite3.Connection:
    """The checkpoint database, in WAL mode with synchronous=NORMAL from its first commit on (see
    above), shared by the saver's threads."""
    conn = sqlite3.connect(path, check_same_thread=False, timeout=LOCK_WAIT_S)
    _while_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"))
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


LOCK_WAIT_S = 30.0
"""How long a process waits for another one's lock on the shared checkpoint database."""


def _while_locked(step: Any) -> Any:
    """Run `step`, again while another process holds the database ('database is locked'): SQLite
    answers a journal-mode change or a schema statement at once with that error, without waiting
    for the busy timeout, when two workers open the same new database together."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class BatchedSqliteSaver(SqliteSaver):
    def __init__(self, conn: Any, *, serde: Any, flush_s: float = FLUSH_S) -> None:
        super().__init__(conn, serde=serde)
        self.lock = threading.RLock()  # put() holds it around the parent's own cursor
        self.flush_s = flush_s
        self._pending: list[tuple[str, list[tuple]]] = []
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.commits = 0
        """Transactions this saver committed for writes and checkpoints (for the benchmarks)."""
        self._latest: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        """Per thread and namespace: the id and the channel values of the checkpoint this saver put
        last, so that reading it back (the runner's final `get_state`) deserialises nothing."""

    # -- writes: serialised now, committed in batches ------------------------------------------------
    def put_writes(self, config: dict, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = "") -> None:
        conf = config["configurable"]
        verb = "REPLACE" if all(w[0] in WRITES_IDX_MAP for w in writes) else "IGNORE"
        rows = [(str(conf["thread_id"]), str(conf["checkpoint_ns"]), str(conf["checkpoint_id"]), task_id, task_path,
                 WRITES_IDX_MAP.get(channel, idx), channel, *self.serde.dumps_typed(value))
                for idx, (channel, value) in enumerate(writes)]
        with self._pending_lock:
            self._pending.append((_INSERT.format(verb=verb), rows))
            if self._timer is None:
                self._timer = threading.Timer(self.flush_s, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def _take(self) -> list[tuple[str, list[tuple]]]:
        with self._pending_lock:
            batch, self._pending = self._pending, []
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        return batch

    def _write(self, cur: Any, batch: list[tuple[str, list[tuple]]]) -> None:
        for query, rows in batch:
            cur.executemany(query, rows)

    def flush(self) -> None:
        """Commit the writes waiting in memory (one transaction). Held from taking the batch to its
        commit, so that close() cannot close the connection under a flush the timer started."""
        with self._flush_lock:
            batch = self._take()
            if batch:
                with self.cursor() as cur:
                    self._write(cur, batch)
                self.commits += 1

    def close(self) -> None:
        self.flush()

    def setup(self) -> None:
        if self.is_setup:
            return
        def create() -> None:
            super(BatchedSqliteSaver, self).setup()  # also WAL mode
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(_BLOBS_DDL)
            self.conn.commit()

        _while_locked(create)

    # -- checkpoints: the changed channels' values, committed together with the writes before them ---
    def put(self, config: dict, checkpoint: Any, metadata: Any, new_versions: Any) -> dict:
        conf = config["configurable"]
        thread, ns = str(conf["thread_id"]), str(conf.get("checkpoint_ns", ""))
        values = checkpoint.get("channel_values") or {}
        blobs = [(thread, ns, channel, str(version),
                  *(self.serde.dumps_typed(values[channel]) if channel in values else (_EMPTY, None)))
                 for channel, version in new_versions.items()]
        bare = {**checkpoint, "channel_values": {}}
        self._latest[(thread, ns)] = (str(checkpoint["id"]), dict(values))
        batch = self._take()
        with self.lock:  # re-entrant: super().put's own cursor joins this transaction
            self.setup()
            cur = self.conn.cursor()
            self._write(cur, batch)
            cur.executemany(f"INSERT OR REPLACE INTO {BLOBS} (thread_id, checkpoint_ns, channel, version, type, blob) "
                            "VALUES (?, ?, ?, ?, ?, ?)", blobs)
            saved = super().put(config, bare, metadata, new_versions)
        self.commits += 1
        return saved

    def _with_values(self, found: CheckpointTuple | None) -> CheckpointTuple | None:
        """`found` with the values of its channel versions read back from `checkpoint_blobs`."""
        if found is None:
            return None
        checkpoint = found.checkpoint
        values = dict(checkpoint.get("channel_values") or {})  # inline: written by the plain SQLite saver
        conf = found.config["configurable"]
        thread, ns = str(conf["thread_id"]), str(conf.get("checkpoint_ns", ""))
        latest = self._latest.get((thread, ns))
        if latest is not None and latest[0] == str(conf.get("checkpoint_id")):
            return found._replace(checkpoint={**checkpoint, "channel_values": dict(latest[1])})
        with self.cursor(transaction=False) as cur:
            for channel, version in (checkpoint.get("channel_versions") or {}).items():
                if channel in values:
                    continue
                row = cur.execute(f"SELECT type, blob FROM {BLOBS} WHERE thread_id = ? AND checkpoint_ns = ? "
                                  "AND channel = ? AND version = ?", (thread, ns, channel, str(version))).fetchone()
                if row is not None and row[0] != _EMPTY:
                    values[channel] = self.serde.loads_typed((row[0], row[1]))
        return found._replace(checkpoint={**checkpoint, "channel_values": values})

    # -- reads see every write -----------------------------------------------------------------------
    def get_tuple(self, config: dict) -> Any:
        self.flush()
        return self._with_values(super().get_tuple(config))

    def list(self, config: dict | None, **kwargs: Any) -> Iterator[Any]:
        self.flush()
        for found in super().list(config, **kwargs):
            yield self._with_values(found)

    def get_delta_channel_history(self, **kwargs: Any) -> Any:
        # the parent's fast path reads values inline from the checkpoint rows; the generic walk
        # reads them through get_tuple
        self.flush()
        return BaseCheckpointSaver.get_delta_channel_history(self, **kwargs)

    def delete_thread(self, thread_id: str) -> None:
        self.flush()
        super().delete_thread(thread_id)
        with self.cursor() as cur:
            cur.execute(f"DELETE FROM {BLOBS} WHERE thread_id = ?", (str(thread_id),))

    # -- a finished run keeps its last checkpoint only -----------------------------------------------
    def keep_only(self, thread_id: str, checkpoint_id: str) -> None:
        """Delete the thread's other checkpoints, their writes and the values only they refer to."""
        self.flush()
        with self.lock, self.conn:
            self.setup()
            conn = self.conn
            row = conn.execute("SELECT type, checkpoint, checkpoint_ns FROM checkpoints WHERE thread_id = ? "
                               "AND checkpoint_id = ?", (thread_id, checkpoint_id)).fetchone()
            if row is None:
                return
            versions = self.serde.loads_typed((row[0], row[1])).get("channel_versions") or {}
            kept = {(row[2], channel, str(version)) for channel, version in versions.items()}
            conn.execute("DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id <> ?", (thread_id, checkpoint_id))
            conn.execute("DELETE FROM writes WHERE thread_id = ? AND checkpoint_id <> ?", (thread_id, checkpoint_id))
            stored = conn.execute(f"SELECT checkpoint_ns, channel, version FROM {BLOBS} WHERE thread_id = ?",
                                  (thread_id,)).fetchall()
            conn.executemany(f"DELETE FROM {BLOBS} WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? "
                             "AND version = ?", [(thread_id, *key) for key in stored if tuple(key) not in kept])
