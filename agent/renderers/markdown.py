"""The Markdown report: one per epic, written for the QA lead who signs the cases off."""

from __future__ import annotations

import html
import re
from collections import Counter
from urllib.parse import quote, urlsplit

from agent.models import CaseSet, Story, UATCase
from agent.renderers.common import (
    SEVERITY_ORDER,
    cases_verifying,
    is_end_to_end,
    kind_label,
    one_line,
    story_index,
)
from agent.renderers.traceability import traceability_section

LOW_CONFIDENCE_MARK = "⚠️ low confidence"
_SEVERITY_TITLES = {"error": "Errors", "warning": "Warnings", "info": "Information"}


_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]|])")
_BLOCK_START = re.compile(r"^(?:[-+>#=~]|\d+(?=[.)]))")  # would open a list, quote, heading or fence
_CLOSING_HASHES = re.compile(r"(?<=\s)#+$")  # would close an ATX heading


def text(value: object) -> str:
    """Text from Jira, Confluence or a model as inline Markdown that shows literally: on one line,
    HTML-significant characters as entities (no live tags), and the characters of emphasis, code
    spans, links, images and table cells backslash-escaped."""
    line = _MARKDOWN_SYNTAX.sub(r"\\\1", html.escape(one_line("" if value is None else str(value)), quote=False))
    line = _CLOSING_HASHES.sub(lambda m: "\\" + m.group(), line)
    return _BLOCK_START.sub(lambda m: m.group() + "\\" if m.group()[0].isdigit() else "\\" + m.group(), line)


def lines_text(value: object) -> str:
    """Like `text`, keeping the line breaks as <br> (for a table cell or a list item)."""
    parts = ("" if value is None else str(value)).replace("\r\n", "\n").splitlines()
    return "<br>".join(t for t in (text(part) for part in parts) if t)


def code(value: object) -> str:
    """A short identifier as a code span (backticks cannot occur inside it)."""
    return f"`{one_line(str(value or '')).replace('`', chr(39))}`"


def link(label: object, url: str | None) -> str:
    """A Markdown link when `url` is http(s), else just the label; the target is percent-encoded
    so that no character of it can end the link."""
    try:
        parts = urlsplit(url or "")
    except ValueError:  # e.g. an unbalanced '[' in the host
        return text(label)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return text(label)
    return f"[{text(label)}]({quote(url or '', safe=':/?#@!$&*+,;=%')})"


def cell(value: object) -> str:
    """Text made safe for one Markdown table cell (`lines_text`: escaped, line breaks as <br>)."""
    return lines_text(value)


def _row(*cells: object) -> str:
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]  # our own headers
    lines.extend(_row(*r) for r in rows)
    return lines


def _confidence(case: UATCase) -> str:
    return f"{case.confidence} {LOW_CONFIDENCE_MARK}" if case.confidence == "low" else case.confidence


def _case_heading(case: UATCase, level: int) -> str:
    mark = f" — {LOW_CONFIDENCE_MARK}" if case.confidence == "low" else ""
    return f"{'#' * level} {text(case.id)}: {text(case.title)}{mark}"


def _case_full(case: UATCase, level: int = 5) -> list[str]:
    out = [_case_heading(case, level), ""]
    if case.confidence == "low":
        out += ["> **Low confidence:** review this case against the requirement before use."
                + (f" {text(case.notes)}" if case.notes else ""), ""]
    out += [
        f"- **Kind:** {kind_label(case.kind)} · **Priority:** {text(case.priority)} · **Confidence:** "
        f"{_confidence(case)}",
        f"- **Story:** {text(case.story_key)} · **Criteria:** {text(', '.join(case.criterion_ids)) or '—'}",
        f"- **Objective:** {text(case.objective)}",
        f"- **Persona:** {text(case.persona)}",
    ]
    if case.notes and case.confidence != "low":
        out.append(f"- **Notes:** {text(case.notes)}")
    out.append("")
    out.append("**Preconditions**")
    out.append("")
    out += [f"- {text(p)}" for p in case.preconditions] or ["_None_"]
    out.append("")
    if case.test_data:
        out += ["**Test data**", ""]
        out += _table(["Name", "Value"], [[k, v] for k, v in case.test_data.items()])
        out.append("")
    out += ["**Steps**", ""]
    out += _table(
        ["#", "Action", "Data", "Expected Result"],
        [[i, s.action, s.data, s.expected] for i, s in enumerate(case.steps, 1)],
    )
    out.append("")
    if case.sources:
        out += ["**Sources used**", ""]
        for src in case.sources:
            out.append(f"- {link(src.title or src.id, src.url)} ({text(src.kind)} {code(src.id)})")
        out.append("")
    if case.labels:
        out += ["**Labels:** " + ", ".join(code(label) for label in case.labels), ""]
    return out


def _summary(case_set: CaseSet) -> list[str]:
    severities = Counter(f.severity for f in case_set.findings)
    kinds = Counter(c.kind for c in case_set.cases)
    entries = case_set.coverage_table()
    covered = sum(1 for e in entries if e.covered)
    rows: list[list[object]] = [
        ["Stories", len(case_set.stories)],
        ["Acceptance criteria", len(case_set.criteria)],
        ["Test cases", len(case_set.cases)],
    ]
    rows += [[f"· {kind_label(k)}", kinds[k]] for k in ("positive", "negative", "boundary", "end_to_end") if kinds[k]]
    low = sum(1 for c in case_set.cases if c.confidence == "low")
    rows += [
        ["Low-confidence cases", low],
        ["Coverage", f"{case_set.coverage_ratio * 100:.0f}% ({covered} of {len(entries)} criteria)"],
    ]
    rows += [[f"Findings: {s}", severities[s]] for s in SEVERITY_ORDER]
    rows += _model_usage_rows(case_set.stats or {})
    return _table(["Measure", "Value"], rows)


def _model_usage_rows(stats: dict) -> list[list[object]]:
    """Language-model calls and tokens per node, revise rounds and the cost estimate (agent/llm/usage.py)."""
    if not stats.get("llm_calls"):
        return []
    rows: list[list[object]] = [
        ["Model calls", f"{stats['llm_calls']} ({stats.get('llm_repairs', 0)} repairs, "
                        f"{stats.get('llm_fallbacks', 0)} fallbacks to rules)"],
        ["Tokens in / out", f"{stats.get('input_tokens', 0)} / {stats.get('output_tokens', 0)}"],
    ]
    for key in sorted(k for k in stats if k.endswith("_calls") and k != "llm_calls"):
        node = key[: -len("_calls")]
        cost = stats.get(f"{node}_cost_usd")
        if cost is None:
            rows.append([f"· {node}: calls / tokens", f"{stats[key]} / {stats.get(node + '_tokens', 0)}"])
        else:
            rows.append([f"· {node}: calls / tokens / cost",
                         f"{stats[key]} / {stats.get(node + '_tokens', 0)} / ${float(cost):.4f}"])
    if stats.get("revise_rounds"):
        rows.append(["Revise rounds", stats["revise_rounds"]])
    if "cost_usd" in stats:
        rows.append(["Estimated cost", f"${float(stats['cost_usd']):.4f}"])
    return rows


def _story_section(case_set: CaseSet, story: Story) -> list[str]:
    out = [f"### {text(story.key)}: {text(story.summary)}", ""]
    meta = [f"**Status:** {text(story.status)}" if story.status else "",
            f"**Priority:** {text(story.priority)}" if story.priority else ""]
    meta = [m for m in meta if m]
    if story.url and link("Open in Jira", story.url) != "Open in Jira":
        meta.append(link("Open in Jira", story.url))
    if meta:
        out += [" · ".join(meta), ""]
    out += ["#### Acceptance criteria", ""]
    if not story.criteria:
        out += ["_No acceptance criteria were found for this story._", ""]
    for criterion in story.criteria:
        flag = " _(vague)_" if criterion.vague else ""
        out.append(f"- **{text(criterion.id)}**{flag}: {lines_text(criterion.text)}")
    out.append("")
    if story.criteria:
        out += ["#### Cases per criterion", ""]
        rows: list[list[object]] = []
        for criterion in story.criteria:
            verifying = cases_verifying(case_set, criterion.id)
            if not verifying:
                rows.append([criterion.id, "✗ not covered", "", "", "", ""])
            for case in verifying:
                rows.append([criterion.id, case.id, case.title, kind_label(case.kind), case.priority, _confidence(case)])
        out += _table(["Criterion", "Case", "Title", "Kind", "Priority", "Confidence"], rows)
        out.append("")
    cases = [c for c in case_set.cases_for(story.key) if not is_end_to_end(c)]
    if cases:
        out += [f"#### Cases ({len(cases)})", ""]
        for case in cases:
            out += _case_full(case)
    return out


def render_markdown(case_set: CaseSet) -> str:
    """The whole report for one epic."""
    epic = case_set.epic
    out = [f"# UAT cases: {text(epic.key)} {text(epic.summary)}", ""]
    facts = [
        f"- **Epic:** {link(epic.key, epic.url)}",
        f"- **Run:** {code(case_set.run_id or '—')}",
        f"- **Generator:** {text(case_set.generator)}",
    ]
    if case_set.template:
        facts.append(f"- **Template:** {text(case_set.template)}")
    facts.append(f"- **Generated:** {case_set.generated_at}")
    out += facts + ["", "## Summary", ""] + _summary(case_set) + [""]

    out += ["## Stories", ""]
    known = story_index(case_set)
    for story in case_set.stories:
        out += _story_section(case_set, story)
    orphans = [c for c in case_set.cases if c.story_key not in known and not is_end_to_end(c)]
    if orphans:
        out += ["### Cases for issues outside this epic's stories", ""]
        for case in orphans:
            out += _case_full(case, 4)

    e2e = [c for c in case_set.cases if is_end_to_end(c)]
    if case_set.flows or e2e:
        out += ["## End-to-end flows", ""]
        for flow in case_set.flows:
            out.append(f"- **{text(flow.name)}:** {text(' → '.join(flow.story_keys))}"
                       + (f" — {text(flow.rationale)}" if flow.rationale else ""))
            out += [f"  - {text(link.statement)}" for link in flow.links]
        if case_set.flows:
            out.append("")
        if e2e:
            out += [f"### End-to-end cases ({len(e2e)})", ""]
        for case in e2e:
            out += _case_full(case, 4)

    out += ["## Coverage", ""]
    out += _table(
        ["Criterion", "Story", "Cases", "Covered"],
        [[e.criterion_id, e.story_key, ", ".join(e.case_ids) or "—", "✓" if e.covered else "✗"] for e in case_set.coverage_table()],
    )
    out.append("")
    out += traceability_section(case_set, cell, _table)

    out += ["## Findings", ""]
    if not case_set.findings:
        out += ["No findings.", ""]
    for severity in SEVERITY_ORDER:
        found = [f for f in case_set.findings if f.severity == severity]
        if not found:
            continue
        out += [f"### {_SEVERITY_TITLES[severity]} ({len(found)})", ""]
        for f in found:
            where = text(", ".join(x for x in (f.story_key, f.criterion_id, f.case_id) if x))
            out.append(f"- {code(f.code)}{f' ({where})' if where else ''}: {text(f.message)}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
