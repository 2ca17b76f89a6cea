"""Gherkin feature files: a Feature per story, a Scenario per case, tagged for traceability.

A case made from a Scenario Outline whose steps keep their ``<placeholders>`` (house template
``outline_examples: table``) is written as a ``Scenario Outline`` with the criterion's ``Examples``
table; one case per example row (the default) is a plain Scenario with that row as its test data.

Text from Jira can hold anything ('#', '@', '|', '\"\"\"', keywords, line breaks). Every line is
normalised so the official parser (gherkin-official) always accepts the file and reads back the
same words: step and name text is collapsed to one line, description lines that a parser would
take for syntax are prefixed, tags keep only tag-safe characters, table cells are escaped.
"""

from __future__ import annotations

import re

from agent.intake.outline import Examples, examples_of, has_placeholders
from agent.models import CaseSet, Story, UATCase
from agent.renderers.common import is_end_to_end, one_line, safe_filename, story_index

_STEP_KEYWORDS = ("Given", "When", "Then", "And", "But")
_BLOCK_KEYWORDS = (
    "Feature", "Business Need", "Ability", "Rule", "Background", "Example", "Scenario",
    "Scenario Outline", "Scenario Template", "Examples", "Scenarios",
)
_SYNTAX_START = re.compile(
    r"^(?:#|@|\||\"\"\"|```|\*(?:\s|$)|(?:%s)(?:\s|$)|(?:%s)\s*:)"
    % ("|".join(_STEP_KEYWORDS), "|".join(re.escape(k) for k in _BLOCK_KEYWORDS))
)
_LEADING_STEP_KEYWORD = re.compile(r"^(?:%s)\s+(?=\S)" % "|".join(_STEP_KEYWORDS))
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.:\-]+")

INDENT_SCENARIO = "  "
INDENT_STEP = "    "
INDENT_TABLE = "      "


def tag(text: str) -> str:
    """A valid Gherkin tag: '/' becomes '_', any other run of unsafe characters becomes '-'."""
    body = _TAG_UNSAFE.sub("-", (text or "").replace("/", "_"))
    body = re.sub(r"-{2,}", "-", body).strip("-")
    return "@" + (body or "untagged")


def criterion_tag(criterion_id: str) -> str:
    return tag(criterion_id)


def description_line(text: str) -> str:
    """One description line that a parser can never mistake for a keyword, tag, table, comment or doc string."""
    line = one_line(text)
    return f"- {line}" if _SYNTAX_START.match(line) else line


def step_text(text: str) -> str:
    """Step text on one line, without a repeated leading keyword ('Given Given ...')."""
    line = one_line(text)
    return _LEADING_STEP_KEYWORD.sub("", line, count=1) or line


_LINE_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


# words that start a sentence but are no name: lower-cased after a keyword ("Then the API ...")
_COMMON_START = frozenset("the a an this that these those its it their each every no all any some there "
                          "one only another other both either neither such then when if after before once while".split())
_SUBJECT_START = _COMMON_START | {"i", "we", "you", "they", "he", "she", "my", "our", "your"}
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _is_plain_word(word: str) -> bool:
    """'The', 'Send': capitalised only as a sentence start (not 'API', 'KillBill' or 'I')."""
    return len(word) > 1 and word[0].isupper() and word[1:].islower() and word.isalpha()


def clause_text(text: str) -> str:
    """Step text in sentence case after its keyword: 'The API is reachable' -> 'the API is reachable'."""
    line = step_text(text)
    word = line.split(" ", 1)[0]
    return word.lower() + line[len(word):] if _is_plain_word(word) and word.lower() in _COMMON_START else line


def action_text(text: str) -> str:
    """A manual step's imperative as a When sentence: 'Send a GET request' -> 'I send a GET request'."""
    line = clause_text(text)
    words = line.split(" ", 2)
    word = words[0]
    second = words[1] if len(words) > 1 else ""
    if (_is_plain_word(word) and word.lower() not in _SUBJECT_START and word not in _STEP_KEYWORDS
            and not re.fullmatch(r"(?:is|are|was|has|can|does|[a-z]+(?<!s)s)", second)):
        return f"I {word.lower()}{line[len(word):]}"
    return line


def observations(text: str) -> list[str]:
    """An expected result as its observations, one sentence each (one Then, then Ands)."""
    return [clause_text(t) for t in _SENTENCE_BREAK.split(one_line(text)) if t.strip()]


def table_cell(text: str) -> str:
    """Escape a data-table cell as the Gherkin grammar defines: backslash, pipe and newline (any
    line break, so that no Gherkin implementation sees a new line inside a cell)."""
    return _LINE_BREAKS.sub("\\\\n", (text or "").replace("\\", "\\\\").replace("|", "\\|"))


def persona_step(persona: str) -> str:
    """'Contact Centre Agent' -> 'I am a Contact Centre Agent'."""
    text = step_text(persona)
    if not text:
        return ""
    lower = text.lower()
    if lower.startswith(("i am ", "i'm ")):
        return text
    if lower.startswith(("a ", "an ", "the ")):
        return f"I am {text}"
    article = "an" if lower[0] in "aeiou" else "a"
    return f"I am {article} {text}"


def case_tags(case: UATCase) -> list[str]:
    tags = [tag(case.id), *(criterion_tag(c) for c in case.criterion_ids), tag(case.kind), tag(case.priority.lower())]
    if case.confidence == "low":
        tags.append("@low-confidence")
    seen: list[str] = []
    for t in tags:
        if t not in seen:
            seen.append(t)
    return seen


def _step(keyword: str, previous: str | None, text: str) -> tuple[str, str]:
    shown = "And" if previous == keyword else keyword
    return f"{INDENT_STEP}{shown} {one_line(text)}", keyword  # text already without a leading keyword


def _table(rows: list[list[str]]) -> list[str]:
    cells = [[table_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return [INDENT_TABLE + "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]


def outline_examples(case: UATCase, story: Story | None) -> Examples | None:
    """The Examples of the outline criterion this case runs with its placeholders kept, if any."""
    if story is None:
        return None
    texts = [t for s in case.steps for t in (s.action, s.data, s.expected)]
    for c in story.criteria:
        if c.id in case.criterion_ids:
            ex = examples_of(c)
            if ex and any(has_placeholders(t, ex.columns) for t in texts):
                return ex
    return None


def scenario_lines(case: UATCase, examples: Examples | None = None) -> list[str]:
    """The tagged Scenario for one case (a Scenario Outline when it runs over an Examples table)."""
    lines = [INDENT_SCENARIO + " ".join(case_tags(case))]
    keyword = "Scenario Outline" if examples else "Scenario"
    lines.append(f"{INDENT_SCENARIO}{keyword}: {one_line(case.title) or case.id}")
    if case.objective.strip():
        lines.append(f"{INDENT_STEP}{description_line('Objective: ' + case.objective)}")
        lines.append("")
    previous: str | None = None
    givens = [persona_step(case.persona)] if case.persona.strip() else []
    givens += [p for p in case.preconditions if p.strip()]
    written: set[str] = set()

    def add(keyword: str, text: str) -> None:
        nonlocal previous
        key = " ".join(text.lower().split())
        if key and key not in written:  # a step is said once in a scenario
            written.add(key)
            line, previous = _step(keyword, previous, text)
            lines.append(line)

    for text in givens:
        add("Given", clause_text(text))
    if case.test_data and not examples:
        line, previous = _step("Given", previous, "the test data is:")
        lines.append(line)
        rows = [(table_cell(k), table_cell(v)) for k, v in [("Name", "Value"), *case.test_data.items()]]
        width_k = max(len(k) for k, _ in rows)
        width_v = max(len(v) for _, v in rows)
        lines.extend(f"{INDENT_TABLE}| {k.ljust(width_k)} | {v.ljust(width_v)} |" for k, v in rows)
    for step in case.steps:
        action = one_line(step.action)
        data = one_line(step.data)
        if action or data:
            if action and data:
                text = f"{action_text(action)} (data: {data})"
            else:
                text = action_text(action) if action else f"I use the data: {one_line(data)}"
            add("When", text)
        for observed in observations(step.expected):
            add("Then", observed)
    if examples:
        lines += ["", f"{INDENT_STEP}Examples:"]
        lines += _table([examples.columns] + [[row.get(col, "") for col in examples.columns] for row in examples.rows])
    return lines


def _feature(name: str, tags: list[str], description: list[str], cases: list[UATCase], header: str,
             story: Story | None = None) -> str:
    lines = [header, " ".join(tags), f"Feature: {one_line(name)}"]
    for item in description:
        if item.strip():
            extra = " " * (len(item) - len(item.lstrip(" ")))
            lines.append(f"{INDENT_SCENARIO}{extra}{description_line(item)}")
    for case in cases:
        lines.append("")
        lines += scenario_lines(case, outline_examples(case, story))
    return "\n".join(lines) + "\n"


def story_feature(case_set: CaseSet, story: Story, cases: list[UATCase]) -> str:
    """The feature file text for one story's (non end-to-end) cases."""
    description = [f"Story: {story.key}" + (f" ({story.url})" if story.url else ""), f"Epic: {case_set.epic.key}"]
    if story.criteria:
        description.append("Acceptance criteria:")
        for criterion in story.criteria:
            first, *rest = [line for line in criterion.text.splitlines() if line.strip()] or [""]
            description.append(f"{criterion.id}: {first}")
            description += [f"  - {line}" for line in rest]
    return _feature(
        f"{one_line(story.summary) or story.key} [{story.key}]",
        [tag(story.key), tag(case_set.epic.key)],
        description,
        cases,
        _header(case_set),
        story,
    )


def end_to_end_feature(case_set: CaseSet, cases: list[UATCase]) -> str:
    """The epic-level feature file holding end-to-end cases."""
    epic = case_set.epic
    description = [f"Epic: {epic.key}" + (f" ({epic.url})" if epic.url else ""), "End-to-end flows across the epic's stories."]
    description += [f"Flow {f.name}: {' -> '.join(f.story_keys)}" for f in case_set.flows]
    return _feature(
        f"{one_line(epic.summary) or epic.key}: end-to-end [{epic.key}]",
        [tag(epic.key), "@end_to_end"],
        description,
        cases,
        _header(case_set),
    )


def _header(case_set: CaseSet) -> str:
    run = f" run {case_set.run_id}" if case_set.run_id else ""
    return one_line(f"# Generated by casewright ({case_set.generator}{run}) for {case_set.epic.key}; "
                    f"{case_set.generated_at}")


def render_features(case_set: CaseSet) -> dict[str, str]:
    """Relative path -> feature text: '<EPIC>/<STORY>.feature' per story with cases, plus
    '<EPIC>/<EPIC>-end-to-end.feature' when there are end-to-end cases."""
    epic_dir = safe_filename(case_set.epic.key)
    stories = story_index(case_set)
    grouped: dict[str, list[UATCase]] = {}
    e2e: list[UATCase] = []
    for case in case_set.cases:
        if is_end_to_end(case):
            e2e.append(case)
        else:
            grouped.setdefault(case.story_key, []).append(case)
    files: dict[str, str] = {}
    order = [s.key for s in case_set.stories if s.key in grouped] + [k for k in grouped if k not in stories]
    for key in order:
        story = stories.get(key) or Story(key=key, summary=key)
        files[f"{epic_dir}/{safe_filename(key)}.feature"] = story_feature(case_set, story, grouped[key])
    if e2e:
        files[f"{epic_dir}/{epic_dir}-end-to-end.feature"] = end_to_end_feature(case_set, e2e)
    return files


def render_gherkin(case_set: CaseSet) -> str:
    """All feature files of an epic, one after another (a preview; each file parses on its own)."""
    return "\n".join(render_features(case_set).values())
