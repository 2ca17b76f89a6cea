"""The plan and generate nodes when a language model is configured (Configuration.model).

With `rules` (the default) both hand over to the deterministic nodes in agent/nodes.py unchanged.
With a model:
- plan: the rules plan first (stories, pages, flows), then the model decides the stories in scope
  and the end-to-end flows; an unusable plan keeps the rules plan and says so.
- generate: one branch per story (LangGraph Send, bounded by the run's `max_concurrency`), the
  model writes the story's cases; output that stays invalid falls back to the deterministic
  generator for that story, with a finding.
Calls and tokens go to the state's `llm_usage`, per node.

Tests and embedding applications can register a chat model under a name with
`register_chat_model(name, factory)` and run with Configuration.model = name.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from langchain_core.runnables import RunnableConfig

from agent import nodes
from agent.configuration import Configuration
from agent.generator import generate_for_story
from agent.llm import ModelOptions, ModelSpec, build_chat_model, parse_model, structured_method
from agent.llm_generator import LLMGenerator
from agent.models import Finding, SourceRef, Story, UATCase
from agent.prompts import template_text
from agent.state import State, StoryTask
from agent.template import HouseTemplate

_SOURCE_KINDS = {"epic", "story", "criterion", "page", "page_section", "test_case"}
_registry: dict[str, Callable[[], Any]] = {}
_generators: dict[str, LLMGenerator] = {}
_lock = threading.Lock()


def register_chat_model(name: str, factory: Callable[[], Any]) -> None:
    """Make Configuration.model == name use the chat model factory() returns (tests, embedding apps)."""
    with _lock:
        _registry[name] = factory
        for key in [k for k in _generators if k.startswith(name + "|")]:
            del _generators[key]


def unregister_chat_model(name: str) -> None:
    with _lock:
        _registry.pop(name, None)
        for key in [k for k in _generators if k.startswith(name + "|")]:
            del _generators[key]


def uses_model(cfg: Configuration) -> bool:
    return cfg.model in _registry or parse_model(cfg.model) is not None


def is_reserved_label(label: str) -> bool:
    """Labels in casewright's own namespace (`casewright`, `casewright-case-...`), case-insensitive."""
    return label.strip().lower().startswith("casewright")


def finalizer(template: HouseTemplate) -> Callable[[Story, list[UATCase]], list[UATCase]]:
    """Make the model's cases the team's own: casewright's ids, titles, priorities, labels, step limit."""

    def finalize(story: Story, cases: list[UATCase]) -> list[UATCase]:
        out = []
        for seq, case in enumerate(cases, start=1):
            priority = case.priority if case.priority in template.priorities.levels else \
                template.priority(case.kind, f"{case.title} {story.summary}")
            extra = [re.sub(r"[^a-z0-9_.-]+", "-", label.strip().lower()).strip("-")[:40] for label in case.labels]
            # `casewright*` labels are casewright's own (write-back finds its issues by them): the
            # model may not add any, only the house template and write-back do
            labels = list(dict.fromkeys(template.labels_for(case.kind, story.key, story.epic_key)
                                        + [label for label in extra if label and not is_reserved_label(label)]))
            out.append(case.model_copy(update={
                "id": template.case_id(story.key, seq),
                "title": template.title(case.title),
                "priority": priority,
                "labels": labels,
                "steps": case.steps[: template.steps.max],
            }))
        return out
    return finalize


def generator_for(cfg: Configuration) -> LLMGenerator | None:
    """The LLM generator for this run's model and options (cached per process), or None for rules."""
    options = ModelOptions.of(cfg.model, cfg.llm)
    key = f"{cfg.model}|{json.dumps(cfg.llm, sort_keys=True, default=str)}|{cfg.template_path}"
    with _lock:
        if key in _generators:
            return _generators[key]
        if cfg.model in _registry:
            model = _registry[cfg.model]()
            spec = ModelSpec("custom", cfg.model)
            method = options.structured_output if options.structured_output != "auto" else "function_calling"
        else:
            spec = parse_model(cfg.model)
            if spec is None:
                return None
            model = build_chat_model(options, spec)
            method = structured_method(spec, options.structured_output)
        template = nodes.template_for(cfg)
        gen = LLMGenerator(model, spec=spec, method=method, template_text=template_text(template),
                           finalize=finalizer(template))
        _generators[key] = gen
        return gen


def rules_from_retrieved(chunks: list[dict[str, Any]] | None) -> list[tuple[SourceRef, str]]:
    """Retrieved knowledge chunks (id, title, text, kind, url) as (source, text) pairs for the prompt."""
    out = []
    for chunk in chunks or []:
        kind = chunk.get("kind") if chunk.get("kind") in _SOURCE_KINDS else "page_section"
        ref = SourceRef(kind=kind, id=str(chunk.get("id", "")), title=str(chunk.get("title", "")),
                        url=chunk.get("url"))
        out.append((ref, str(chunk.get("text", ""))))
    return out


def split_retrieved(chunks: list[dict[str, Any]] | None
                    ) -> tuple[list[tuple[SourceRef, str]], list[tuple[SourceRef, str]]]:
    """(rules, examples): approved cases of similar stories (kind `test_case`) are few-shot
    examples for the prompt's <examples>; everything else (pages, stories, criteria) is a rule."""
    rules, examples = [], []
    for pair in rules_from_retrieved(chunks):
        (examples if pair[0].kind == "test_case" else rules).append(pair)
    return rules, examples


def plan(state: State, config: RunnableConfig) -> dict[str, Any]:
    """The rules plan, then (with a model) the model's choice of scope and flows."""
    result = nodes.plan(state, config)
    cfg = Configuration.from_runnable_config(config)
    gen = generator_for(cfg)
    if gen is None:
        return result
    t0 = time.perf_counter()
    stories = [s for s in result["stories"] if s.key in result["scope"]]
    outcome = gen.plan(result["epic"], stories)
    findings = list(outcome.findings)
    if outcome.story_keys:
        result["scope"] = outcome.story_keys
        if not outcome.fell_back:
            result["flows"] = outcome.flows
    else:
        findings = [Finding(severity="warning", code="llm-plan-fallback",
                            message="The model's plan left no story in scope; every story stays in scope "
                                    "and the flows come from the rules.")]
    result["findings"] = list(result.get("findings") or []) + findings
    result["llm_usage"] = outcome.usage
    result["usage"] = {**result.get("usage", {}),
                       "plan_llm": {"seconds": round(time.perf_counter() - t0, 4),
                                    "calls": outcome.usage.get("plan", {}).get("calls", 0)}}
    return result


def generate(task: StoryTask, config: RunnableConfig) -> dict[str, Any]:
    """One story's cases: by the model when one is configured, else by the rules."""
    cfg = Configuration.from_runnable_config(config)
    gen = generator_for(cfg)
    if gen is None:
        return nodes.generate(task, config)
    t0 = time.perf_counter()
    story = task["story"]
    nodes._maybe_fail(cfg, "generate", story.key)
    template = nodes.template_for(cfg)
    retrieved = task.get("retrieved") or []

    def fallback(s: Story) -> list[UATCase]:
        return generate_for_story(s, template, retrieved).cases

    rules, examples = split_retrieved(retrieved)
    outcome = gen.generate_story(story, rules=rules, examples=examples, fallback=fallback,
                                 on_unavailable=cfg.llm_unavailable)
    return {"cases": outcome.cases, "findings": outcome.findings, "llm_usage": outcome.usage,
            "usage": {f"generate:{story.key}": {"seconds": round(time.perf_counter() - t0, 4),
                                                "calls": outcome.usage.get("generate", {}).get("calls", 0)}}}
