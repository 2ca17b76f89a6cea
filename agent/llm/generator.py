"""Generation, revision and planning with a language model, in casewright's own schema.

The model answers in JSON that must validate against the UATCase schema (`{"cases": [UATCase]}`)
or the plan schema, asked for in the provider's structured-output mode (`json_schema`), its
tool-calling mode (`function_calling`), JSON mode, or, for a model with none of these, with the
schema in the prompt (`prompt`). Whatever comes back is checked twice:

1. against the schema (pydantic), and
2. against the story: every case must name the story being written and only criterion ids that
   story has. The model never decides where casewright writes: case ids, story keys and the
   Jira target come from casewright, not from the answer.

An answer that fails either check is repaired once, by sending the error back with the answer.
A story whose answer is still invalid (or whose calls keep failing with rate limits or server
errors after the client's retries) is written by the deterministic generator instead, and a
Finding says so. Every call's tokens are counted per graph node.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError

from agent.llm import prompts
from agent.llm.provider import (
    ModelConfigError,
    ModelOptions,
    ModelSpec,
    ProviderKeys,
    build_chat_model,
    describe_config_failure,
    parse_model,
    structured_method,
)
from agent.llm.usage import add_usage
from agent.models import Epic, Finding, Flow, SourceRef, Story, UATCase
from connectors.errors import is_transient

CASES_SCHEMA_NAME = "uat_cases"
PLAN_SCHEMA_NAME = "uat_plan"


class CaseBatch(BaseModel):
    """What the model returns for one story: its UAT cases."""

    cases: list[UATCase] = Field(description="The UAT cases for the story, each in the UATCase schema")


class PlanOutput(BaseModel):
    """What the model returns for an epic: the stories in scope and the end-to-end flows."""

    story_keys: list[str] = Field(description="Keys of the stories to write cases for")
    flows: list[Flow] = Field(default_factory=list, description="End-to-end flows across stories, in order")
    notes: str = ""


def _schema(model: type[BaseModel], name: str, description: str) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema["title"] = name
    schema["description"] = description
    return schema


CASES_SCHEMA = _schema(CaseBatch, CASES_SCHEMA_NAME, "UAT test cases for one user story")
PLAN_SCHEMA = _schema(PlanOutput, PLAN_SCHEMA_NAME, "The stories in scope and the end-to-end flows of an epic")


class AnswerInvalid(ValueError):
    """The model's answer does not fit the schema or the story; the message goes back to the model."""


class LLMUnavailable(RuntimeError):
    """Calls keep failing (rate limit, server error, timeout) after the client's retries."""

    transient = True  # worth retrying later: a background job does (workers/tasks.py)


# Finding codes of a story whose cases the deterministic generator wrote instead of the model.
FALLBACK_UNAVAILABLE = "llm-unavailable"          # the API kept failing (429, 5xx, timeouts)
FALLBACK_INVALID_OUTPUT = "llm-invalid-output"    # the answer stayed invalid after one repair
ON_UNAVAILABLE = ("fallback", "raise")


# -- usage accounting -------------------------------------------------------------------------

def _tokens(message: Any) -> tuple[int, int]:
    meta = getattr(message, "usage_metadata", None) or {}
    if meta:
        return int(meta.get("input_tokens", 0) or 0), int(meta.get("output_tokens", 0) or 0)
    usage = (getattr(message, "response_metadata", None) or {}).get("token_usage") or {}
    return int(usage.get("prompt_tokens", 0) or 0), int(usage.get("completion_tokens", 0) or 0)


@dataclass
class Ledger:
    """Usage of one unit of work (a story, a plan), keyed by node."""

    usage: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, node: str, **amounts: int) -> None:
        self.usage = add_usage(self.usage, {node: amounts})


# -- talking to the model ----------------------------------------------------------------------

@dataclass
class Reply:
    parsed: Any
    text: str          # the raw answer (content or tool-call arguments), for the repair message
    error: str | None  # why it could not be parsed, if it could not


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def _parse_json_text(text: str) -> Any:
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    if not body.startswith("{"):
        start = body.find("{")
        end = body.rfind("}")
        if start >= 0 and end > start:
            body = body[start:end + 1]
    return json.loads(body)


def _message_text(message: Any) -> str:
    content = getattr(message, "content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content)


def _raw_answer_text(message: Any) -> str:
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        return json.dumps(calls[0].get("args", {}))
    bad = getattr(message, "invalid_tool_calls", None) or []
    if bad:
        return str(bad[0].get("args") or "")
    return _message_text(message)


class StructuredCaller:
    """One schema, one model, one way of asking for structure."""

    def __init__(self, model: Any, schema: dict[str, Any], method: str):
        self.model = model
        self.schema = schema
        self.method = method
        self.runnable = None
        if method != "prompt":
            try:
                kwargs: dict[str, Any] = {"include_raw": True}
                if method != "auto":
                    kwargs["method"] = method
                self.runnable = model.with_structured_output(schema, **kwargs)
            except NotImplementedError:
                self.method = "prompt"  # the model has no structured mode: the schema goes in the prompt
            except TypeError:
                self.runnable = model.with_structured_output(schema, include_raw=True)

    @property
    def schema_in_prompt(self) -> dict[str, Any] | None:
        return self.schema if self.method in ("prompt", "json_mode") else None

    def __call__(self, messages: list[BaseMessage]) -> tuple[Reply, tuple[int, int]]:
        if self.runnable is None:
            message = self.model.invoke(messages)
            text = _message_text(message)
            try:
                return Reply(_parse_json_text(text), text, None), _tokens(message)
            except ValueError as exc:
                return Reply(None, text, f"the answer is not valid JSON ({exc})"), _tokens(message)
        out = self.runnable.invoke(messages)
        raw = out.get("raw")
        text = _raw_answer_text(raw)
        error = out.get("parsing_error")
        parsed = out.get("parsed")
        finish = (getattr(raw, "response_metadata", None) or {}).get("finish_reason")
        if finish == "length":
            return Reply(None, text, "the answer was cut off at the token limit; answer more briefly"), _tokens(raw)
        if not getattr(raw, "tool_calls", None):
            # content answers are parsed strictly: langchain's JSON parser accepts a truncated
            # document as a partial object, which could pass validation with cases missing
            parsed, error = None, None
        if parsed is None and error is None:
            try:  # e.g. tool-calling mode where the model answered in plain content
                parsed = _parse_json_text(text)
            except ValueError as exc:
                error = f"the answer is not valid JSON ({exc})"
        return Reply(parsed, text, str(error) if error else None), _tokens(raw)


def _validation_message(exc: ValidationError | AnswerInvalid, limit: int = 12) -> str:
    if isinstance(exc, ValidationError):
        lines = []
        for err in exc.errors()[:limit]:
            where = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
            lines.append(f"- {where}: {err.get('msg')}")
        more = len(exc.errors()) - limit
        if more > 0:
            lines.append(f"- ... and {more} more")
        return "It does not match the schema:\n" + "\n".join(lines)
    return str(exc)


# -- the generator -------------------------------------------------------------------------------

@dataclass
class StoryOutcome:
    story_key: str
    cases: list[UATCase]
    findings: list[Finding]
    usage: dict[str, dict[str, int]]
    fell_back: bool = False
    repaired: bool = False


@dataclass
class PlanOutcome:
    story_keys: list[str]
    flows: list[Flow]
    findings: list[Finding]
    usage: dict[str, dict[str, int]]
    fell_back: bool = False


Fallback = Callable[[Story], list[UATCase]]
Finalize = Callable[[Story, list[UATCase]], list[UATCase]]


def _identity(story: Story, cases: list[UATCase]) -> list[UATCase]:
    return cases


class LLMGenerator:
    """Writes, revises and plans with one chat model. Safe to share between graph branches."""

    def __init__(self, model: Any, *, spec: ModelSpec | None = None, method: str = "json_schema",
                 template_text: str = "", fallback: Fallback | None = None, finalize: Finalize | None = None):
        self.model = model
        self.spec = spec or ModelSpec("custom", type(model).__name__)
        self.template_text = template_text
        self.fallback = fallback
        self.finalize = finalize or _identity
        self.cases_caller = StructuredCaller(model, CASES_SCHEMA, method)
        self.plan_caller = StructuredCaller(model, PLAN_SCHEMA, method)
        self._lock = threading.Lock()

    @property
    def method(self) -> str:
        return self.cases_caller.method

    # one question, one repair ---------------------------------------------------------------
    def _ask(self, caller: StructuredCaller, user: str, validate: Callable[[Any], Any], node: str,
             ledger: Ledger) -> tuple[Any, str | None, bool]:
        """(validated result or None, last error, repaired?)."""
        messages: list[BaseMessage] = [SystemMessage(prompts.system_prompt()), HumanMessage(user)]
        error: str | None = None
        for attempt in range(2):
            try:
                reply, (tin, tout) = caller(messages)
            except ModelConfigError:
                raise
            except json.JSONDecodeError as exc:
                # the HTTP body itself was broken (not the model's JSON): ask the same question again
                ledger.count(node, failures=1)
                error = f"the provider's response was not valid JSON ({exc})"
                continue
            except Exception as exc:  # noqa: BLE001 - provider SDKs raise many types
                line = describe_config_failure(exc, self.spec)
                if line:
                    raise ModelConfigError(line) from None
                ledger.count(node, failures=1)
                if is_transient(exc):
                    raise LLMUnavailable(f"{type(exc).__name__}: {str(exc)[:200]}") from None
                raise
            ledger.count(node, calls=1, input_tokens=tin, output_tokens=tout, repairs=attempt)
            if reply.error is None:
                try:
                    return validate(reply.parsed), None, attempt > 0
                except ValidationError as exc:
                    error = _validation_message(exc)
                except AnswerInvalid as exc:
                    error = str(exc)
            else:
                error = reply.error
            messages = [*messages[:2], HumanMessage(prompts.repair_prompt(error, reply.text))]
        return None, error, True

    # validation against the story ------------------------------------------------------------
    def _validate_cases(self, story: Story) -> Callable[[Any], list[UATCase]]:
        known = {c.id for c in story.criteria}

        def validate(parsed: Any) -> list[UATCase]:
            batch = CaseBatch.model_validate(parsed)
            problems = []
            if not batch.cases and story.criteria:
                problems.append("- the answer has no cases; write at least one case per criterion")
            for n, case in enumerate(batch.cases):
                if case.story_key != story.key:
                    problems.append(f"- cases.{n}.story_key is {case.story_key!r}; it must be {story.key!r}")
                unknown = [cid for cid in case.criterion_ids if cid not in known]
                if unknown:
                    problems.append(f"- cases.{n}.criterion_ids names {', '.join(unknown)}, which story "
                                    f"{story.key} does not have (its criteria: {', '.join(sorted(known)) or 'none'})")
            if problems:
                raise AnswerInvalid("It does not fit the story:\n" + "\n".join(problems))
            return batch.cases
        return validate

    def _clean(self, story: Story, cases: list[UATCase], allowed_sources: dict[str, SourceRef]) -> list[UATCase]:
        """Keep only sources casewright gave the model, add the story itself, then apply the template."""
        story_ref = SourceRef(kind="story", id=story.key, title=story.summary, url=story.url)
        vague = bool(story.criteria) and all(c.vague for c in story.criteria)
        out = []
        for case in cases:
            refs = [story_ref]
            for ref in case.sources:
                known = allowed_sources.get(ref.id)
                if known is not None and known.id not in {r.id for r in refs}:
                    refs.append(known)
            for cid in case.criterion_ids:
                if cid not in {r.id for r in refs}:
                    refs.append(SourceRef(kind="criterion", id=cid, title=""))
            update: dict[str, Any] = {"story_key": story.key, "sources": refs}
            if vague or not story.criteria:
                update["confidence"] = "low"
            out.append(case.model_copy(update=update))
        return self.finalize(story, out)

    def _fallback(self, story: Story, why: str, ledger: Ledger, node: str,
                  fallback: Fallback | None = None, code: str = FALLBACK_INVALID_OUTPUT) -> StoryOutcome:
        ledger.count(node, fallbacks=1)
        writer = fallback or self.fallback
        cases = writer(story) if writer else []
        finding = Finding(
            severity="warning", code=code, story_key=story.key,
            message=(f"The model's answer for {story.key} could not be used ({why}); "
                     f"the deterministic generator wrote its {len(cases)} case(s) instead."))
        return StoryOutcome(story.key, cases, [finding], ledger.usage, fell_back=True)

    # the three jobs ---------------------------------------------------------------------------
    def generate_story(self, story: Story, *, rules: Sequence[tuple[SourceRef, str]] = (),
                       examples: Sequence[UATCase | tuple[SourceRef, str]] = (), flows: Sequence[str] = (),
                       fallback: Fallback | None = None, node: str = "generate",
                       on_unavailable: str = "fallback") -> StoryOutcome:
        """The story's cases. When the API stays unavailable: with on_unavailable="fallback" the
        rules write them (finding `llm-unavailable`); with "raise" LLMUnavailable propagates, so a
        background job can retry later instead of writing rule-made cases."""
        ledger = Ledger()
        prompt = prompts.render_generate(story, template=self.template_text, rules=rules,
                                         examples=[*story.approved_cases, *examples], flows=flows,
                                         schema=self.cases_caller.schema_in_prompt)
        try:
            cases, error, repaired = self._ask(self.cases_caller, prompt, self._validate_cases(story), node, ledger)
        except LLMUnavailable as exc:
            if on_unavailable == "raise":
                raise LLMUnavailable(f"{story.key}: the model API kept failing: {exc}") from None
            return self._fallback(story, f"the model API kept failing: {exc}", ledger, node, fallback,
                                  code=FALLBACK_UNAVAILABLE)
        if cases is None:
            return self._fallback(story, "its output stayed invalid after one repair: "
                                  + " ".join((error or "").split())[:300], ledger, node, fallback,
                                  code=FALLBACK_INVALID_OUTPUT)
        allowed = {ref.id: ref for ref, _ in [*rules, *(e for e in examples if isinstance(e, tuple))]}
        return StoryOutcome(story.key, self._clean(story, cases, allowed), [], ledger.usage, repaired=repaired)

    def revise_story(self, story: Story, previous: Sequence[UATCase], findings: Sequence[Finding], *,
                     rules: Sequence[tuple[SourceRef, str]] = (), reviewer: str | None = None,
                     node: str = "revise") -> StoryOutcome:
        """Rewrite one story's cases against the review's findings (and a reviewer's reason).
        When the model cannot produce a usable revision, the previous cases stay and a finding says so."""
        ledger = Ledger()
        prompt = prompts.render_revise(story, template=self.template_text, previous=previous, findings=findings,
                                       rules=rules, reviewer=reviewer, schema=self.cases_caller.schema_in_prompt)
        try:
            cases, error, repaired = self._ask(self.cases_caller, prompt, self._validate_cases(story), node, ledger)
        except LLMUnavailable as exc:
            cases, error, repaired = None, f"the model API kept failing: {exc}", False
        if cases is None:
            ledger.count(node, fallbacks=1)
            finding = Finding(severity="warning", code="revise-failed", story_key=story.key,
                              message=(f"The revision of {story.key} could not be used ({' '.join((error or '').split())[:300]}); "
                                       "its previous cases were kept."))
            return StoryOutcome(story.key, list(previous), [finding], ledger.usage, fell_back=True)
        allowed = {ref.id: ref for ref, _ in rules}
        return StoryOutcome(story.key, self._clean(story, cases, allowed), [], ledger.usage, repaired=repaired)

    def plan(self, epic: Epic, stories: Sequence[Story], *, node: str = "plan") -> PlanOutcome:
        """Stories in scope and flows. When the model's plan is unusable, every story is in scope
        and `fell_back` tells the caller to take the flows from the rules. Stories the model leaves
        out are reported, never silently dropped."""
        ledger = Ledger()
        keys = [s.key for s in stories]
        known = set(keys)

        def validate(parsed: Any) -> PlanOutput:
            plan = PlanOutput.model_validate(parsed)
            unknown = sorted({k for k in plan.story_keys if k not in known}
                             | {k for f in plan.flows for k in f.story_keys if k not in known})
            if unknown:
                raise AnswerInvalid(f"It names stories that are not in the epic: {', '.join(unknown)}; "
                                    f"use only: {', '.join(keys)}")
            return plan

        prompt = prompts.render_plan(epic, stories, schema=self.plan_caller.schema_in_prompt)
        try:
            plan, error, _ = self._ask(self.plan_caller, prompt, validate, node, ledger)
        except LLMUnavailable:
            plan, error = None, "the model API kept failing"
        if plan is None:
            ledger.count(node, fallbacks=1)
            return PlanOutcome(keys, [], [Finding(severity="info", code="llm-plan-fallback",
                                                  message=f"The model's plan could not be used ({' '.join((error or '').split())[:200]}); "
                                                          "all stories are in scope and flows come from the rules.")],
                               ledger.usage, fell_back=True)
        in_scope = [k for k in keys if k in set(plan.story_keys)]
        findings = [Finding(severity="info", code="out-of-scope", story_key=k,
                            message=f"The plan left {k} out of scope: {plan.notes or 'no behaviour a business user can observe'}")
                    for k in keys if k not in set(plan.story_keys)]
        flows = [f for f in plan.flows if len(f.story_keys) >= 2]
        return PlanOutcome(in_scope, flows, findings, ledger.usage)


def generator_for(model: str, options: dict[str, Any], template: Any, *, keys: ProviderKeys | None = None,
                  chat_model: Any = None) -> LLMGenerator | None:
    """The LLM generator a run uses: for `chat_model` when one is given (an application's own
    langchain chat model), else for `model` (provider:name) with the run's options and keys;
    None for `rules`."""
    opts = ModelOptions.of(model, options)
    if chat_model is not None:
        spec = ModelSpec("custom", model)
        method = opts.structured_output if opts.structured_output != "auto" else "function_calling"
    else:
        spec = parse_model(model)
        if spec is None:
            return None
        chat_model = build_chat_model(opts, spec, keys=keys)
        method = structured_method(spec, opts.structured_output)
    return LLMGenerator(chat_model, spec=spec, method=method, template_text=prompts.template_text(template),
                        finalize=template.finalize)
