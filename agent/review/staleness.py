"""Stale tests: an existing test written for a criterion that has since changed or gone.

- **gone**: the test names a criterion id of its own story that the story no longer has, or it is
  casewright's own and a criterion text its fingerprint recorded is no longer among the story's;
- **changed**: the mapping's memory (below) holds the criterion's text as it was when the test was
  last seen mapped to it, the text differs now, and the test has not been updated since (its
  `updated` timestamp is the one remembered). A test updated after the change is mapped afresh.

With no memory of a person's test for a criterion (the first run, or a test linked since), the old
text comes from the story's Jira change history (agent/intake/history.py, `criteria_then`): the
criterion as it read when the test was last updated, when it reads otherwise now.

The memory is one JSON file per story under `<data dir>/coverage/`: for each test key, each
criterion id it was mapped to, with the criterion's text and the test's `updated` at that time.
Entries of stale tests are kept as they are, so a test stays stale until someone updates it.
Stale tests are reported, never edited (casewright's own follow the write-back's reconciliation).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from agent.models import CriterionLink, StaleTest, Story
from agent.writeback.identity import criterion_text

_STORY_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$")
Memory = dict[str, dict[str, dict[str, Any]]]
"""test key -> criterion id -> {"text", "test_updated"}"""


def memory_path(data_dir: str | Path, story_key: str) -> Path | None:
    """Where a story's memory lives; None for a key that is not a plain issue key (never a path)."""
    if not _STORY_KEY.match(story_key):
        return None
    return Path(data_dir) / "coverage" / f"{story_key}.json"


def load_memory(data_dir: str | Path, story_key: str) -> Memory:
    path = memory_path(data_dir, story_key)
    if path is None or not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # an unreadable memory is rebuilt from this run
    return doc if isinstance(doc, dict) else {}


def save_memory(data_dir: str | Path, story_key: str, memory: Memory) -> None:
    path = memory_path(data_dir, story_key)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{story_key}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(memory, fh, indent=1, sort_keys=True, ensure_ascii=False)
    os.replace(tmp, path)


def story_staleness(story: Story, links: list[CriterionLink], memory: Memory,
                    criteria: dict[str, str] | None = None) -> tuple[list[StaleTest], Memory]:
    """The story's stale tests, and its memory as it is to be saved (`criteria`: id -> text of every
    criterion in the run, for tests that name another story's; a criterion of another story that is
    not in the run is neither checked nor remembered)."""
    current = {**(criteria or {}), **{c.id: c.text for c in story.criteria}}
    texts = {criterion_text(t) for t in current.values()}
    tests = {t.key: t for t in story.existing_tests}
    stale: dict[tuple[str, str], StaleTest] = {}

    def add(test_key: str, cid: str, reason: str, old: str, new: str) -> None:
        stale.setdefault((test_key, cid), StaleTest(test_key=test_key, story_key=story.key, criterion_id=cid,
                                                    reason=reason, old_text=old, new_text=new,
                                                    own=tests[test_key].own))

    linked: dict[str, set[str]] = {}
    for link in links:
        linked.setdefault(link.test_key, set()).add(link.criterion_id)
    for test in story.existing_tests:
        for cid in test.criterion_ids:
            if cid.startswith(story.key + "/") and cid not in current:
                add(test.key, cid, "gone", str((memory.get(test.key) or {}).get(cid, {}).get("text", "")
                                                or test.criteria_then.get(cid, "")), "")
        for cid, old in test.criteria_then.items():  # a person's test casewright has not seen mapped before
            seen = (memory.get(test.key) or {}).get(cid)
            if test.own or (isinstance(seen, dict) and seen.get("test_updated") == test.updated):
                continue  # casewright's own follow their fingerprint; what casewright remembers decides
            if cid in current and cid in linked.get(test.key, set()) | set(test.criterion_ids) \
                    and criterion_text(old) != criterion_text(current[cid]):
                add(test.key, cid, "changed", old, current[cid])
        for old in test.fingerprint_criteria:
            if criterion_text(old) not in texts:
                add(test.key, "", "gone", old, "")
        for cid, seen in (memory.get(test.key) or {}).items():
            if not isinstance(seen, dict) or seen.get("test_updated") != test.updated:
                continue  # the test was updated since: it is mapped afresh
            old = str(seen.get("text", ""))
            if cid not in current:
                if cid.startswith(story.key + "/"):
                    add(test.key, cid, "gone", old, "")
            elif criterion_text(old) != criterion_text(current[cid]):
                add(test.key, cid, "changed", old, current[cid])
    kept: Memory = {}
    for link in links:
        if link.test_key not in tests:
            continue
        if (link.test_key, link.criterion_id) in stale or link.criterion_id not in current:
            continue
        kept.setdefault(link.test_key, {})[link.criterion_id] = {
            "text": current.get(link.criterion_id, ""), "test_updated": tests[link.test_key].updated}
    for (test_key, cid), _ in stale.items():
        seen = (memory.get(test_key) or {}).get(cid)
        if cid and isinstance(seen, dict):
            kept.setdefault(test_key, {})[cid] = seen
    return list(stale.values()), kept
