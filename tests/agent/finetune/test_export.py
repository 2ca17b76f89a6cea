"""The fine-tuning export on the bundled sample project: split by story, valid targets, redaction."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema

from agent.finetune.examples import GeneratedCases, build_examples
from agent.finetune.export import export_examples
from agent.models import UATCase
from connectors.workspace import SAMPLE_PATH
from support import ROOT

EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
AU_MOBILE = re.compile(r"\b04\d{2}[\s-]?\d{3}[\s-]?\d{3}\b")


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
