"""The Markdown report: one per epic, written for the QA lead who signs the cases off."""

from __future__ import annotations

from collections import Counter

from agent.models import CaseSet, Story, UATCase
from agent.renderers.common import (
    SEVERITY_ORDER,
    cases_verifying,
    is_end_to_end,
    kind_label,
    story_index,
)

LOW_CONFIDENCE_MARK = "⚠️ low confidence"
_SEVERITY_TITLES = {"error": "Errors", "warning": "Warnings", "info": "Information"}


def cell(text: object) -> str:
    """Text made safe for one Markdown table cell: pipes escaped, line breaks as <br>."""
    value = "" if text is None else str(text)
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    value = "<br>".join(part.strip() for part in value.replace("\r\n", "\n").split("\n"))
    return value.strip()


def _row(*cells: object) -> str:
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = [_row(*header), "|" + "|".join("---" for _ in header) + "|"]
    lines.extend(_row(*r) for r in rows)
    return lines


def _confidence(case: UATCase) -> str:
    return f"{case.confidence} {LOW_CONFIDENCE_MARK}" if case.confidence == "low" else case.confidence


def _case_heading(case: UATCase, level: int) -> str:
    mark = f" — {LOW_CONFIDENCE_MARK}" if case.confidence == "low" else ""
    return f"{'#' * level} {case.id}: {' '.join(case.title.split())}{mark}"


def _case_full(case: UATCase, level: int = 5) -> list[str]:
    out = [_case_heading(case, level), ""]
    if case.confidence == "low":
        out += ["> **Low confidence:** review this case against the requirement before use."
                + (f" {' '.join(case.notes.split())}" if case.notes else ""), ""]
    out += [
        f"- **Kind:** {kind_label(case.kind)} · **Priority:** {case.priority} · **Confidence:** {_confidence(case)}",
        f"- **Story:** {case.story_key} · **Criteria:** {', '.join(case.criterion_ids) or '—'}",
        f"- **Objective:** {' '.join(case.objective.split())}",
        f"- **Persona:** {' '.join(case.persona.split())}",
    ]
    if case.notes and case.confidence != "low":
        out.append(f"- **Notes:** {' '.join(case.notes.split())}")
    out.append("")
    out.append("**Preconditions**")
    out.append("")
    out += [f"- {' '.join(p.split())}" for p in case.preconditions] or ["_None_"]
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
            title = " ".join((src.title or src.id).split())
            link = f"[{title}]({src.url})" if src.url else title
            out.append(f"- {link} ({src.kind} `{src.id}`)")
        out.append("")
    if case.labels:
        out += ["**Labels:** " + ", ".join(f"`{label}`" for label in case.labels), ""]
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
    title = " ".join(story.summary.split())
    head = f"### {story.key}: {title}"
    out = [head, ""]
    meta = [f"**Status:** {story.status}" if story.status else "", f"**Priority:** {story.priority}" if story.priority else ""]
    meta = [m for m in meta if m]
    if story.url:
        meta.append(f"[Open in Jira]({story.url})")
    if meta:
        out += [" · ".join(meta), ""]
    out += ["#### Acceptance criteria", ""]
    if not story.criteria:
        out += ["_No acceptance criteria were found for this story._", ""]
    for criterion in story.criteria:
        flag = " _(vague)_" if criterion.vague else ""
        lines = [" ".join(line.split()) for line in criterion.text.splitlines() if line.strip()]
        out.append(f"- **{criterion.id}**{flag}: {'<br>'.join(lines)}")
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
    out = [f"# UAT cases: {epic.key} {' '.join(epic.summary.split())}", ""]
    facts = [
        f"- **Epic:** [{epic.key}]({epic.url})" if epic.url else f"- **Epic:** {epic.key}",
        f"- **Run:** `{case_set.run_id or '—'}`",
        f"- **Generator:** {case_set.generator}",
    ]
    if case_set.template:
        facts.append(f"- **Template:** {case_set.template}")
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
            out.append(f"- **{' '.join(flow.name.split())}:** {' → '.join(flow.story_keys)}"
                       + (f" — {' '.join(flow.rationale.split())}" if flow.rationale else ""))
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

    out += ["## Findings", ""]
    if not case_set.findings:
        out += ["No findings.", ""]
    for severity in SEVERITY_ORDER:
        found = [f for f in case_set.findings if f.severity == severity]
        if not found:
            continue
        out += [f"### {_SEVERITY_TITLES[severity]} ({len(found)})", ""]
        for f in found:
            where = ", ".join(x for x in (f.story_key, f.criterion_id, f.case_id) if x)
            out.append(f"- `{f.code}`{f' ({where})' if where else ''}: {' '.join(f.message.split())}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
