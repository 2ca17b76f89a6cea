"""What the review pages show, read from the run records and checkpoints (agent/runner.py): the
runs, and one run's stories, criteria, cases, findings, coverage and write-back plan.

The plan is the write-back's own dry-run planning (`WriteBack.plan`, as the write_back node
builds it) against live Jira; for each update it shows the difference between the issue's
summary and description in Jira now and what write-back would write. Whatever actions the plan
gives are shown."""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from agent.configuration import Configuration
from agent.context import RunContext, Services
from agent.models import CaseSet, UATCase
from agent.nodes.write_back import write_back_for
from agent.renderers.common import SEVERITY_ORDER, cases_verifying, kind_label, one_line
from agent.renderers.jira_wiki import case_to_wiki
from agent.runner import run_snapshot
from agent.runs import figures, list_runs
from agent.state import case_set
from agent.writeback.jira import WriteBack
from connectors.atlassian_http import AtlassianError
from connectors.errors import CasewrightError
from connectors.jira_keys import is_issue_key

WAITING = "waiting-approval"


def safe_href(url: Any) -> str | None:
    """A link target only when it is an http(s) URL (a `javascript:` URL from Jira is shown as text)."""
    if not isinstance(url, str):
        return None
    try:
        parsed = urlparse(url.strip())
    except ValueError:
        return None
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else None


def anchor(value: str) -> str:
    return "case-" + re.sub(r"[^A-Za-z0-9_-]+", "-", value or "").strip("-")


def runs_page(data_dir: str, limit: int = 50) -> dict[str, Any]:
    records = list_runs(data_dir)
    return {"waiting": [r for r in records if r.get("status") == WAITING],
            "recent": [r for r in records if r.get("status") != WAITING][:limit]}


@dataclass
class CriterionView:
    criterion: Any
    cases: list[tuple[UATCase, bool]]  # (case, shown in full here: its first criterion on the page)


@dataclass
class StoryView:
    story: Any
    criteria: list[CriterionView]
    other_cases: list[UATCase]  # the story's cases traced to none of its criteria


@dataclass
class PlanView:
    mode: str
    items: list[dict[str, Any]] = field(default_factory=list)
    counts: list[tuple[str, int]] = field(default_factory=list)
    comments: list[Any] = field(default_factory=list)
    summary: Any = None
    others: list[tuple[str, list[str]]] = field(default_factory=list)
    error: str | None = None


def run_page(settings: Any, services: Services, run_id: str) -> dict[str, Any]:
    record, values, version = run_snapshot(settings.data_dir, run_id)
    cfg = Configuration.from_record(record.get("config") or {}, data_dir=str(settings.data_dir), fail_at=None)
    ctx = RunContext(cfg, services)
    page: dict[str, Any] = {"record": record, "version": version, "config": cfg, "case_set": None,
                            "stories": [], "journeys": [], "plan": None, "levels": ctx.template.priorities.levels,
                            "max_steps": ctx.template.steps.max, "jira_url": _jira_url(services)}
    if not values.get("epic") or not values.get("stories"):
        return page  # no state saved (yet): the record is all there is
    cs = case_set(values, cfg, ctx.template.name)
    page["case_set"] = cs
    page["stories"], page["journeys"] = _stories(cs)
    page["findings"] = sorted(cs.findings, key=lambda f: (SEVERITY_ORDER.index(f.severity)
                                                          if f.severity in SEVERITY_ORDER else 9, f.story_key or ""))
    page["coverage"] = cs.coverage_table()
    if record.get("status") == WAITING:
        page["plan"] = plan_view(ctx, cs, run_id)
    return page


def _stories(cs: CaseSet) -> tuple[list[StoryView], list[UATCase]]:
    shown: set[str] = set()
    views = []
    for story in cs.stories:
        crit_views = []
        own = {c.id for c in story.criteria}
        for criterion in story.criteria:
            rows = []
            for case in cases_verifying(cs, criterion.id):
                rows.append((case, case.id not in shown))
                shown.add(case.id)
            crit_views.append(CriterionView(criterion, rows))
        others = [c for c in cs.cases_for(story.key) if c.id not in shown and not own & set(c.criterion_ids)]
        shown.update(c.id for c in others)
        views.append(StoryView(story, crit_views, others))
    return views, [c for c in cs.cases if c.id not in shown]


def _jira_url(services: Services) -> str | None:
    return safe_href(services.jira.url.rstrip("/")) if services.jira is not None else None


def plan_view(ctx: RunContext, cs: CaseSet, run_id: str) -> PlanView:
    """The write-back plan of a run waiting for approval, with the diffs of its updates."""
    view = PlanView(mode=ctx.config.write_back)
    if ctx.config.write_back == "none":
        return view
    try:
        wb = write_back_for(ctx, cs.epic.key, run_id)
        plan = wb.plan(cs)
    except (CasewrightError, AtlassianError) as exc:
        view.error = f"cannot plan the write-back: {one_line(str(exc))}"
        return view
    cases = {c.id: c for c in cs.cases}
    for item in plan.items:
        case = cases.get(item.case_id)
        row = {"item": item, "case": case, "diff": None}
        if item.action == "update" and case is not None and item.target and is_issue_key(item.target) \
                and isinstance(wb, WriteBack):  # a Jira issue in the house wiki format (not a tool's test)
            row["diff"] = _diff(wb.writer, item.target, case)
        view.items.append(row)
    view.counts = list(Counter(i.action for i in plan.items).items())
    view.comments = list(plan.comments)
    view.summary = plan.summary
    for f in dataclasses.fields(plan):  # any list of issue keys the planner reports (obsolete, duplicates, ...)
        keys = getattr(plan, f.name)
        if f.name not in ("items", "comments") and isinstance(keys, list) and keys \
                and all(isinstance(k, str) for k in keys):
            view.others.append((f.name, keys))
    return view


def _diff(writer: Any, key: str, case: UATCase) -> list[tuple[str, str]] | str:
    """The issue in Jira now against what write-back would write, as (kind, line) pairs."""
    try:
        fields = (writer.get_issue(key, fields="summary,description") or {}).get("fields") or {}
    except (CasewrightError, AtlassianError) as exc:
        return f"cannot read {key}: {one_line(str(exc))}"
    desc = fields.get("description")
    now = [f"Summary: {one_line(str(fields.get('summary') or ''))}", *_lines(desc)]
    wanted = [f"Summary: {one_line(case.title)}", *case_to_wiki(case).splitlines()]
    out = []
    for line in difflib.unified_diff(now, wanted, "in Jira now", "after write-back", lineterm="", n=2):
        kind = ("head" if line.startswith(("---", "+++", "@@")) else
                "add" if line.startswith("+") else "del" if line.startswith("-") else "same")
        out.append((kind, line))
    return out


def _lines(description: Any) -> list[str]:
    if isinstance(description, str):
        return description.replace("\r\n", "\n").split("\n")
    if description is None:
        return []
    return json.dumps(description, indent=1, ensure_ascii=False).splitlines()


FILTERS = {"href": safe_href, "anchor": anchor, "kind_label": kind_label, "one_line": one_line, "figures": figures}
