"""The evaluation harness on the LAJ development slice, with the configurations that run offline."""

from __future__ import annotations

import json

import pytest

from agent.evaluation.datasets import load_dataset, parse_ids
from agent.evaluation.evaluate import EvalOptions, evaluate, parse_configs
from agent.evaluation.report import markdown_table, write_report
from agent.generation.template import load_template
from connectors.settings import Settings
from support import LAJ


@pytest.mark.xdist_group("eval_laj")
def test_eval_harness_on_the_laj_slice(tmp_path, scorer, monkeypatch):
    monkeypatch.setenv("CASEWRIGHT_MODEL", "rules")
    ds = load_dataset(LAJ, ids=parse_ids("26-28"))
    assert [i.story.key for i in ds.items] == ["LAJ-26", "LAJ-27", "LAJ-28"]
    assert all(i.references for i in ds.items)
    opts = EvalOptions(configs=parse_configs("rules,rules+rag,llm,ft,ft+rag"))
    results = evaluate(ds, opts, Settings(), encoder=scorer.encoder)
    by = {c["name"]: c for c in results["configs"]}
    assert by["rules"]["status"] == "ok" and by["rules+rag"]["status"] == "ok"
    m = by["rules"]["metrics"]
    assert m["stories"] == 3 and m["cases"] > 0
    for key in ("criteria_coverage", "value_recall", "reference_recall", "gherkin_validity", "template_conformance"):
        assert 0.0 <= m[key] <= 1.0, key
    assert m["criteria_coverage"] == 1.0 and m["gherkin_validity"] == 1.0
    assert m["value_recall"] >= 0.9                         # the generator keeps the status codes
    assert 0.0 < m["reference_recall"] < 1.0 and 0.5 < m["mean_best_similarity"] < 0.95
    assert m["latency_s_mean"] > 0 and m["cost_usd"] == 0.0
    # what cannot run offline is reported with the reason, not faked
    assert by["llm"]["status"] == "skipped" and "CASEWRIGHT_MODEL" in by["llm"]["reason"]
    assert by["ft"]["status"] == "skipped" and "--ft-model" in by["ft"]["reason"]
    assert by["ft+rag"]["status"] == "skipped"

    paths = write_report(results, tmp_path / "eval")
    table = paths["markdown"].read_text()
    assert "| rules |" in table and "| rules+rag |" in table and "cosine similarity >= 0.7" in table
    assert "**llm** skipped" in table
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths["json"].read_text())["configs"][0]["metrics"]["cases"] == m["cases"]
    assert "| rules |" in markdown_table(results)


@pytest.mark.xdist_group("eval_laj")
def test_served_model_configuration_over_http(scorer, monkeypatch):
    """The ft/llm path (provider factory, prompts, structured output) against the project's local
    OpenAI-compatible stub over real HTTP; an unreachable server is reported, not faked."""
    from connectors.emulators.openai_chat import OpenAIStub

    monkeypatch.setenv("CASEWRIGHT_MODEL", "rules")
    monkeypatch.setenv("CASEWRIGHT_LLM_RETRIES", "0")
    ds = load_dataset(LAJ, ids=[26])
    settings = Settings(price_input_per_mtok=1.0, price_output_per_mtok=2.0, llm_retries=0)
    with OpenAIStub() as stub:
        opts = EvalOptions(configs=["ft"], ft_model="openai-compatible:casewright-stub", ft_base_url=stub.base_url)
        results = evaluate(ds, opts, settings, encoder=scorer.encoder)
        calls = len(stub.requests)
    ft = results["configs"][0]
    assert ft["status"] == "ok", ft["reason"]
    assert calls >= 1
    m = ft["metrics"]
    assert m["cases"] > 0 and m["input_tokens"] > 0 and m["output_tokens"] > 0
    assert m["cost_usd"] == pytest.approx(m["input_tokens"] / 1e6 * 1.0 + m["output_tokens"] / 1e6 * 2.0)
    assert m["template_conformance"] is not None and m["criteria_coverage"] > 0

    down = EvalOptions(configs=["ft"], ft_model="openai-compatible:x", ft_base_url="http://127.0.0.1:9/v1")
    ds2 = load_dataset(LAJ, ids=[26, 27, 28])
    gone = evaluate(ds2, down, settings, encoder=scorer.encoder)["configs"][0]
    assert gone["status"] in ("skipped", "failed") and gone["reason"]


@pytest.mark.xdist_group("eval_laj")
def test_cli_eval_on_the_held_out_stories_of_an_export(tmp_path, scorer, monkeypatch):
    from typer.testing import CliRunner

    from agent.finetune.examples import build_examples, template_text
    from agent.finetune.export import export_examples
    from agent.finetune.workspace import stories_from_workspace
    from casewright.cli import app
    from connectors.settings import get_settings
    from connectors.workspace import SAMPLE_PATH, load_workspace

    examples, _ = build_examples(stories_from_workspace(load_workspace(SAMPLE_PATH)),
                                 template=template_text(load_template()))
    export = export_examples(examples, tmp_path / "ft", validation_fraction=0.2)
    held = export.manifest["splits"]["validation"]["stories"]
    monkeypatch.setenv("CASEWRIGHT_MODEL", "rules")
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    try:
        card = tmp_path / "model"
        card.mkdir()
        (card / "README.md").write_text("# adapter\n\n## Training\n\nloss\n")
        res = CliRunner().invoke(app, ["eval", "--dataset", str(SAMPLE_PATH), "--holdout", str(export.out_dir),
                                       "--configs", "rules,llm", "--out", str(tmp_path / "ev"), "--card", str(card)])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert doc["stories"] == held and doc["dataset_kind"] == "workspace"
    rules = doc["configs"][0]
    assert rules["status"] == "ok" and rules["metrics"]["reference_recall"] is not None
    assert doc["configs"][1]["status"] == "skipped"
    assert "| rules |" in res.output
    text = (card / "README.md").read_text()
    assert text.startswith("# adapter") and "## casewright eval" in text and "| rules |" in text
