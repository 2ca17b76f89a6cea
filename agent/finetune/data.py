"""Fine-tuning data: the team's approved cases turned into chat examples a model can learn from.

One example per story that has approved cases linked:

    system     prompts/system.txt (the same text the LLM generator sends)
    user       prompts/generate.txt filled with the story and its criteria (and, with
               `with_context`, the rule sections retrieved for it and approved cases of OTHER
               stories as style examples, so the model learns to use them)
    assistant  the approved cases for that story: {"cases": [UATCase, ...]} as JSON, or one
               Gherkin feature (target "gherkin")

Written as chat JSONL in the OpenAI fine-tuning format ({"messages": [...]} per line), which
TRL's SFT trainer reads too. Train and validation are split BY STORY (no story in both; the
choice depends only on the story keys and the seed), exact duplicates are removed, e-mail
addresses, phone numbers and anything that looks like a secret are redacted, and a manifest
records the story keys, the counts, token statistics and a hash of the data.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.models import Epic, SourceRef, Story, UATCase
from connectors.errors import CasewrightError

TRAIN_FILE = "train.jsonl"
VALIDATION_FILE = "validation.jsonl"
MANIFEST_FILE = "manifest.json"
TARGETS = ("json", "gherkin")


class FinetuneDataError(CasewrightError):
    """The export cannot be made from this input; the message says why and what to do."""


class GeneratedCases(BaseModel):
    """The assistant's answer in the JSON target: the shape prompts/generate.txt asks for."""

    cases: list[UATCase] = Field(default_factory=list)


# -- redaction ------------------------------------------------------------------------------------
# Order matters: structured secrets first (so a token inside a URL or header is caught whole),
# then e-mail addresses, then phone numbers, then long opaque strings.
_SECRET_VALUE = r"[^\s\"'`,;<>)]{4,}"
_REDACTIONS: list[tuple[str, re.Pattern[str], str]] = [
    ("secret", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
     "[REDACTED_PRIVATE_KEY]"),
    ("secret", re.compile(r"(?i)\b(bearer|token|basic)(\s+)(?=[A-Za-z0-9._~+/=-]*\d)([A-Za-z0-9._~+/=-]{12,})"),
     r"\1\2[REDACTED_SECRET]"),
    ("secret", re.compile(r"(?i)(https?://)[^/\s:@]+:[^/\s@]+@"), r"\1[REDACTED_CREDENTIALS]@"),
    ("secret", re.compile(
        r"(?i)\b((?:api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|secret(?:[_-]?key)?|client[_-]?secret|"
        r"password|passwd|pwd|passphrase|auth[_-]?token|access[_-]?token|refresh[_-]?token|token)"
        r"[\"']?\s*(?:=|:(?=\s*[\"']?[^\s\"']*[\d!@#$%^&*_+=~-]))\s*[\"']?)(" + _SECRET_VALUE + ")"),
     r"\1[REDACTED_SECRET]"),
    ("secret", re.compile(r"\b(?:sk|pk|rk)-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{16,}\b"), "[REDACTED_SECRET]"),
    ("secret", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat|glpat|xox[abprs])[-_][A-Za-z0-9_-]{10,}\b"),
     "[REDACTED_SECRET]"),
    ("secret", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "[REDACTED_SECRET]"),
    ("secret", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "[REDACTED_SECRET]"),
    ("secret", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "[REDACTED_SECRET]"),
    ("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
     "[REDACTED_EMAIL]"),
    # Phone numbers: international (+CC ...), Australian (04xx xxx xxx, (02) xxxx xxxx, 1300/1800),
    # North American ((555) 555-5555). Dates, amounts, UUIDs and ids do not match these shapes.
    ("phone", re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}(?![\w-])"), "[REDACTED_PHONE]"),
    ("phone", re.compile(r"(?<![\w-])\(0\d\)\s?\d{4}[\s-]?\d{4}(?![\w-])"), "[REDACTED_PHONE]"),
    ("phone", re.compile(r"(?<![\w-])0[2-478](?:[\s-]?\d){8}(?![\w-])"), "[REDACTED_PHONE]"),
    ("phone", re.compile(r"(?<![\w-])1[38]00(?:[\s-]?\d){6}(?![\w-])"), "[REDACTED_PHONE]"),
    ("phone", re.compile(r"(?<![\w-])\(\d{3}\)\s?\d{3}[\s.-]\d{4}(?![\w-])"), "[REDACTED_PHONE]"),
    ("phone", re.compile(r"(?<![\w-])\d{3}[.-]\d{3}[.-]\d{4}(?![\w-])"), "[REDACTED_PHONE]"),
    ("secret", re.compile(r"\b[0-9a-fA-F]{32,}\b"), "[REDACTED_SECRET]"),
]
# Long opaque strings (base64/base64url keys). Not across "/" or ".": URL paths and host names stay.
_B64_CANDIDATE = re.compile(r"(?<![A-Za-z0-9+/_.-])[A-Za-z0-9+_-]{32,}={0,2}(?![A-Za-z0-9+/_.-])")


def _looks_random(s: str) -> bool:
    """A long run mixing upper case, lower case and digits (a key), not a long word or identifier."""
    body = s.rstrip("=")
    if len(body) < 32:
        return False
    classes = sum(bool(re.search(p, body)) for p in (r"[a-z]", r"[A-Z]", r"\d"))
    digits = sum(ch.isdigit() for ch in body)
    return classes == 3 and digits >= 4


def redact(text: str, counts: Counter[str] | None = None) -> str:
    """`text` with e-mail addresses, phone numbers and secret-looking strings replaced by markers."""
    if not text:
        return text
    out = text
    for kind, pattern, repl in _REDACTIONS:
        out, n = pattern.subn(repl, out)
        if n and counts is not None:
            counts[kind] += n

    def _b64(m: re.Match[str]) -> str:
        if _looks_random(m.group(0)):
            if counts is not None:
                counts["secret"] += 1
            return "[REDACTED_SECRET]"
        return m.group(0)

    return _B64_CANDIDATE.sub(_b64, out)


def redact_obj(obj: Any, counts: Counter[str] | None = None) -> Any:
    """Redact every string inside a JSON-like structure (keys included), keeping its shape."""
    if isinstance(obj, str):
        return redact(obj, counts)
    if isinstance(obj, list):
        return [redact_obj(v, counts) for v in obj]
    if isinstance(obj, dict):
        return {redact(k, counts) if isinstance(k, str) else k: redact_obj(v, counts) for k, v in obj.items()}
    return obj


# -- examples -------------------------------------------------------------------------------------
@dataclass
class Example:
    story_key: str
    messages: list[dict[str, str]]
    case_ids: list[str] = field(default_factory=list)
    context_ids: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """One JSONL line in the OpenAI chat fine-tuning format."""
        return {"messages": self.messages}

    @property
    def fingerprint(self) -> str:
        norm = json.dumps([[m["role"], " ".join(m["content"].split())] for m in self.messages], ensure_ascii=False)
        return hashlib.sha256(norm.encode("utf-8")).hexdigest()


# Context for one story: (rule sections as (ref, text), approved cases of other stories as examples).
Context = tuple[list[tuple[SourceRef, str]], list[UATCase | tuple[SourceRef, str]]]
ContextProvider = Callable[[Story], Context]

_JSON_ANSWER = re.compile(r"You answer only with JSON[^\n]*(?:\n[^\n]+)*", re.M)
_GEN_ANSWER = re.compile(r'^Answer with \{"cases": \[\.\.\.\]\}.*?(?=^\$schema_note|\Z)', re.M | re.S)


def system_prompt(target: str = "json") -> str:
    from agent.llm.prompts import system_prompt as base

    text = base()
    if target == "gherkin":
        swapped, n = _JSON_ANSWER.subn(
            "You answer only with one Gherkin feature (Feature, then one Scenario per case, each step "
            "starting with Given, When, Then, And or But), with no prose around it.", text)
        text = swapped if n else text + "\n\nYou answer only with one Gherkin feature, with no prose around it."
    return text


def _gherkin_instruction(story_key: str) -> str:
    return (f"Answer with one Gherkin feature for {story_key}: a Scenario per case, tagged with the criterion "
            "ids it verifies, each step starting with Given, When, Then, And or But. No JSON, no prose.")


def user_prompt(story: Story, template_text: str, context: Context | None, target: str) -> str:
    from agent.llm.prompts import render_generate

    rules, examples = context if context else ([], [])
    text = render_generate(story, template=template_text, rules=rules, examples=examples)
    if target == "gherkin":
        lines = text.splitlines()
        kept = [ln for ln in lines if not ln.startswith('Answer with {"cases"')
                and not ln.startswith("Case ids are assigned by casewright")]
        text = "\n".join(kept).rstrip() + "\n" + _gherkin_instruction(story.key)
    return text


def template_text(template: Any) -> str:
    """The house template exactly as the LLM generator's prompts show it."""
    from agent.llm.prompts import template_text as production

    return production(template)


_GENERATED_HEADER = re.compile(r"^# Generated by casewright[^\n]*\n", re.M)


def gherkin_target(story: Story, cases: Sequence[UATCase]) -> str:
    """The approved cases as one Gherkin feature (the renderer's output, without its run header)."""
    from agent.models import CaseSet
    from agent.renderers.gherkin import story_feature

    epic = Epic(key=story.epic_key or story.key, summary=story.summary)
    text = story_feature(CaseSet(epic=epic, stories=[story]), story, list(cases))
    return _GENERATED_HEADER.sub("", text, count=1).strip() + "\n"


def json_target(story: Story, cases: Sequence[UATCase]) -> str:
    payload = GeneratedCases(cases=[c.model_copy(update={"story_key": c.story_key or story.key}) for c in cases])
    return json.dumps(payload.model_dump(mode="json"), ensure_ascii=False)


def build_example(story: Story, *, template: str, target: str = "json", context: Context | None = None,
                  redaction_counts: Counter[str] | None = None) -> Example:
    """The chat example for one story with approved cases. Everything in it is redacted."""
    if target not in TARGETS:
        raise FinetuneDataError(f"unknown target {target!r}; use one of: {', '.join(TARGETS)}")
    if not story.approved_cases:
        raise FinetuneDataError(f"story {story.key} has no approved cases to learn from")
    counts = redaction_counts if redaction_counts is not None else Counter()
    # Redact the inputs field by field before any of them is formatted, so a marker never
    # breaks JSON and the prompt and the answer agree on the redacted text.
    safe_story = Story.model_validate(redact_obj(story.model_dump(mode="json"), counts))
    safe_cases = [UATCase.model_validate(redact_obj(c.model_dump(mode="json"), counts)) for c in story.approved_cases]
    safe_context: Context | None = None
    if context:
        rules, examples = context
        safe_context = (
            [(SourceRef.model_validate(redact_obj(ref.model_dump(mode="json"), counts)), redact(text, counts))
             for ref, text in rules],
            [UATCase.model_validate(redact_obj(c.model_dump(mode="json"), counts)) if isinstance(c, UATCase)
             else (SourceRef.model_validate(redact_obj(c[0].model_dump(mode="json"), counts)), redact(c[1], counts))
             for c in examples],
        )
    answer = json_target(safe_story, safe_cases) if target == "json" else gherkin_target(safe_story, safe_cases)
    messages = [
        {"role": "system", "content": redact(system_prompt(target), counts)},
        {"role": "user", "content": user_prompt(safe_story, redact(template, counts), safe_context, target)},
        {"role": "assistant", "content": answer},
    ]
    context_ids = [ref.id for ref, _ in (safe_context or ([], []))[0]] + [c.id if isinstance(c, UATCase) else c[0].id
                                                                          for c in (safe_context or ([], []))[1]]
    return Example(story_key=story.key, messages=messages, case_ids=[c.id for c in story.approved_cases],
                   context_ids=context_ids)


def answer_example(story: Story, answer: str, *, system: str, user: str,
                   redaction_counts: Counter[str] | None = None) -> Example:
    """An example whose answer is given as text (e.g. a reference Gherkin script), redacted like the rest."""
    counts = redaction_counts if redaction_counts is not None else Counter()
    messages = [{"role": "system", "content": redact(system, counts)},
                {"role": "user", "content": redact(user, counts)},
                {"role": "assistant", "content": redact(answer, counts)}]
    return Example(story_key=story.key, messages=messages)


# -- dedupe and split -----------------------------------------------------------------------------
def dedupe(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    """(kept, removed): an example whose normalised messages equal an earlier one's is removed."""
    seen: set[str] = set()
    kept, removed = [], []
    for ex in examples:
        fp = ex.fingerprint
        if fp in seen:
            removed.append(ex)
        else:
            seen.add(fp)
            kept.append(ex)
    return kept, removed


def split_by_story(examples: Sequence[Example], validation_fraction: float = 0.2,
                   seed: int = 13) -> tuple[list[Example], list[Example]]:
    """Train and validation, with every example of a story on the same side.

    The validation stories are chosen from the sorted set of story keys with a seeded shuffle,
    so the split does not depend on the order stories were read in. With two or more stories
    and a fraction > 0, validation gets at least one story and train keeps at least one.
    """
    if not 0 <= validation_fraction < 1:
        raise FinetuneDataError(f"validation fraction must be in [0, 1), got {validation_fraction}")
    keys = sorted({ex.story_key for ex in examples})
    n_val = 0
    if len(keys) >= 2 and validation_fraction > 0:
        n_val = min(len(keys) - 1, max(1, round(len(keys) * validation_fraction)))
    shuffled = list(keys)
    random.Random(seed).shuffle(shuffled)
    val_keys = set(shuffled[:n_val])
    train = [ex for ex in examples if ex.story_key not in val_keys]
    val = [ex for ex in examples if ex.story_key in val_keys]
    return train, val


# -- token counting -------------------------------------------------------------------------------
class TokenCounter:
    """Counts tokens with a local Hugging Face tokenizer when one is given, else estimates them
    (about 4 characters per token, the usual rule for English text with OpenAI tokenizers)."""

    def __init__(self, tokenizer: str | None = None) -> None:
        self.exact = False
        self._tok = None
        self.name = "estimate (chars/4)"
        if tokenizer:
            self._tok = _load_tokenizer(tokenizer)
            self.exact = True
            self.name = tokenizer

    def count(self, text: str) -> int:
        if self._tok is not None:
            return len(self._tok(text, add_special_tokens=False)["input_ids"])
        return math.ceil(len(text) / 4)


def _load_tokenizer(spec: str) -> Any:
    try:
        from transformers import AutoTokenizer
    except ImportError:  # pragma: no cover - transformers is a core dependency here
        raise FinetuneDataError("counting with a tokenizer needs transformers; pip install 'casewright[finetune]'") from None
    p = Path(spec)
    try:
        if p.suffix == ".gguf" and p.is_file():
            return AutoTokenizer.from_pretrained(str(p.parent), gguf_file=p.name)
        return AutoTokenizer.from_pretrained(spec, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any loader failure is the same user problem
        raise FinetuneDataError(f"cannot load tokenizer {spec!r} from local files ({exc.__class__.__name__}); "
                                "pass a local model directory or .gguf file") from None


def _stats(values: list[int]) -> dict[str, float | int]:
    if not values:
        return {"n": 0, "total": 0, "min": 0, "mean": 0, "p95": 0, "max": 0}
    ordered = sorted(values)
    return {"n": len(values), "total": sum(values), "min": ordered[0],
            "mean": round(sum(values) / len(values), 1),
            "p95": ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)], "max": ordered[-1]}


def token_stats(examples: Sequence[Example], counter: TokenCounter) -> dict[str, Any]:
    prompt, completion, total = [], [], []
    for ex in examples:
        p = sum(counter.count(m["content"]) for m in ex.messages if m["role"] != "assistant")
        c = sum(counter.count(m["content"]) for m in ex.messages if m["role"] == "assistant")
        prompt.append(p)
        completion.append(c)
        total.append(p + c)
    return {"prompt": _stats(prompt), "completion": _stats(completion), "example": _stats(total)}


# -- the export -----------------------------------------------------------------------------------
@dataclass
class ExportReport:
    out_dir: Path
    train_path: Path
    validation_path: Path
    manifest: dict[str, Any]

    @property
    def data_hash(self) -> str:
        return self.manifest["data_hash"]


def _write_jsonl(path: Path, examples: Sequence[Example]) -> int:
    lines = [json.dumps(ex.record(), ensure_ascii=False) for ex in examples]
    text = "\n".join(lines) + ("\n" if lines else "")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return len(text.encode("utf-8"))


def data_hash(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(b"\0")
        h.update(p.read_bytes() if p.exists() else b"")
        h.update(b"\0")
    return h.hexdigest()


def export_examples(examples: Sequence[Example], out_dir: str | Path, *, validation_fraction: float = 0.2,
                    seed: int = 13, tokenizer: str | None = None, meta: dict[str, Any] | None = None,
                    redactions: Counter[str] | None = None, skipped: Sequence[dict[str, str]] = (),
                    validation_stories: Sequence[str] | None = None) -> ExportReport:
    """Dedupe, split by story, write train/validation JSONL and the manifest.

    `validation_stories` fixes the held-out stories instead of drawing them."""
    if not examples:
        raise FinetuneDataError("no story has approved cases linked, so there is nothing to learn from; "
                                "link approved Test issues to stories (or check CASEWRIGHT_TEST_ISSUE_TYPE)")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FinetuneDataError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    kept, removed = dedupe(examples)
    if validation_stories is not None:
        held = set(validation_stories)
        train = [ex for ex in kept if ex.story_key not in held]
        val = [ex for ex in kept if ex.story_key in held]
    else:
        train, val = split_by_story(kept, validation_fraction, seed)
    counter = TokenCounter(tokenizer)
    train_path, val_path = out / TRAIN_FILE, out / VALIDATION_FILE
    train_bytes = _write_jsonl(train_path, train)
    val_bytes = _write_jsonl(val_path, val)
    manifest = {
        "format": "casewright-finetune/1",
        **(meta or {}),
        "seed": seed,
        "validation_fraction": validation_fraction,
        "examples": len(kept),
        "duplicates_removed": len(removed),
        "skipped": list(skipped),
        "redactions": dict(sorted((redactions or Counter()).items())),
        "tokenizer": counter.name,
        "tokens_exact": counter.exact,
        "splits": {
            "train": {"file": TRAIN_FILE, "examples": len(train), "bytes": train_bytes,
                      "stories": [ex.story_key for ex in train],
                      "cases": sum(len(ex.case_ids) for ex in train), "tokens": token_stats(train, counter)},
            "validation": {"file": VALIDATION_FILE, "examples": len(val), "bytes": val_bytes,
                           "stories": [ex.story_key for ex in val],
                           "cases": sum(len(ex.case_ids) for ex in val), "tokens": token_stats(val, counter)},
        },
        "data_hash": data_hash(train_path, val_path),
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return ExportReport(out, train_path, val_path, manifest)


# -- from a workspace -----------------------------------------------------------------------------
def stories_from_workspace(ws: Any, *, ac_field_name: str = "Acceptance Criteria",
                           test_issue_type: str = "Test") -> list[Story]:
    """Every story-like issue of the workspace, parsed (criteria, approved cases, linked pages)."""
    from agent.intake.epic import NOT_STORIES, parse_story

    skip = NOT_STORIES | {test_issue_type.lower()}
    stories = []
    for raw in ws.issues:
        fields = raw.get("fields") or {}
        kind = str((fields.get("issuetype") or {}).get("name", "")).lower()
        if kind in skip:
            continue
        parent = (fields.get("parent") or {}).get("key")
        stories.append(parse_story(ws, raw, epic_key=parent, ac_field_name=ac_field_name,
                                   test_issue_type=test_issue_type))
    return stories


def workspace_for_jql(source: Any, jql: str) -> Any:
    """A workspace read live from Jira: the issues `jql` finds, the approved Test issues linked to
    them and, when the source has Confluence, the rule pages they link to. `source` is a
    connectors.jira_source.JiraSource (connectors.jira_access builds it from the settings)."""
    from connectors.workspace import FORMAT, parse_workspace

    info = source.server_info()
    fields = source.fields()
    issues = source.search(jql)
    if not issues:
        raise FinetuneDataError(f"the JQL found no issues: {jql}")
    known = {i["key"] for i in issues}
    # the source's own helpers, as workspace_for_epic uses them: linked tests (without casewright's
    # write-back output) and the pages the issues link to
    tests = source._linked_tests(issues, known=known)
    pages = source._pages(issues, {})
    doc = {
        "format": FORMAT,
        "jira": {"baseUrl": info.get("baseUrl") or source.url, "deploymentType": info.get("deploymentType", "")},
        "confluence": {"baseUrl": source.confluence.url} if getattr(source, "confluence", None) else {},
        "fields": fields,
        "issues": issues + [t for t in tests if t["key"] not in known],
        "pages": pages,
    }
    return parse_workspace(doc, origin=f"{source.url} (JQL: {jql})")


def linked_pages_context(ws: Any, stories: Sequence[Story], *, max_sections: int = 5) -> ContextProvider:
    """Context without a knowledge store: the rule pages each story links to. Used when the
    knowledge base cannot be built here."""
    from agent.intake.epic import parse_page

    def provide(story: Story) -> Context:
        rules = []
        for pid in story.linked_pages[:max_sections]:
            raw = ws.page(pid)
            if raw is None:
                continue
            page = parse_page(ws, raw)
            rules.append((SourceRef(kind="page", id=page.id, title=page.title, url=page.url), page.text))
        return rules, []

    return provide


def without_own_cases(chunks: Sequence[dict[str, Any]], story_key: str) -> list[dict[str, Any]]:
    """Retrieved chunks minus the story's own approved cases and its own story chunk: when the
    approved cases are the answer (training, evaluation), the prompt must not contain them."""
    out = []
    for c in chunks:
        if c.get("kind") == "test_case" and (c.get("extra") or {}).get("story_key") == story_key:
            continue
        if c.get("kind") in ("story", "criterion") and c.get("source_id") == story_key:
            continue
        out.append(dict(c))
    return out


def knowledge_context(ws: Any, stories: Sequence[Story], settings: Any = None,
                      ) -> tuple[ContextProvider, Callable[[], None]] | None:
    """Context from a knowledge base (agent/knowledge.py) holding this workspace, built in a
    temporary folder so the export never locks or changes the team's store; None when the
    knowledge base cannot be used here. Returns (provider, close).

    The story's own approved cases are never given as examples: they are the answer."""
    import tempfile

    try:
        from agent.knowledge import base, retrieval
        from agent.knowledge import config as store
    except ImportError:
        return None
    tmp = tempfile.TemporaryDirectory(prefix="casewright-export-kb-")
    try:
        cfg = store.StoreConfig(data_dir=tmp.name,
                                    embedding_model=getattr(settings, "embedding_model", None) or store.DEFAULT_MODEL,
                                    top_k=int(getattr(settings, "retrieval_top_k", 5) or 5))
        kb = base.open_knowledge_base(cfg)
        base.ingest_workspace(kb, ws, ac_field_name=getattr(settings, "ac_field_name", "Acceptance Criteria"),
                                   test_issue_type=getattr(settings, "test_issue_type", "Test"), prune=False)
    except CasewrightError:
        tmp.cleanup()
        return None
    from agent.llm.prompts import split_retrieved

    def provide(story: Story) -> Context:
        # the same chunks, split the same way (rules, examples), that the graph gives the LLM generator
        got = retrieval.retrieve_for_story(kb, story, top_k=cfg.top_k)
        return split_retrieved(without_own_cases(got.as_context(), story.key))

    def close() -> None:
        try:
            kb.close()
        finally:
            tmp.cleanup()

    return provide, close


def build_examples(stories: Sequence[Story], *, template: str, target: str = "json",
                   context: ContextProvider | None = None,
                   redactions: Counter[str] | None = None) -> tuple[list[Example], list[dict[str, str]]]:
    """Examples for the stories with approved cases; (examples, skipped stories with the reason)."""
    examples, skipped = [], []
    for story in stories:
        if not story.approved_cases:
            skipped.append({"story": story.key, "reason": "no approved cases linked"})
            continue
        ctx = context(story) if context else None
        examples.append(build_example(story, template=template, target=target, context=ctx,
                                      redaction_counts=redactions))
    return examples, skipped
