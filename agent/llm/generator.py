"""Generation, revision and planning with a language model, in casewright's own schema.

The model answers in JSON that must validate against the UATCase schema (`{"cases": [UATCase]}`)
or the plan schema (agent/llm/schemas.py), asked for and repaired once by agent/llm/structured.py.
Whatever comes back is checked twice:

1. against the schema (pydantic), and
2. against the story: every case must name the story being written and only criterion ids that
   story has. The model never decides where casewright writes: case ids, story keys and the
   Jira target come from casewright, not from the answer.

A story whose answer is still invalid after the repair (or whose calls keep failing with rate
limits or server errors after the client's retries) is written by the deterministic generator
instead, and a Finding says so. Every call's tokens are counted per graph node.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agent.llm import prompts
from agent.llm.context_budget import ContextBudget
from agent.llm.fitted_schema import SMALL_CONTEXT_TOKENS, fitted_cases_schema, fitted_plan_schema
from agent.llm.limits import RateLimits, estimate_tokens
from agent.llm.provider import ModelOptions, ModelSpec, ProviderKeys, build_chat_model, parse_model, structured_method
from agent.llm.registry import context_window
from agent.llm.schemas import CASES_SCHEMA, PLAN_SCHEMA, CaseBatch, PlanOutput
from agent.llm.structured import AnswerInvalid, LLMUnavailable, StructuredCaller, ask
from agent.llm.usage import Ledger
from agent.models import Epic, Finding, Flow, SourceRef, Story, UATCase

# Finding codes of a story whose cases the deterministic generator wrote instead of the model.
FALLBACK_UNAVAILABLE = "llm-unavailable"          # the API kept failing (429, 5xx, timeouts)
FALLBACK_INVALID_OUTPUT = "llm-invalid-output"    # the answer stayed invalid after one repair
ON_UNAVAILABLE = ("fallback", "raise")
UNLIMITED_TOKENS = 10**9
CONTEXT_TRIMMED = "context-trimmed"              # rules or examples left out to fit the context window


def _label(item: Any) -> str:
    """How a dropped rule or example is named in the finding."""
    if isinstance(item, UATCase):
        return f"example {item.id}"
    ref = item[0]
    return f"{'example' if ref.kind == 'test_case' else 'rule'} {ref.id}"


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
                 template_text: str = "", fallback: Fallback | None = None, finalize: Finalize | None = None,
                 limits: RateLimits | None = None, budget: ContextBudget | None = None):
        self.model = model
        self.limits = limits or RateLimits()
        self.budget = budget or ContextBudget(UNLIMITED_TOKENS, 0)  # generator_for sizes it to the model
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

    @property
    def fits_schemas(self) -> bool:
        """A small-context model in a structured mode gets schemas fitted to the story
        (agent/llm/fitted_schema.py); the others get the plain ones."""
        return (self.budget.window_tokens <= SMALL_CONTEXT_TOKENS
                and self.cases_caller.method in ("json_schema", "function_calling"))

    def _cases_caller_for(self, story: Story) -> StructuredCaller:
        if not self.fits_schemas:
            return self.cases_caller
        return StructuredCaller(self.model, fitted_cases_schema(story.key, [c.id for c in story.criteria]),
                                self.cases_caller.method)

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
                if not case.title.strip():
                    problems.append(f"- cases.{n}.title is empty; give the case a title that says what it verifies")
                if known and not case.criterion_ids:
                    problems.append(f"- cases.{n}.criterion_ids is empty; name the criterion it verifies "
                                    f"({', '.join(sorted(known))})")
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
                       on_unavailable: str = "fallback", probes: Sequence[UATCase] = ()) -> StoryOutcome:
        """The story's cases. When the API stays unavailable: with on_unavailable="fallback" the
        rules write them (finding `llm-unavailable`); with "raise" LLMUnavailable propagates, so a
        background job can retry later instead of writing rule-made cases. `probes`: in gap mode,
        the only negative/boundary cases wanted for criteria existing tests already verify."""
        ledger = Ledger()
        schema = self.cases_caller.schema_in_prompt

        def render(part: Story, part_rules: list, part_examples: list) -> str:
            return prompts.render_generate(part, template=self.template_text, rules=part_rules,
                                           examples=part_examples, flows=flows, schema=schema, probes=probes)

        ranked_examples = [*story.approved_cases, *examples][:prompts.MAX_EXAMPLES]
        cases: list[UATCase] = []
        repaired = False
        dropped: dict[str, Any] = {}
        allowed: dict[str, SourceRef] = {}
        for part in self.budget.batches(story, render):
            kept_rules, kept_examples, left_out = self.budget.fit(part, render, rules, ranked_examples)
            for item in left_out:
                dropped.setdefault(_label(item), item)
            try:
                part_cases, error, part_repaired = ask(self._cases_caller_for(part), render(part, kept_rules, kept_examples),
                                                       self._validate_cases(part), node, ledger, self.spec,
                                                       self.limits.tokens)
            except LLMUnavailable as exc:
                if on_unavailable == "raise":
                    raise LLMUnavailable(f"{story.key}: the model API kept failing: {exc}") from None
                return self._fallback(story, f"the model API kept failing: {exc}", ledger, node, fallback,
                                      code=FALLBACK_UNAVAILABLE)
            if part_cases is None:
                return self._fallback(story, "its output stayed invalid after one repair: "
                                      + " ".join((error or "").split())[:300], ledger, node, fallback,
                                      code=FALLBACK_INVALID_OUTPUT)
            cases.extend(part_cases)
            repaired = repaired or part_repaired
            shown = [*kept_rules, *(e for e in kept_examples if isinstance(e, tuple))]
            allowed.update({ref.id: ref for ref, _ in shown})
        findings = []
        if dropped:
            ledger.count(node, context_dropped=len(dropped))
            findings.append(Finding(
                severity="info", code=CONTEXT_TRIMMED, story_key=story.key,
                message=(f"The prompt for {story.key} did not fit the model's {self.budget.window_tokens}-token "
                         f"context; left out, lowest-ranked first: {', '.join(dropped)}.")))
        return StoryOutcome(story.key, self._clean(story, cases, allowed), findings, ledger.usage,
                            repaired=repaired)

    def revise_story(self, story: Story, previous: Sequence[UATCase], findings: Sequence[Finding], *,
                     rules: Sequence[tuple[SourceRef, str]] = (), reviewer: str | None = None,
                     node: str = "revise") -> StoryOutcome:
        """Rewrite one story's cases against the review's findings (and a reviewer's reason).
        When the model cannot produce a usable revision, the previous cases stay and a finding says so."""
        ledger = Ledger()
        prompt = prompts.render_revise(story, template=self.template_text, previous=previous, findings=findings,
                                       rules=rules, reviewer=reviewer, schema=self.cases_caller.schema_in_prompt)
        try:
            cases, error, repaired = ask(self._cases_caller_for(story), prompt, self._validate_cases(story), node, ledger,
                                         self.spec, self.limits.tokens)
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
            caller = (StructuredCaller(self.model, fitted_plan_schema(keys), self.plan_caller.method)
                      if self.fits_schemas else self.plan_caller)
            plan, error, _ = ask(caller, prompt, validate, node, ledger, self.spec,
                                 self.limits.tokens)
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
    limits = RateLimits.per_minute(opts.requests_per_minute, opts.tokens_per_minute)
    if chat_model is not None:
        spec = ModelSpec("custom", model)
        method = opts.structured_output if opts.structured_output != "auto" else "function_calling"
    else:
        spec = parse_model(model)
        if spec is None:
            return None
        chat_model = build_chat_model(opts, spec, keys=keys, rate_limiter=limits.requests)
        method = structured_method(spec, opts.structured_output)
    budget = ContextBudget(context_window(spec.name, opts.model_context_tokens), opts.max_tokens,
                           estimate_tokens(prompts.system_prompt()), opts.criteria_per_call)
    compact = budget.window_tokens <= SMALL_CONTEXT_TOKENS  # a small model: the template's essentials only
    return LLMGenerator(chat_model, spec=spec, method=method,
                        template_text=prompts.template_text(template, compact=compact),
                        finalize=template.finalize, limits=limits, budget=budget)
