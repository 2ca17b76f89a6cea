"""The write-back plan: what to do with each case, story comment and the epic summary, decided before
anything is written.

Planning reads every casewright issue of the stories' projects in one search, checks the test
issue type exists (before any write), and matches cases to issues one-to-one: same fingerprint
first, then the case-id label for cases whose content changed (agent/writeback/identity.py). A
matched issue keeps its summary and id label until its content changes; a new case whose id label
another issue holds gets ``casewright-case-<id>-<fingerprint[:8]>``. Each case:

- create: no issue matched;
- unchanged: the issue still holds what casewright wrote and the case did not change;
- update: the case changed and the issue still holds what casewright wrote;
- conflict: a person edited the issue's summary or description since casewright wrote it (its
  hash differs from ``content_hash_at_write``): it is left alone and reported. Also a conflict: the
  issue's type does not fit the mode (a Sub-task when writing ``issues``, say): it is reported,
  neither adopted nor duplicated; delete it or rerun with the old mode.

Story comments and the epic summary are found by their property, else their marker line, and
follow the same rules, so reruns update them in place instead of adding new ones. What an
interrupted run left undone on a matched issue (its property, link or labels) is planned as a repair.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from agent.configuration import WRITE_BACK_MODES
from agent.models import CaseSet, Story, UATCase
from agent.renderers.jira_wiki import case_to_wiki, comment_for_story
from agent.writeback.identity import (
    CASE_PROPERTY,
    COMMENT_PROPERTY,
    LABEL,
    SUMMARY_PROPERTY,
    case_label,
    content_hash,
    fingerprint,
    marker,
    masked_hash,
)
from connectors.errors import CasewrightError
from connectors.jira_writer import JiraWriter

ACTIONS = ("create", "update", "unchanged", "conflict")
_ISSUE_FIELDS = "summary,description,labels,issuelinks,parent,issuetype,project"


def _summary_line(title: str) -> str:
    line = " ".join(title.split())
    return line if len(line) <= 255 else line[:252] + "..."


@dataclass
class PlanItem:
    case_id: str
    story_key: str
    action: str                      # create | update | unchanged | conflict
    target: str | None = None        # issue key (issues/subtasks) or comment id (comment)
    reason: str = ""
    repairs: list[str] = field(default_factory=list)  # e.g. ["link", "property"] for an unchanged case


@dataclass
class CommentPlan:
    issue_key: str
    action: str
    comment_id: str | None = None
    reason: str = ""
    body: str = ""
    repairs: list[str] = field(default_factory=list)


@dataclass
class WriteBackPlan:
    mode: str
    epic_key: str
    items: list[PlanItem] = field(default_factory=list)
    comments: list[CommentPlan] = field(default_factory=list)   # comment mode: one per story
    summary: CommentPlan | None = None
    obsolete: list[str] = field(default_factory=list)           # casewright issues whose case is gone
    duplicates: list[str] = field(default_factory=list)         # extra issues carrying one case's label

    def counts(self) -> dict[str, int]:
        return {a: sum(1 for i in self.items if i.action == a) for a in ACTIONS}

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for c in out["comments"]:
            c.pop("body", None)
        if out["summary"]:
            out["summary"].pop("body", None)
        out["counts"] = self.counts()
        return out


class WriteBackPlanner:
    """Plans a write-back for a case set: the mode, the types and link it writes with, and what
    planning found (the issue matched to each case, the label each create carries)."""

    def __init__(self, writer: JiraWriter, *, mode: str, test_issue_type: str = "Test", link_type: str = "Tests",
                 subtask_type: str = "Sub-task", run_id: str = "", report_path: str | None = None) -> None:
        if mode not in WRITE_BACK_MODES:
            raise CasewrightError(f"unknown write-back mode '{mode}'; choose from {', '.join(WRITE_BACK_MODES)}")
        self.writer = writer
        self.mode = mode
        self.test_issue_type = test_issue_type
        self.link_type = link_type
        self.subtask_type = subtask_type
        self.run_id = run_id
        self.report_path = report_path
        self._existing: dict[str, dict[str, Any]] = {}   # case id -> the issue matched to it
        self._create_label: dict[str, str] = {}          # case id -> the id label its create carries
        self._texts: dict[str, str] = {}                 # criterion id -> text (for fingerprints)

    # -- planning -----------------------------------------------------------------------------------
    def _projects(self, case_set: CaseSet) -> list[str]:
        keys = [s.key for s in case_set.stories] + [case_set.epic.key]
        return sorted({k.rsplit("-", 1)[0] for k in keys})

    def _desired(self, case: UATCase) -> tuple[str, str]:
        return _summary_line(case.title), case_to_wiki(case)

    def _existing_issues(self, case_set: CaseSet) -> list[dict[str, Any]]:
        """Every casewright case issue of this epic's stories, oldest first."""
        projects = ", ".join(f'"{p}"' for p in self._projects(case_set))
        jql = f'labels = "{LABEL}" AND project in ({projects}) ORDER BY key ASC'
        found = self.writer.search(jql, fields=_ISSUE_FIELDS, properties=CASE_PROPERTY)
        story_keys = {s.key for s in case_set.stories} | {case_set.epic.key} | {c.story_key for c in case_set.cases}
        out: list[dict[str, Any]] = []
        for issue in found:
            f = issue.get("fields") or {}
            prop = (issue.get("properties") or {}).get(CASE_PROPERTY) or {}
            labels = [lb for lb in f.get("labels") or [] if lb.startswith("casewright-case-")]
            if not prop.get("case_id") and not labels:
                continue
            story = prop.get("story_key") or (f.get("parent") or {}).get("key")
            if story is not None and story not in story_keys:
                continue  # another epic's case
            out.append(issue)
        return sorted(out, key=lambda i: int(i["key"].rsplit("-", 1)[1]))

    @staticmethod
    def _labels_of(issue: dict[str, Any]) -> set[str]:
        prop = (issue.get("properties") or {}).get(CASE_PROPERTY) or {}
        labels = {lb for lb in (issue.get("fields") or {}).get("labels") or [] if lb.startswith("casewright-case-")}
        return labels | ({case_label(prop["case_id"])} if prop.get("case_id") else set())

    def _check_issue_type(self, case_set: CaseSet) -> None:
        """Before any write: the type the cases are created as must exist in every project they go to."""
        wanted, setting = ((self.test_issue_type, "CASEWRIGHT_TEST_ISSUE_TYPE") if self.mode == "issues"
                           else (self.subtask_type, "the sub-task issue type"))
        for project in sorted({c.story_key.rsplit("-", 1)[0] for c in case_set.cases}):
            types = [t.get("name", "") for t in self.writer.project(project).get("issueTypes") or []]
            if types and wanted.lower() not in {t.lower() for t in types}:
                raise CasewrightError(f"issue type '{wanted}' ({setting}) does not exist in Jira project {project}; "
                                      f"valid types there: {', '.join(types)}. Set {setting} to one of them")

    def _type_matches(self, issue: dict[str, Any]) -> bool:
        it = (issue.get("fields") or {}).get("issuetype") or {}
        if not it:
            return True
        if self.mode == "subtasks":
            return bool(it.get("subtask")) or it.get("name", "").lower() == self.subtask_type.lower()
        return not it.get("subtask") and it.get("name", "").lower() == self.test_issue_type.lower()

    def _criteria_texts(self, case_set: CaseSet) -> dict[str, str]:
        return {c.id: c.text for s in case_set.stories for c in s.criteria}

    def _plan_issues(self, case_set: CaseSet, plan: WriteBackPlan) -> None:
        """Match cases to existing issues one-to-one: first by content identity (the fingerprint, which
        ignores the positional case and criterion ids), then by the case-id label for cases whose content
        changed; the rest are created. An issue is never matched to two cases."""
        if case_set.cases:
            self._check_issue_type(case_set)
        existing = self._existing_issues(case_set)
        texts = self._criteria_texts(case_set)
        fps = {c.id: fingerprint(c, texts) for c in case_set.cases}
        taken: set[str] = set()
        match: dict[str, tuple[dict[str, Any], bool]] = {}   # case id -> (issue, matched by content)
        by_fp: dict[str, list[dict[str, Any]]] = {}
        for issue in existing:
            fp = ((issue.get("properties") or {}).get(CASE_PROPERTY) or {}).get("fingerprint")
            if fp:
                by_fp.setdefault(fp, []).append(issue)
        for case in case_set.cases:
            issue = next((i for i in by_fp.get(fps[case.id], []) if i["key"] not in taken), None)
            if issue is not None:
                match[case.id] = (issue, True)
                taken.add(issue["key"])
        for case in case_set.cases:
            if case.id in match:
                continue
            label = case_label(case.id)
            issue = next((i for i in existing if i["key"] not in taken and label in self._labels_of(i)), None)
            if issue is not None:
                match[case.id] = (issue, False)
                taken.add(issue["key"])
        held = {lb for i in existing for lb in self._labels_of(i)}
        for case in case_set.cases:
            summary, description = self._desired(case)
            fp = fps[case.id]
            if case.id not in match:
                label = case_label(case.id)
                # the id label is already held by an issue now matched to another case (ids are positional):
                # this case's issue gets a label of its own, so each issue's labels still name one case
                self._create_label[case.id] = label if label not in held else f"{label}-{fp[:8]}"
                plan.items.append(PlanItem(case.id, case.story_key, "create", reason="new case"))
                continue
            issue, by_content = match[case.id]
            self._existing[case.id] = issue
            f = issue.get("fields") or {}
            prop = (issue.get("properties") or {}).get(CASE_PROPERTY)
            if not self._type_matches(issue):
                have = (f.get("issuetype") or {}).get("name", "another type")
                other = "subtasks" if (f.get("issuetype") or {}).get("subtask") else "issues"
                plan.items.append(PlanItem(case.id, case.story_key, "conflict", issue["key"],
                                           f"exists as {have}; delete it or rerun with --write-back {other}"))
                continue
            desc = f.get("description") if isinstance(f.get("description"), str) else json.dumps(f.get("description"))
            current = content_hash(f.get("summary"), desc)
            repairs = self._repairs(case, issue, prop, fp, by_content)
            old_id = (prop or {}).get("case_id") or case.id
            same = (current == content_hash(summary, description) or
                    (by_content and masked_hash(f.get("summary"), desc, old_id) == masked_hash(summary, description, case.id)))
            if prop and prop.get("content_hash_at_write") and current != prop["content_hash_at_write"]:
                plan.items.append(PlanItem(case.id, case.story_key, "conflict", issue["key"],
                                           "edited in Jira since casewright wrote it; left alone"))
            elif same and (prop or {}).get("fingerprint") in (fp, None):
                plan.items.append(PlanItem(case.id, case.story_key, "unchanged", issue["key"], repairs=repairs))
            else:
                why = "the case changed" if prop else "written by an interrupted run; completing it"
                plan.items.append(PlanItem(case.id, case.story_key, "update", issue["key"], why, repairs))
        wanted = {case_label(c.id) for c in case_set.cases}
        for issue in existing:
            if issue["key"] not in taken:
                (plan.duplicates if self._labels_of(issue) & wanted else plan.obsolete).append(issue["key"])

    def _repairs(self, case: UATCase, issue: dict[str, Any], prop: dict[str, Any] | None, fp: str,
                 by_content: bool = False) -> list[str]:
        repairs = []
        if not prop or prop.get("fingerprint") != fp:
            repairs.append("property")
        if self.mode == "issues" and not self.writer.is_linked(issue, self.link_type, case.story_key):
            repairs.append("link")
        labels = set((issue.get("fields") or {}).get("labels") or [])
        # matched by content under another (positional) id: it keeps the id label of its first write
        own = {LABEL} if by_content and any(lb.startswith("casewright-case-") for lb in labels) else {LABEL, case_label(case.id)}
        if not own <= labels:
            repairs.append("labels")
        return repairs

    def plan(self, case_set: CaseSet) -> WriteBackPlan:
        plan = WriteBackPlan(mode=self.mode, epic_key=case_set.epic.key)
        self._texts = self._criteria_texts(case_set)
        if self.mode == "none":
            return plan
        if self.mode in ("issues", "subtasks"):
            self._plan_issues(case_set, plan)
        else:
            self._plan_comments(case_set, plan)
        plan.summary = self._plan_comment(case_set.epic.key, SUMMARY_PROPERTY, "summary",
                                          self._summary_body(case_set, plan))
        return plan

    def _plan_comments(self, case_set: CaseSet, plan: WriteBackPlan) -> None:
        stories = {s.key: s for s in case_set.stories}
        order: list[str] = []
        for case in case_set.cases:
            if case.story_key not in order:
                order.append(case.story_key)
        for key in order:
            cases = case_set.cases_for(key)
            story = stories.get(key) or Story(key=key, summary=case_set.epic.summary if key == case_set.epic.key else key)
            body = comment_for_story(story, cases)
            cp = self._plan_comment(key, COMMENT_PROPERTY, "story", body)
            plan.comments.append(cp)
            for case in cases:
                plan.items.append(PlanItem(case.id, key, cp.action, cp.comment_id, cp.reason, list(cp.repairs)))

    def _plan_comment(self, issue_key: str, prop_key: str, kind: str, body: str) -> CommentPlan:
        """Find casewright's comment on an issue (by property, else by marker) and classify it."""
        full = body.rstrip() + "\n\n" + f"_{marker(kind, issue_key)} written by casewright; edits here are kept_"
        prop = self.writer.get_property(issue_key, prop_key) or {}
        comments = self.writer.comments(issue_key)
        existing = next((c for c in comments if str(c.get("id")) == str(prop.get("comment_id"))), None)
        if existing is None:
            tag = marker(kind, issue_key)
            existing = next((c for c in comments if isinstance(c.get("body"), str) and tag in c["body"]), None)
            prop = {} if existing is None or str(existing.get("id")) != str(prop.get("comment_id")) else prop
        if existing is None:
            return CommentPlan(issue_key, "create", None, "new comment", full)
        current = content_hash("", existing.get("body") if isinstance(existing.get("body"), str)
                               else json.dumps(existing.get("body")))
        desired = content_hash("", full)
        repairs = [] if prop.get("comment_id") else ["property"]
        if prop.get("content_hash_at_write") and current != prop["content_hash_at_write"]:
            return CommentPlan(issue_key, "conflict", str(existing["id"]), "edited in Jira since casewright wrote it; left alone", full)
        if current == desired:
            return CommentPlan(issue_key, "unchanged", str(existing["id"]), "", full, repairs)
        return CommentPlan(issue_key, "update", str(existing["id"]),
                           "the cases changed" if prop else "written by an interrupted run; completing it", full, repairs)

    def _summary_body(self, case_set: CaseSet, plan: WriteBackPlan) -> str:
        """The epic's summary comment: the state of things, so an unchanged rerun leaves it unchanged."""
        cs = case_set
        lines = [f"h3. casewright: UAT cases for {cs.epic.key}"]
        where = {"issues": f"{self.test_issue_type} issues linked to their stories", "subtasks": "sub-tasks of their stories",
                 "comment": "one comment per story"}[self.mode]
        lines.append(f"{len(cs.cases)} cases for {len(cs.stories)} stories, written as {where}.")
        lines.append(f"Coverage: {sum(1 for c in cs.coverage if c.covered)} of {len(cs.coverage)} acceptance criteria "
                     f"verified ({cs.coverage_ratio * 100:.0f}%).")
        if self.mode in ("issues", "subtasks"):
            lines.append("||Story||Cases||")
            for story in cs.stories:
                ids = [c.id for c in cs.cases_for(story.key)]
                lines.append(f"|{story.key}|{len(ids)}|")
        conflicts = [i for i in plan.items if i.action == "conflict"]
        if conflicts:
            lines.append(f"(!) {len(conflicts)} case(s) were edited in Jira and left alone: "
                         + ", ".join(sorted({i.target or i.case_id for i in conflicts})))
        errors = [f for f in cs.findings if f.severity == "error"]
        warnings = [f for f in cs.findings if f.severity == "warning"]
        lines.append(f"Findings: {len(errors)} errors, {len(warnings)} warnings, "
                     f"{len(cs.findings) - len(errors) - len(warnings)} notes.")
        for f in (errors + warnings)[:10]:
            lines.append(f"* {f.story_key or cs.epic.key}: {' '.join(f.message.split())}")
        if self.report_path:
            lines.append(f"Report: {self.report_path}")
        return "\n".join(lines)
