"""Checkpoints stay proportional to the input: a story with a multi-MB description gives a
checkpoint database a small multiple of it (not one copy per step), and a crashed run resumes
with the whole text back."""

from __future__ import annotations

import json
import sqlite3

import pytest

from agent.checkpoint_serde import LARGE_TEXT, TextOnceSerializer
from agent.configuration import Configuration, InjectedFailure
from agent.models import Story
from agent.runner import _STATE_TYPES, generate_epic
from connectors.workspace import SAMPLE_PATH

MB = 4_000_000


def _huge_workspace(tmp_path) -> tuple[str, str]:
    doc = json.loads(SAMPLE_PATH.read_text())
    story = next(i for i in doc["issues"] if i["key"] == "ER-9")
    text = ("Background: the customer's full account history follows, line by line. " * (MB // 70))[:MB]
    story["fields"]["description"] = text
    path = tmp_path / "workspace.json"
    path.write_text(json.dumps(doc))
    return str(path), text


def test_a_multi_mb_description_gives_a_proportional_checkpoint_db_and_resumes(tmp_path):
    source, text = _huge_workspace(tmp_path)
    data = tmp_path / "data"
    cfg = Configuration(source=source, data_dir=str(data), out_dir=str(tmp_path / "out"), formats=["json"],
                        fail_at="review")
    with pytest.raises(InjectedFailure):
        generate_epic("ER-8", cfg, run_id="big")
    db = data / "checkpoints.sqlite"
    assert db.stat().st_size < 2 * len(text), f"{db.stat().st_size:,} bytes for a {len(text):,}-character description"

    result = generate_epic("ER-8", Configuration(data_dir=str(data)), run_id="big", resume=True)
    assert result.status == "done"
    story = next(s for s in result.state["stories"] if s.key == "ER-9")
    assert story.description.startswith(text[:1000]) and len(story.description) >= len(text) - 10
    assert result.state["cases"] and result.summary.get("stories")
    assert db.stat().st_size < 2 * len(text)

    second = generate_epic("ER-8", Configuration(source=source, data_dir=str(data), formats=[]), run_id="again")
    assert second.status == "done"
    assert db.stat().st_size < 2.5 * len(text)  # the same description is not stored again
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM casewright_texts").fetchone()[0] >= 1


def test_the_serializer_gives_back_what_it_stored(tmp_path):
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.types import Send

    conn = sqlite3.connect(tmp_path / "c.sqlite")
    serde = TextOnceSerializer(JsonPlusSerializer(allowed_msgpack_modules=_STATE_TYPES), conn)
    big = "x" * LARGE_TEXT
    story = Story(key="ER-9", summary="s", description=big)
    value = {"stories": [story], "send": [Send("generate", {"story": story, "epic_key": "ER-8"})],
             "small": "short", "pair": ("a", big)}
    typed = serde.dumps_typed(value)
    assert len(typed[1]) < LARGE_TEXT // 4  # the text is not in the checkpoint itself
    again = serde.dumps_typed(value)
    assert len(again[1]) == len(typed[1])
    back = TextOnceSerializer(JsonPlusSerializer(allowed_msgpack_modules=_STATE_TYPES), conn).loads_typed(typed)
    assert back["stories"][0].description == big and list(back["pair"]) == ["a", big] and back["small"] == "short"
    assert back["send"][0].arg["story"].description == big
    assert story.description is big  # the live state was not changed
    assert conn.execute("SELECT COUNT(*) FROM casewright_texts").fetchone()[0] == 1
