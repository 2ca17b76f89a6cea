"""The evaluation driver: what each generator configuration is worth, measured on held-out stories.

    casewright eval --dataset PATH --configs rules,rules+rag,llm,llm+rag,ft,ft+rag --out DIR

Configurations
- rules, rules+rag: the deterministic generator, without and with retrieved context;
- llm, llm+rag: the model CASEWRIGHT_MODEL names (agent/llm/provider.py);
- ft, ft+rag: a fine-tuned model, e.g. `openai-compatible:NAME` served by vLLM/Ollama/llama.cpp at
  `--ft-base-url`, or `openai:ft:...`;
- with `--local` the llm rows run on the local model server (the packaged SmolLM2 GGUF, or
  `--local-model`), and with `--ft-lora` the ft rows run on the same server with that LoRA adapter
  (runners.LocalServers), so the four model rows differ only in retrieval and tuning.
A configuration that cannot run here (no model configured, no key, server unreachable, no
knowledge store) is reported as skipped with the reason; nothing is faked.

The datasets are read by agent/evaluation/datasets.py, the generators run by runners.py, the
cases scored by metrics.py and the results written by report.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from agent.evaluation.datasets import Dataset, EvaluationError
from agent.evaluation.metrics import DEFAULT_THRESHOLD, SimilarityScorer, StoryScore, aggregate, score_story
from agent.evaluation.runners import Generated, LLMRunner, LocalServers, Retriever, RulesRunner, Skip
from agent.generation.template import load_template
from connectors.errors import CasewrightError
from connectors.settings import get_settings

CONFIGS = ("rules", "rules+rag", "llm", "llm+rag", "ft", "ft+rag")


@dataclass
class ConfigResult:
    name: str
    status: str                        # "ok", "skipped" or "failed"
    reason: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    stories: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class EvalOptions:
    configs: list[str] = field(default_factory=lambda: ["rules", "rules+rag"])
    threshold: float = DEFAULT_THRESHOLD
    llm_model: str | None = None       # default: settings.model
    ft_model: str | None = None
    ft_base_url: str | None = None
    template_path: str | None = None
    local: bool = False                # llm rows on the local model server
    local_model: str | None = None     # its GGUF (default: the packaged model)
    ft_lora: str | None = None         # ft rows on the same server with this adapter
    local_threads: int | None = None
    local_options: dict[str, Any] = field(default_factory=dict)   # e.g. max_tokens for the local rows


def parse_configs(text: str) -> list[str]:
    names = [c.strip().lower() for c in (text or "").split(",") if c.strip()]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown or not names:
        raise EvaluationError(f"unknown configuration(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(CONFIGS)}")
    return list(dict.fromkeys(names))


def _abort_after_failures(scores: list[StoryScore]) -> str | None:
    """When the first stories all fail the same way (server down, wrong URL), stop early."""
    if len(scores) >= 2 and all(s.error for s in scores):
        return scores[0].error
    return None


def run_config(name: str, dataset: Dataset, *, runner: Any, retriever: Retriever | None, template: Any,
               scorer: SimilarityScorer, price_in: float | None = None, price_out: float | None = None,
               progress: Callable[[str, str], None] | None = None) -> ConfigResult:
    scores: list[StoryScore] = []
    for item in dataset.items:
        started = time.perf_counter()  # latency includes retrieval for the +rag configurations
        retrieved = retriever.for_story(item.story) if retriever is not None else []
        try:
            gen = runner.generate(item.story, retrieved)
        except CasewrightError as exc:
            return ConfigResult(name, "skipped", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - a provider error fails this story, not the evaluation
            gen = Generated(cases=[], error=f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
        seconds = time.perf_counter() - started
        s = score_story(item, gen.cases, template=template, scorer=scorer,
                        source_texts=[str(c.get("text") or "") for c in retrieved])
        s.seconds, s.input_tokens, s.output_tokens, s.error = seconds, gen.input_tokens, gen.output_tokens, gen.error
        scores.append(s)
        if progress:
            progress(name, item.story.key)
        why = _abort_after_failures(scores)
        if why and len(scores) == 2 and len(dataset.items) > 2:
            return ConfigResult(name, "skipped", reason=f"the first stories all failed: {why}")
    status = "ok" if any(s.error is None for s in scores) else "failed"
    reason = "" if status == "ok" else (scores[0].error or "") if scores else "no stories"
    return ConfigResult(name, status, reason=reason, metrics=aggregate(scores, price_in, price_out),
                        stories=[asdict(s) for s in scores])


def evaluate(dataset: Dataset, options: EvalOptions, settings: Any = None, *, encoder: Any = None,
             progress: Callable[[str, str], None] | None = None) -> dict[str, Any]:
    """Run each configuration over the dataset; returns the results document."""
    if settings is None:
        settings = get_settings()
    template = load_template(options.template_path or getattr(settings, "template_path", None))
    scorer = SimilarityScorer(encoder, options.threshold)
    results: list[ConfigResult] = []
    retriever: Retriever | None = None
    retriever_error: str | None = None
    if any(c.endswith("+rag") for c in options.configs):
        try:
            retriever = Retriever(dataset, settings, encoder=scorer.encoder)
        except ImportError as exc:
            retriever_error = f"the knowledge base is not available ({exc})"
        except CasewrightError as exc:
            retriever_error = f"the knowledge base could not be built: {exc}"
    runners: dict[str, Any] = {}
    local = LocalServers(options.local_model, options.ft_lora, options.local_threads, options.local_options)
    try:
        for name in options.configs:
            base = name.split("+")[0]
            if name.endswith("+rag") and retriever is None:
                results.append(ConfigResult(name, "skipped", reason=retriever_error or "no knowledge base"))
                continue
            try:
                if base not in runners:
                    if base == "rules":
                        runners[base] = RulesRunner(template)
                    elif base == "llm" and options.local:
                        runners[base] = local.runner("llm", settings, template)
                    elif base == "llm":
                        runners[base] = LLMRunner(options.llm_model or settings.model, settings, template)
                    elif options.ft_lora:
                        runners[base] = local.runner("ft", settings, template)
                    else:
                        if not options.ft_model:
                            raise Skip("no fine-tuned model given: pass --ft-lora TRAIN_OUT (served locally), "
                                       "--ft-model openai-compatible:NAME with "
                                       "--ft-base-url http://HOST:PORT/v1 (vLLM, Ollama, llama.cpp server) or "
                                       "--ft-model openai:ft:...")
                        runners[base] = LLMRunner(options.ft_model, settings, template, base_url=options.ft_base_url)
            except Skip as exc:
                runners[base] = exc
            runner = runners[base]
            if isinstance(runner, Skip):
                results.append(ConfigResult(name, "skipped", reason=str(runner)))
                continue
            results.append(run_config(name, dataset, runner=runner, retriever=retriever if name.endswith("+rag") else None,
                                      template=template, scorer=scorer,
                                      price_in=getattr(settings, "price_input_per_mtok", None) if base != "rules" else None,
                                      price_out=getattr(settings, "price_output_per_mtok", None) if base != "rules" else None,
                                      progress=progress))
    finally:
        local.close()
        if retriever is not None:
            retriever.close()
    return {
        "dataset": dataset.name,
        "dataset_kind": dataset.kind,
        "stories": [i.story.key for i in dataset.items],
        "references": sum(len(i.references) for i in dataset.items),
        "similarity_model": scorer.model_name,
        "threshold": options.threshold,
        "notes": list(dataset.notes),
        "configs": [asdict(r) for r in results],
    }
