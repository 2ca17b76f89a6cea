"""`casewright finetune export|train|openai` and `casewright eval`: teach a model the house style
and measure what each configuration is worth."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console

from casewright.commands import get_settings
from connectors.errors import CasewrightError

if TYPE_CHECKING:
    from rich.table import Table

console = Console()
finetune_app = typer.Typer(help="Fine-tune a model on the team's approved cases.", no_args_is_help=True)


def _workspace(source: Optional[Path], jira: bool, jql: Optional[str]):
    if bool(source) == bool(jira):
        raise CasewrightError("give either --source WORKSPACE.json or --jira --jql \"...\"")
    if source:
        from connectors.workspace import load_workspace

        return load_workspace(source)
    if not jql:
        raise CasewrightError("--jira needs --jql \"...\" naming the stories (and their linked tests) to export")
    from agent.finetune.workspace import workspace_for_jql
    from connectors.jira_access import JiraAccess

    return workspace_for_jql(JiraAccess.from_settings(get_settings()).source(), jql)


def _stats_table(manifest: dict) -> "Table":
    from rich.table import Table

    table = Table(title=f"Fine-tuning data ({manifest.get('tokenizer')})")
    for col in ("split", "examples", "stories", "cases", "prompt tok mean", "answer tok mean", "tokens total",
                "max tokens", "bytes"):
        table.add_column(col, justify="right" if col != "split" else "left")
    for name, split in manifest["splits"].items():
        tok = split["tokens"]
        table.add_row(name, str(split["examples"]), str(len(set(split["stories"]))), str(split["cases"]),
                      str(tok["prompt"]["mean"]), str(tok["completion"]["mean"]), str(tok["example"]["total"]),
                      str(tok["example"]["max"]), str(split["bytes"]))
    return table


@finetune_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="Folder for train.jsonl, validation.jsonl and manifest.json"),
    source: Optional[Path] = typer.Option(None, "--source", help="Workspace JSON file"),
    jira: bool = typer.Option(False, "--jira", help="Read live from Jira (with --jql)"),
    jql: Optional[str] = typer.Option(None, "--jql", help="JQL for the stories to export"),
    with_context: bool = typer.Option(False, "--with-context",
                                      help="Put the retrieved rule sections and similar approved cases in the prompts"),
    target: str = typer.Option("json", "--target", help="json (UATCase schema) or gherkin"),
    validation: float = typer.Option(0.2, "--validation", help="Share of stories held out for validation"),
    seed: int = typer.Option(13, "--seed", help="Seed of the train/validation split"),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer",
                                            help="Local tokenizer (model folder or .gguf) for exact token counts"),
) -> None:
    """Export chat JSONL (OpenAI fine-tuning format) from stories with approved cases."""
    from agent.finetune.context import knowledge_context, linked_pages_context
    from agent.finetune.examples import TARGETS, build_examples, template_text
    from agent.finetune.export import export_examples
    from agent.finetune.workspace import stories_from_workspace
    from agent.generation.template import load_template

    if target not in TARGETS:
        raise CasewrightError(f"unknown --target {target!r}; use one of: {', '.join(TARGETS)}")
    settings = get_settings()
    ws = _workspace(source, jira, jql)
    stories = stories_from_workspace(ws, ac_field_name=settings.ac_field_name, test_issue_type=settings.test_issue_type)
    context = None
    context_kind = "none"
    closer = None
    if with_context:
        got = knowledge_context(ws, stories, settings)
        if got is not None:
            context, closer = got
            context_kind = "knowledge base (hybrid retrieval)"
        else:
            context = linked_pages_context(ws, stories)
            context_kind = "linked Confluence pages (knowledge base unavailable)"
    redactions: Counter[str] = Counter()
    try:
        examples, skipped = build_examples(stories, template=template_text(load_template(settings.template_path)),
                                           target=target, context=context, redactions=redactions)
    finally:
        if closer:
            closer()
    meta = {"source": str(source) if source else f"jira: {jql}", "target": target, "with_context": with_context,
            "context": context_kind}
    report = export_examples(examples, out, validation_fraction=validation, seed=seed, tokenizer=tokenizer,
                             meta=meta, redactions=redactions, skipped=skipped)
    m = report.manifest
    console.print(_stats_table(m))
    console.print(f"{m['examples']} examples from {len(stories)} stories ({len(skipped)} without approved cases "
                  f"skipped), {m['duplicates_removed']} duplicates removed, redacted: "
                  + (", ".join(f"{k} {v}" for k, v in m["redactions"].items()) or "nothing"))
    console.print(f"context: {context_kind}; data hash {m['data_hash'][:16]}")
    console.print(f"wrote {report.train_path}, {report.validation_path}, {report.out_dir / 'manifest.json'}")


@finetune_app.command("train")
def train(
    base: str = typer.Option(..., "--base", help="Base model: local folder, cached hub name or .gguf file"),
    data: Path = typer.Option(..., "--data", help="Folder written by `casewright finetune export`"),
    out: Path = typer.Option(..., "--out", help="Folder for the adapter, merged model and model card"),
    merge: bool = typer.Option(False, "--merge", help="Also save the base with the adapter merged in"),
    steps: int = typer.Option(60, "--steps", help="Optimiser steps (0: train for --epochs)"),
    epochs: float = typer.Option(3.0, "--epochs"),
    learning_rate: float = typer.Option(2e-4, "--lr"),
    batch_size: int = typer.Option(1, "--batch-size"),
    grad_accum: int = typer.Option(4, "--grad-accum"),
    lora_r: int = typer.Option(16, "--lora-r"),
    max_length: int = typer.Option(2048, "--max-length", help="Tokens per example (longer ones are cut)"),
    allow_download: bool = typer.Option(False, "--allow-download", help="Let transformers download the base"),
) -> None:
    """LoRA supervised fine-tuning (loss on the answers only); GPU when there is one."""
    from agent.finetune.train import TrainConfig, train_from_export

    cfg = TrainConfig(steps=steps, epochs=epochs, learning_rate=learning_rate, batch_size=batch_size,
                      grad_accum=grad_accum, lora_r=lora_r, lora_alpha=2 * lora_r, max_length=max_length)
    with console.status("Training the adapter"):
        result = train_from_export(base, data, out, cfg, merge=merge, allow_download=allow_download)
    first = f"{result.losses[0]:.4f}" if result.losses else "n/a"
    last = f"{result.losses[-1]:.4f}" if result.losses else "n/a"
    console.print(f"{result.steps} steps on {result.device} in {result.seconds} s; training loss {first} -> {last}")
    if result.eval_loss_before is not None:
        console.print(f"validation loss {result.eval_loss_before:.4f} -> {result.eval_loss_after:.4f}")
    console.print(f"adapter: {result.adapter_dir}" + (f"; merged model: {result.merged_dir}" if result.merged_dir else ""))
    if result.gguf_adapter:
        console.print(f"llama.cpp adapter: {result.gguf_adapter}; serve it with "
                      f"`casewright llm serve --model {base} --lora {result.out_dir}`", soft_wrap=True)
    console.print(f"model card: {result.out_dir / 'README.md'}")


@finetune_app.command("gguf")
def gguf_adapter(
    adapter: Path = typer.Option(..., "--adapter", help="The adapter folder `finetune train` wrote (OUT/adapter)"),
    base: Path = typer.Option(..., "--base", help="The .gguf file it was trained on"),
    out: Path = typer.Option(..., "--out", help="The llama.cpp adapter file to write (.gguf)"),
) -> None:
    """Write a trained LoRA adapter as a llama.cpp adapter GGUF, for `casewright llm serve --lora`."""
    from agent.finetune.gguf_adapter import write_gguf_adapter

    path = write_gguf_adapter(adapter, base, out)
    console.print(f"wrote {path}; serve it with `casewright llm serve --model {base} --lora {path}`", soft_wrap=True)


@finetune_app.command("openai")
def openai_job(
    data: Path = typer.Option(..., "--data", help="Folder written by `casewright finetune export`"),
    model: str = typer.Option("gpt-4.1-mini-2025-04-14", "--model", help="Base model to fine-tune"),
    suffix: str = typer.Option("casewright", "--suffix"),
    epochs: str = typer.Option("auto", "--epochs"),
    poll: float = typer.Option(30.0, "--poll", help="Seconds between status checks"),
    timeout: float = typer.Option(6 * 3600.0, "--timeout", help="Give up waiting after this many seconds"),
) -> None:
    """Upload the export, create a hosted fine-tuning job, follow it and print the model id."""
    from agent.finetune.export import TRAIN_FILE, VALIDATION_FILE
    from connectors.openai_finetune import run_hosted_finetune

    settings = get_settings()
    n_epochs: int | str = int(epochs) if epochs.isdigit() else epochs
    val = data / VALIDATION_FILE
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    result = run_hosted_finetune(data / TRAIN_FILE, val if val.exists() and val.stat().st_size else None,
                                 api_key=key, base_url=settings.openai_base_url, base_model=model, suffix=suffix, n_epochs=n_epochs, poll_interval_s=poll,
                                 timeout_s=timeout, on_event=lambda m: console.print(f"  {m}", highlight=False))
    if result.status != "succeeded" or not result.model_id:
        raise CasewrightError(f"fine-tuning job {result.job_id} ended {result.status}"
                              + (f": {result.error}" if result.error else ""))
    console.print(f"job {result.job_id} succeeded in {result.elapsed_s:.0f} s; trained tokens: {result.trained_tokens}")
    console.print(f"model id: [bold]{result.model_id}[/]")
    console.print(f"use it with: CASEWRIGHT_MODEL=openai:{result.model_id}")


def eval_command(
    dataset: Path = typer.Option(..., "--dataset", help="Workspace JSON file or LAJ folder (tickets.csv + features/)"),
    configs: str = typer.Option("rules,rules+rag", "--configs",
                                help="Comma-separated: rules, rules+rag, llm, llm+rag, ft, ft+rag"),
    out: Path = typer.Option(Path("out/eval"), "--out", help="Folder for report.md, results.json, chart.png"),
    ids: Optional[str] = typer.Option(None, "--ids", help="LAJ ticket ids, e.g. 26-30"),
    stories: Optional[str] = typer.Option(None, "--stories", help="Workspace story keys, comma-separated"),
    holdout: Optional[Path] = typer.Option(None, "--holdout", help="Export folder: evaluate its validation stories"),
    ft_model: Optional[str] = typer.Option(None, "--ft-model", help="Fine-tuned model, e.g. openai-compatible:NAME"),
    ft_base_url: Optional[str] = typer.Option(None, "--ft-base-url", help="Server of the fine-tuned model (…/v1)"),
    local: bool = typer.Option(False, "--local", help="llm rows: start the local model server (llama.cpp, the "
                               "packaged SmolLM2 or --local-model)"),
    local_model: Optional[Path] = typer.Option(None, "--local-model", help="GGUF file for --local and --ft-lora"),
    ft_lora: Optional[Path] = typer.Option(None, "--ft-lora", help="ft rows: the same local server with this LoRA "
                                           "(a `finetune train` --out folder or an adapter GGUF)"),
    local_threads: int = typer.Option(0, "--local-threads", help="CPU threads of the local server (0: default)"),
    local_max_tokens: int = typer.Option(0, "--local-max-tokens", help="Answer tokens for the local rows (0: the setting)"),
    threshold: float = typer.Option(0.7, "--threshold", help="Cosine similarity for a reference case to count as found"),
    card: Optional[Path] = typer.Option(None, "--card", help="A `finetune train` output folder: add the table to its model card"),
) -> None:
    """Measure configurations side by side on held-out stories: a Markdown table and a PNG chart."""
    from agent.evaluation.datasets import holdout_stories, load_dataset, parse_ids
    from agent.evaluation.evaluate import EvalOptions, evaluate, parse_configs
    from agent.evaluation.report import markdown_table, write_report

    names = parse_configs(configs)
    keys = [s.strip() for s in stories.split(",") if s.strip()] if stories else None
    if holdout is not None:
        keys = holdout_stories(holdout)
    ds = load_dataset(dataset, ids=parse_ids(ids), story_keys=keys)
    settings = get_settings()
    if ft_lora is not None and ft_model:
        raise CasewrightError("give either --ft-lora (served locally) or --ft-model, not both")
    if local_model is not None and not (local or ft_lora):
        raise CasewrightError("--local-model needs --local or --ft-lora")
    if local_threads < 0 or local_max_tokens < 0:
        raise CasewrightError("--local-threads and --local-max-tokens take 0 (the default) or a positive count")
    if ft_lora is not None:
        from connectors.local_model import check_lora_file

        check_lora_file(ft_lora)
    opts = EvalOptions(configs=names, threshold=threshold, ft_model=ft_model, ft_base_url=ft_base_url, local=local,
                       local_model=str(local_model) if local_model else None,
                       ft_lora=str(ft_lora) if ft_lora else None, local_threads=local_threads or None,
                       local_options={"max_tokens": local_max_tokens} if local_max_tokens else {})
    with console.status(f"Evaluating {len(ds.items)} stories") as status:
        results = evaluate(ds, opts, settings,
                           progress=lambda cfg, key: status.update(f"Evaluating {cfg}: {key}"))
    if card is not None and not (card / "README.md").exists():
        raise CasewrightError(f"--card {card} has no README.md; pass the --out folder of `casewright finetune train`")
    paths = write_report(results, out)
    if card is not None:
        from agent.finetune.train import append_evaluation

        append_evaluation(card, markdown_table(results))
        console.print(f"added the evaluation to {card / 'README.md'}")
    console.print(markdown_table(results), markup=False, highlight=False)
    console.print("wrote " + ", ".join(str(p) for p in paths.values()))


def register(app: typer.Typer) -> None:
    app.add_typer(finetune_app, name="finetune")
    app.command("eval")(eval_command)

