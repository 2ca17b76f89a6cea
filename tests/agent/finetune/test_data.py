"""Fine-tuning export on the bundled sample project: split by story, valid targets, redaction."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from agent.evaluation.metrics import gherkin_valid
from agent.finetune.data import (
    GeneratedCases,
    build_example,
    build_examples,
    dedupe,
    export_examples,
    linked_pages_context,
    redact,
    split_by_story,
    stories_from_workspace,
    template_text,
    without_own_cases,
)
from agent.generation.template import load_template
from agent.models import UATCase
from connectors.workspace import SAMPLE_PATH, load_workspace
from support import ROOT

EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
AU_MOBILE = re.compile(r"\b04\d{2}[\s-]?\d{3}[\s-]?\d{3}\b")


@pytest.fixture(scope="module")
def sample():
    ws = load_workspace(SAMPLE_PATH)
    stories = stories_from_workspace(ws)
    return ws, stories, template_text(load_template())


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_export_splits_by_story_and_targets_validate(sample, tmp_path):
    ws, stories, template = sample
    with_cases = {s.key for s in stories if s.approved_cases}
    assert len(with_cases) >= 6, "the sample project should link approved cases to several stories"
    counts: Counter[str] = Counter()
    examples, skipped = build_examples(stories, template=template, redactions=counts)
    assert {e.story_key for e in examples} == with_cases
    assert {s["story"] for s in skipped} == {s.key for s in stories} - with_cases

    report = export_examples(examples, tmp_path / "ft", validation_fraction=0.25, seed=7, redactions=counts)
    m = report.manifest
    train_keys = m["splits"]["train"]["stories"]
    val_keys = m["splits"]["validation"]["stories"]
    assert val_keys and train_keys
    assert not set(train_keys) & set(val_keys), "a story is in both splits"
    assert set(train_keys) | set(val_keys) == with_cases

    schema = GeneratedCases.model_json_schema()
    by_key = {s.key: s for s in stories}
    all_criteria = {c.id for s in stories for c in s.criteria}
    for split, path in (("train", report.train_path), ("validation", report.validation_path)):
        records = _lines(path)
        assert len(records) == m["splits"][split]["examples"]
        for record, key in zip(records, m["splits"][split]["stories"]):
            roles = [msg["role"] for msg in record["messages"]]
            assert roles == ["system", "user", "assistant"]
            assert f'<story key="{key}">' in record["messages"][1]["content"]
            answer = json.loads(record["messages"][2]["content"])
            jsonschema.validate(answer, schema)
            cases = [UATCase.model_validate(c) for c in answer["cases"]]
            assert {c.id for c in cases} == {c.id for c in by_key[key].approved_cases}
            # ids cite real criteria (an approved end-to-end case may cite other stories' criteria)
            assert all(cid in all_criteria for c in cases for cid in c.criterion_ids)
            assert any(cid.startswith(f"{key}/") for c in cases for cid in c.criterion_ids)
            # the story's own approved cases are the answer, never part of the prompt
            for c in by_key[key].approved_cases:
                assert c.title not in record["messages"][1]["content"]
    # token statistics and the data hash are recorded
    assert m["splits"]["train"]["tokens"]["example"]["total"] > 0
    assert len(m["data_hash"]) == 64


def test_split_is_deterministic_and_order_independent(sample):
    _, stories, template = sample
    examples, _ = build_examples(stories, template=template)
    a = split_by_story(examples, 0.3, seed=3)
    shuffled = list(examples)
    random.Random(1).shuffle(shuffled)
    b = split_by_story(shuffled, 0.3, seed=3)
    assert {e.story_key for e in a[1]} == {e.story_key for e in b[1]}
    assert {e.story_key for e in a[0]} == {e.story_key for e in b[0]}


def test_duplicates_are_removed(sample, tmp_path):
    _, stories, template = sample
    examples, _ = build_examples(stories, template=template)
    doubled = examples + [examples[0], examples[1]]
    kept, removed = dedupe(doubled)
    assert len(kept) == len(examples) and len(removed) == 2
    report = export_examples(doubled, tmp_path / "d")
    assert report.manifest["duplicates_removed"] == 2
    total = report.manifest["splits"]["train"]["examples"] + report.manifest["splits"]["validation"]["examples"]
    assert total == len(examples)


def test_personal_data_in_the_sample_is_redacted(sample, tmp_path):
    ws, stories, template = sample
    raw = SAMPLE_PATH.read_text(encoding="utf-8")
    emails = set(EMAIL.findall(raw))
    mobiles = set(AU_MOBILE.findall(raw))
    assert emails and mobiles, "the sample project should carry contact details to redact"
    counts: Counter[str] = Counter()
    examples, _ = build_examples(stories, template=template, redactions=counts)
    report = export_examples(examples, tmp_path / "r", redactions=counts)
    text = report.train_path.read_text(encoding="utf-8") + report.validation_path.read_text(encoding="utf-8")
    leaked = [e for e in emails if e in text] + [p for p in mobiles if p in text]
    assert not leaked, f"personal data left in the export: {leaked}"
    assert "[REDACTED_EMAIL]" in text and "[REDACTED_PHONE]" in text
    assert report.manifest["redactions"]["email"] > 0 and report.manifest["redactions"]["phone"] > 0


@pytest.mark.parametrize("text, gone", [
    ("mail jane.doe@volta-energy.com.au now", "jane.doe@volta-energy.com.au"),
    ("call 0412 345 678 today", "0412 345 678"),
    ("call (02) 9876 5432", "9876 5432"),
    ("call +61 2 9876 5432", "9876 5432"),
    ("call 1300 123 456", "1300 123 456"),
    ("Authorization: Bearer abcdefghijklmnop123456", "abcdefghijklmnop123456"),
    ("api_key=sk-live-ABCDEF1234567890abcd", "ABCDEF1234567890abcd"),
    ('{"password": "S3cret!pass"}', "S3cret!pass"),
    ("token ghp_abcdefghijklmnopqrstuvwxyz0123", "ghp_abcdefghijklmnopqrstuvwxyz0123"),
    ("aws AKIAIOSFODNN7EXAMPLE key", "AKIAIOSFODNN7EXAMPLE"),
    ("digest 0123456789abcdef0123456789abcdef0123", "0123456789abcdef0123456789abcdef"),
    ("blob dGhpcyBpcyBhIHNlY3JldCBrZXkgZm9yIHRlc3Rpbmc1MjM0NQ== end", "dGhpcyBpcyBhIHNlY3JldCBr"),
    ("https://svc:pa55w0rd@example.com/x", "pa55w0rd"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "eyJhbGci"),
])
def test_redact_removes_contacts_and_secrets(text, gone):
    counts: Counter[str] = Counter()
    out = redact(text, counts)
    assert gone not in out
    assert "[REDACTED_" in out and sum(counts.values()) >= 1


@pytest.mark.parametrize("text", [
    "Amount $1,200.00 due 2026-11-20, 14 business days, status 404",
    "UUID 123e4567-e89b-12d3-a456-426614174000 and account 4001234567",
    "See https://voltaenergy.atlassian.net/wiki/spaces/ER/pages/200001/Payment+Extension+Rules",
    "The password is required and the token field must not be empty",
    "GET /1.0/kb/accounts/{accountId}/paymentMethods?withPluginInfo=true",
])
def test_redact_keeps_ordinary_test_data(text):
    assert redact(text) == text


def test_gherkin_target_parses_and_context_carries_rules(sample):
    ws, stories, template = sample
    story = next(s for s in stories if s.approved_cases and s.linked_pages)
    provide = linked_pages_context(ws, stories)
    rules, examples = provide(story)
    assert rules, "the story links a rule page"
    assert examples == []  # as in production: no approved cases of the story itself in its prompt
    ex = build_example(story, template=template, target="gherkin", context=(rules, examples))
    assert gherkin_valid(ex.messages[2]["content"])
    assert 'Answer with {"cases"' not in ex.messages[1]["content"]
    assert "Gherkin feature" in ex.messages[1]["content"].splitlines()[-1]
    assert "You answer only with JSON" not in ex.messages[0]["content"]
    first_words = " ".join(rules[0][1].split()[:6])
    assert first_words[:40] in " ".join(ex.messages[1]["content"].split())


def test_cli_export_and_bad_source(tmp_path):
    out = tmp_path / "cli"
    ok = subprocess.run([sys.executable, "-m", "casewright", "finetune", "export", "--source", str(SAMPLE_PATH),
                         "--out", str(out), "--target", "gherkin"], capture_output=True, text=True, cwd=ROOT,
                        timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert (out / "train.jsonl").exists() and (out / "manifest.json").exists()
    assert "duplicates removed" in " ".join(ok.stdout.split())
    bad = subprocess.run([sys.executable, "-m", "casewright", "finetune", "export", "--source",
                          str(tmp_path / "missing.json"), "--out", str(out)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert bad.returncode == 2
    assert "not found" in bad.stderr and "Traceback" not in bad.stderr


def test_retrieved_context_never_holds_the_answer():
    chunks = [
        {"id": "p1", "kind": "page_section", "source_id": "200001", "text": "rule"},
        {"id": "ER-19", "kind": "test_case", "source_id": "ER-19", "text": "own case", "extra": {"story_key": "ER-2"}},
        {"id": "ER-30", "kind": "test_case", "source_id": "ER-30", "text": "other", "extra": {"story_key": "ER-3"}},
        {"id": "ER-2", "kind": "story", "source_id": "ER-2", "text": "itself"},
    ]
    assert [c["id"] for c in without_own_cases(chunks, "ER-2")] == ["p1", "ER-30"]


def test_export_from_live_jira_by_jql(tmp_path):
    """--jira --jql through the real jira client against the project's Jira/Confluence emulator."""
    from typer.testing import CliRunner

    from casewright.cli import app
    from connectors.settings import get_settings
    from support.sandbox import API_TOKEN, EMAIL, start_sandbox

    server, _ = start_sandbox("cloud")
    env = {"COLUMNS": "200", "JIRA_URL": server.url, "JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": API_TOKEN,
           "CONFLUENCE_URL": server.url, "CONFLUENCE_EMAIL": EMAIL, "CONFLUENCE_API_TOKEN": API_TOKEN}
    get_settings.cache_clear()
    try:
        out = tmp_path / "live"
        res = CliRunner().invoke(app, ["finetune", "export", "--jira", "--jql", "project = ER AND issuetype = Story",
                                       "--out", str(out), "--with-context"], env=env)
    finally:
        get_settings.cache_clear()
        server.stop()
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    file_based = {s.key for s in stories_from_workspace(load_workspace(SAMPLE_PATH)) if s.approved_cases}
    got = set(manifest["splits"]["train"]["stories"]) | set(manifest["splits"]["validation"]["stories"])
    assert got == file_based
    assert manifest["source"].startswith("jira: project = ER")
    # --with-context: retrieval from a knowledge base built from what Jira/Confluence returned
    assert manifest["context"].startswith("knowledge base")
    records = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    assert all("<rule kind=" in r["messages"][1]["content"] for r in records)
    for r, key in zip(records, manifest["splits"]["train"]["stories"]):
        own = json.loads(r["messages"][2]["content"])["cases"]
        assert all(f'id="{c["id"]}"' not in r["messages"][1]["content"] for c in own), "answer leaked into prompt"
