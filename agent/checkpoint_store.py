"""The SQLite checkpoint saver, with a branch's writes batched.

LangGraph saves each finished branch's writes (`put_writes`) in a transaction of its own, and every
transaction on a journalled SQLite file ends in an fsync: about 10 ms on the development box, so
the 1,000 branches of a 1,000-story epic spent 10 s on fsyncs alone. `BatchedSqliteSaver` keeps
each branch's writes whole but commits them together: at most `flush_s` after the first of them,
with every checkpoint (`put`), before anything is read back, and when the run ends (`close`, also
on an error). A process killed outright loses at most the writes of the last `flush_s`; those
branches run again on resume, and a branch's writes are never saved in part, so every story's
cases are still there exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from langgraph.checkpoint.base import WRITES_IDX_MAP
from langgraph.checkpoint.sqlite import SqliteSaver

FLUSH_S = 0.25
"""The longest a branch's writes wait in memory before they are committed."""

_INSERT = ("INSERT OR {verb} INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, "
           "channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


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

    # -- checkpoints: committed together with the writes before them ---------------------------------
    def put(self, config: dict, checkpoint: Any, metadata: Any, new_versions: Any) -> dict:
        batch = self._take()
        if not batch:
            self.commits += 1
            return super().put(config, checkpoint, metadata, new_versions)
        with self.lock:  # re-entrant: super().put's own cursor joins this transaction
            self._write(self.conn.cursor(), batch)
            saved = super().put(config, checkpoint, metadata, new_versions)
        self.commits += 1
        return saved

    # -- reads see every write -----------------------------------------------------------------------
    def get_tuple(self, config: dict) -> Any:
        self.flush()
        return super().get_tuple(config)

    def list(self, config: dict | None, **kwargs: Any) -> Iterator[Any]:
        self.flush()
        yield from super().list(config, **kwargs)

    def get_delta_channel_history(self, **kwargs: Any) -> Any:
        self.flush()
        return super().get_delta_channel_history(**kwargs)

    def delete_thread(self, thread_id: str) -> None:
        self.flush()
        super().delete_thread(thread_id)
