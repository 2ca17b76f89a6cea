"""The house format of a test case as Jira wiki markup, both ways.

casewright writes cases back to Jira as Test issues with this description, and the team's
approved cases (in the sample project and in real Jira) are read back from it::

    h3. Objective
    <objective>
    h3. Persona
    <persona>
    h3. Preconditions
    * <precondition>
    h3. Test Data
    * <Name>: <value>
    h3. Steps
    ||#||Action||Data||Expected Result||
    |1|<action>|<data>|<expected>|
    h3. Traceability
    * Story: ER-5
    * Criteria: ER-5/AC-1, ER-5/AC-2
    * Kind: positive
    * Sources: <title> (<id>); ...

Inside table cells, list items and section bodies: '|' is written '\\|', a line break '\\\\' (Jira's line
break) and a literal backslash '&#92;'; an empty cell is a single space. ``wiki_to_case``
undoes all of it, so objective, persona, preconditions, test data, steps, story, criteria, kind
and the sources' titles and ids survive a round trip unchanged. Limits: a source's kind and url
are not in the format (the kind is inferred from the id's shape); a title containing
'(...); ' cannot be told apart from two sources; a cell or item whose text holds a literal
'&#92;' (or '&#104;', '&#72;': a leading 'h' of a line that would read as a heading) reads back
as that character.
"""

from __future__ import annotations

import re
from typing import get_args

from agent.models import CaseKind, CaseSet, SourceRef, Step, Story, UATCase
from agent.renderers.common import kind_label
from agent.renderers.limits import fit
from connectors.errors import CasewrightError

_HEADING = re.compile(r"^\s*h3\.\s*(.*?)\s*$", re.IGNORECASE)
_SECTIONS = ("objective", "persona", "preconditions", "test data", "steps", "traceability")
_ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")
_SOURCE = re.compile(r"(.*?) \(([^()]*)\)(?:; |$)")
_KINDS = set(get_args(CaseKind))


class HouseFormatError(CasewrightError, ValueError):
    """A Test issue's description is not in the house format (also a ValueError, for callers
    that skip unreadable cases)."""


_LEADING_HEADING = re.compile(r"^(\s*)([hH])(?=\d\.)")
_ENTITY = re.compile(r"&#(92|104|72);")


def escape_inline(text: str) -> str:
    """Text for one line: a table cell, a list item or a section's body (which must never start
    like a heading: its 'h' is written as an entity)."""
    line = (
        (text or "")
        .replace("\\", "&#92;")
        .replace("|", "\\|")
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\n", "\\\\")
    )
    return _LEADING_HEADING.sub(lambda m: f"{m.group(1)}&#{ord(m.group(2))};", line)


def unescape_inline(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair == "\\\\":
            out.append("\n")
            i += 2
        elif pair == "\\|":
            out.append("|")
            i += 2
        else:
            out.append(text[i])
            i += 1
    return _ENTITY.sub(lambda m: chr(int(m.group(1))), "".join(out))


def split_row(line: str) -> list[str]:
    """The raw (still escaped) cells of a table row '|a|b\\|c|'."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    cells: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(body):
        pair = body[i : i + 2]
        if pair in ("\\\\", "\\|"):
            current.append(pair)
            i += 2
        elif body[i] == "|":
            cells.append("".join(current))
            current = []
            i += 1
        else:
            current.append(body[i])
            i += 1
    if current and "".join(current).strip():
        cells.append("".join(current))
    return cells


def _cell(text: str) -> str:
    return escape_inline(text) or " "


def case_to_wiki(case: UATCase) -> str:
    """A case's description in the house format, within Jira's field limit (agent/renderers/limits.py:
    fields too long are cut with a marker, the sections and traceability stay whole)."""
    return fit(lambda cut: _wiki(case, cut))


def wiki_length(case: UATCase) -> int:
    """How long the house-format description would be uncut."""
    return len(_wiki(case, lambda value: value))


def _wiki(case: UATCase, cut) -> str:  # noqa: ANN001 (cut: str -> str)
    lines = ["h3. Objective", escape_inline(cut(case.objective)), "h3. Persona", escape_inline(cut(case.persona)),
             "h3. Preconditions"]
    lines += [f"* {escape_inline(cut(p))}" for p in case.preconditions]
    lines.append("h3. Test Data")
    lines += [f"* {escape_inline(cut(k))}: {escape_inline(cut(v))}" for k, v in case.test_data.items()]
    lines += ["h3. Steps", "||#||Action||Data||Expected Result||"]
    lines += [f"|{i}|{_cell(cut(s.action))}|{_cell(cut(s.data))}|{_cell(cut(s.expected))}|"
              for i, s in enumerate(case.steps, 1)]
    lines += [
        "h3. Traceability",
        f"* Story: {case.story_key}",
        f"* Criteria: {', '.join(case.criterion_ids)}".rstrip(),
        f"* Kind: {case.kind}",
    ]
    if case.sources:
        lines.append("* Sources: " + "; ".join(f"{' '.join(s.title.split())} ({s.id})" for s in case.sources))
    return "\n".join(lines)


def _source_kind(source_id: str) -> str:
    if "/AC-" in source_id:
        return "criterion"
    if _ISSUE_KEY.match(source_id):
        return "story"
    if "#" in source_id:
        return "page_section"
    return "page"


def parse_sources(text: str) -> list[SourceRef]:
    """'Title (id); Other (id2)' -> SourceRefs (kind inferred from the id's shape)."""
    sources: list[SourceRef] = []
    pos = 0
    while pos < len(text):
        match = _SOURCE.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"cannot read sources at {text[pos:pos + 40]!r}; write them as 'Title (id); Title (id)'")
        title, source_id = match.group(1), match.group(2)
        sources.append(SourceRef(kind=_source_kind(source_id), id=source_id, title=title))
        pos = match.end()
    return sources


def _kind(value: str, key: str) -> str:
    kind = value.strip().lower().replace("-", "_").replace(" ", "_")
    if kind not in _KINDS:
        raise HouseFormatError(
            f"test case {key}: unknown kind {value!r} under Traceability; use one of {', '.join(sorted(_KINDS))}"
        )
    return kind


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        heading = _HEADING.match(raw)
        if heading:
            current = heading.group(1).lower()
            sections.setdefault(current, [])
            continue
        if current is not None:
            sections[current].append(raw.rstrip())
    return sections


def _bullets(lines: list[str]) -> list[str]:
    items = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith("* ") or stripped == "*":
            items.append(stripped[2:])
    return items


def _steps(lines: list[str], key: str) -> list[Step]:
    steps = []
    for line in lines:
        stripped = line.strip()
        if not stripped.startswith("|") or stripped.startswith("||"):
            continue
        cells = [unescape_inline(c).strip() for c in split_row(stripped)]
        if len(cells) == 4:
            cells = cells[1:]
        if len(cells) != 3:
            raise HouseFormatError(
                f"test case {key}: a steps row has {len(cells)} cells, expected '|#|Action|Data|Expected Result|': {stripped[:80]!r}"
            )
        steps.append(Step(action=cells[0], data=cells[1], expected=cells[2]))
    return steps


def wiki_to_case(text: str, *, key: str, summary: str, priority: str = "Medium", labels: list[str] | None = None) -> UATCase:
    """Read a Test issue's house-format description back into a UATCase.

    Raises HouseFormatError (a CasewrightError and a ValueError) when the text is not in the
    house format. A missing '* Story:' line gives an empty story_key for the caller to fill from
    the issue's link."""
    sections = _sections(text or "")
    missing = [s for s in ("steps", "traceability") if s not in sections]
    if missing:
        raise HouseFormatError(
            f"test case {key}: its description lacks the section(s) {', '.join('h3. ' + m.title() for m in missing)}; "
            "approved cases must use the house format (see docs/outputs.md, 'The house format in Jira')"
        )
    trace: dict[str, str] = {}
    for item in _bullets(sections["traceability"]):
        name, _, value = item.partition(":")
        trace[name.strip().lower()] = value[1:] if value.startswith(" ") else value
    story_key = trace.get("story", "").strip()  # may be empty: the caller knows the linked story
    steps = _steps(sections["steps"], key)
    if not steps:
        raise HouseFormatError(f"test case {key}: the h3. Steps table has no rows; add at least one step")
    test_data: dict[str, str] = {}
    for item in _bullets(sections.get("test data", [])):
        name, sep, value = item.partition(": ")
        if not sep:
            name, _, value = item.partition(":")
        test_data[unescape_inline(name).strip()] = unescape_inline(value)
    try:
        sources = parse_sources(trace.get("sources", ""))
    except ValueError as exc:
        raise HouseFormatError(f"test case {key}: {exc}") from None
    extra = [f"{name.title()}: " + "\n".join(body).strip() for name, body in sections.items() if name not in _SECTIONS]
    labels = list(labels or [])
    return UATCase(
        id=key,
        title=summary,
        objective=unescape_inline("\n".join(sections.get("objective", [])).strip()),
        persona=unescape_inline("\n".join(sections.get("persona", [])).strip()),
        preconditions=[unescape_inline(p) for p in _bullets(sections.get("preconditions", []))],
        test_data=test_data,
        steps=steps,
        priority=priority,
        kind=_kind(trace.get("kind", "positive"), key),
        story_key=story_key,
        criterion_ids=[c.strip() for c in trace.get("criteria", "").split(",") if c.strip()],
        sources=sources,
        labels=labels,
        confidence="low" if "low-confidence" in labels else "high",
        notes="\n".join(extra),
    )


def comment_for_story(story: Story, cases: list[UATCase]) -> str:
    """One wiki comment summarising the cases written for a story ('comment' write-back mode)."""
    verified = {cid for c in cases for cid in c.criterion_ids}
    covered = [c for c in story.criteria if c.id in verified]
    lines = [f"h3. casewright: {len(cases)} UAT test case{'s' if len(cases) != 1 else ''} for {story.key}"]
    if story.criteria:
        lines.append(f"Coverage: {len(covered)} of {len(story.criteria)} acceptance criteria verified.")
    else:
        lines.append("(!) This story has no acceptance criteria; the cases below are low confidence.")
    if cases:
        lines.append("||Case||Title||Kind||Priority||Criteria||Confidence||")
        for c in cases:
            cells = [c.id, " ".join(c.title.split()), kind_label(c.kind), c.priority, ", ".join(c.criterion_ids), c.confidence]
            lines.append("|" + "|".join(_cell(x) for x in cells) + "|")
    missing = [c.id for c in story.criteria if c.id not in verified]
    if missing:
        lines.append(f"*Not yet verified:* {', '.join(missing)}")
    low = [c.id for c in cases if c.confidence == "low"]
    if low:
        lines.append(f"(!) Low confidence, review before use: {', '.join(low)}")
    return "\n".join(lines)


def epic_summary(case_set: CaseSet, *, written_as: str, per_story: bool, conflicts: list[str],
                 retired: list[str], retire_label: str, retired_how: str | None = None,
                 edited_in: str = "Jira") -> str:
    """The epic's summary comment: the state of things (cases, coverage, conflicts, retired cases
    and how they are marked: `retired_how`, else the label), so an unchanged rerun gives the same text. It names no local path or option of the
    run: two runs with different output folders give the same comment."""
    cs = case_set
    lines = [f"h3. casewright: UAT cases for {cs.epic.key}",
             f"{len(cs.cases)} cases for {len(cs.stories)} stories, written as {written_as}.",
             f"Coverage: {sum(1 for c in cs.coverage if c.covered)} of {len(cs.coverage)} acceptance criteria "
             f"verified ({cs.coverage_ratio * 100:.0f}%)."]
    if per_story:
        lines.append("||Story||Cases||")
        lines += [f"|{story.key}|{len(cs.cases_for(story.key))}|" for story in cs.stories]
    if conflicts:
        lines.append(f"(!) {len(conflicts)} case(s) were edited in {edited_in} and left alone: "
                     + ", ".join(sorted(conflicts)))
    if retired:
        lines.append(f"{len(retired)} case(s) no longer verify a current criterion and are retired "
                     f"({escape_inline(retired_how) if retired_how else 'label ' + retire_label}): "
                     + ", ".join(sorted(retired, key=_key_order)))
    errors = [f for f in cs.findings if f.severity == "error"]
    warnings = [f for f in cs.findings if f.severity == "warning"]
    lines.append(f"Findings: {len(errors)} errors, {len(warnings)} warnings, "
                 f"{len(cs.findings) - len(errors) - len(warnings)} notes.")
    lines += [f"* {f.story_key or cs.epic.key}: {escape_inline(' '.join(f.message.split()))}" for f in (errors + warnings)[:10]]
    return "\n".join(lines)


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return (project, int(number)) if number.isdigit() else (key, 0)


def _quoted(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return escape_inline(flat if len(flat) <= limit else flat[: limit - 3] + "...")


def retire_comment(story_key: str, reason: str, *, gone: tuple[str, ...] = (), label: str,
                   status: str | None = None) -> str:
    """The comment on a case issue casewright retires: why, and that the issue and its link stay."""
    story_key = _quoted(story_key, 40)
    lines = ["h3. casewright retired this test case",
             f"It no longer verifies a current acceptance criterion of {story_key}: {reason}."]
    lines += [f"* No longer in {story_key}: {_quoted(text)}" for text in gone]
    marked = f"label {label}" + (f" and status {status}" if status else "")
    lines.append(f"The issue and its link to {story_key} are kept for history ({marked}). "
                 "If the criterion comes back, casewright restores this case.")
    return "\n".join(lines)


def revive_comment(story_key: str) -> str:
    """The comment on a retired case issue casewright brings back."""
    return ("h3. casewright restored this test case\n"
            f"Its acceptance criterion is back in {_quoted(story_key, 40)}; the case is current again.")
