"""The Jira write-back plan: what to do with each case, each casewright issue, story comment and
the epic summary, decided before anything is written.

Planning reads every casewright issue of the stories' projects in one search, checks the test
issue type exists (before any write), describes the cases and the issues to the target-neutral
reconciliation (agent/writeback/reconcile.py: matching by content, then by similarity, never by
position) and turns its decisions into plan items:

- create: no issue matched; the new issue gets the id label ``casewright-case-<id>``, or
  ``casewright-case-<id>-<fingerprint[:8]>`` when another issue holds that label (ids are positional);
- unchanged: the issue holds what casewright would write; nothing is written except repairs;
- update: the issue is rewritten in place (it keeps its key, link and id label); a retired issue
  whose criterion came back is revived;
- retire: no generated case matches the issue any more: it gets the retire label (and status), a
  comment saying why, and keeps its link; it is never deleted;
- conflict: a person edited the issue since casewright wrote it, or its type does not fit the
  mode (a Sub-task when writing ``issues``): left alone and reported.

Story comments and the epic summary are found by their property, else their marker line, and are
created, updated, unchanged or a conflict by the same hash rule. What an interrupted run left undone
on a matched issue (its property, link or labels) is planned as a repair.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from agent.configuration import TOOL_WRITE_BACK_MODES, WRITE_BACK_MODES
from agent.models import CaseSet, Story, UATCase
from agent.renderers.jira_wiki import case_to_wiki, comment_for_story, epic_summary
from agent.writeback.identity import (
    CASE_PROPERTY,
    COMMENT_PROPERTY,
    LABEL,
    SUMMARY_PROPERTY,
    case_label,
    comparable,
    content_hash,
    criteria_of,
    criterion_text,
    fingerprint,
    marker,
    masked_hash,
)
from agent.writeback.reconcile import ACTIONS, Decision, Desired, Record, reconcile
from connectors.errors import CasewrightError
from connectors.jira_writer import JiraWriter

_ISSUE_FIELDS = "summary,description,labels,issuelinks,parent,issuetype,project,status"
_TRACE = re.compile(r"^\s*\*\s*(Story|Kind):\s*(\S+)\s*$", re.MULTILINE | re.IGNORECASE)
_CRITERIA = re.compile(r"^\s*\*\s*Criteria:(.*)$", re.MULTILINE | re.IGNORECASE)
DEFAULT_RETIRE_LABEL = "casewright-obsolete"


def _summary_line(title: str) -> str:
    line = " ".join(title.split())
    return line if len(line) <= 255 else line[:252] + "..."


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def named_stories(issue: dict[str, Any]) -> set[str]:
    """The stories whose criteria a case issue's description names (``* Criteria: ER-2/AC-1, ER-3/AC-1``)."""
    found = _CRITERIA.search(_text((issue.get("fields") or {}).get("description") or ""))
    ids = [c.strip() for c in found.group(1).split(",")] if found else []
    return {c.split("/", 1)[0] for c in ids if "/" in c}


def status_name(issue: dict[str, Any]) -> str:
    return str(((issue.get("fields") or {}).get("status") or {}).get("name") or "")


@dataclass
class PlanItem:
    case_id: str                     # "" for an issue no case matched (retire, conflict)
    story_key: str
    action: str                      # create | update | unchanged | retire | conflict
    target: str | None = None        # issue key (issues/subtasks) or comment id (comment)
    reason: str = ""
    repairs: list[str] = field(default_factory=list)  # e.g. ["link", "property"] for an unchanged case
    was: str = ""                    # the case id the issue was written for, when it differs


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
    retired: list[str] = field(default_factory=list)            # issues retired before, nothing to do

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
    """Plans a write-back for a case set: the mode, the types, link and retire marks it writes with,
    and what planning found (the issue matched to each case, the label each create carries, the
    issues to retire)."""

    def __init__(self, writer: JiraWriter, *, mode: str, test_issue_type: str = "Test", link_type: str = "Tests",
                 subtask_type: str = "Sub-task", run_id: str = "", retire_label: str = DEFAULT_RETIRE_LABEL,
                 retire_status: str | None = None) -> None:
        if mode not in WRITE_BACK_MODES:
            raise CasewrightError(f"unknown write-back mode '{mode}'; choose from {', '.join(WRITE_BACK_MODES)}")
        if mode in TOOL_WRITE_BACK_MODES:
            raise CasewrightError(f"write-back mode '{mode}' writes to a test-management tool: use "
                                  "ToolWriteBack (agent/writeback/tools.py)")
        self.writer = writer
        self.mode = mode
        self.test_issue_type = test_issue_type
        self.link_type = link_type
        self.subtask_type = subtask_type
        self.run_id = run_id
        self.retire_label = retire_label
        self.retire_status = retire_status or None
        self._existing: dict[str, dict[str, Any]] = {}   # case id -> the issue matched to it
        self._create_label: dict[str, str] = {}          # case id -> the id label its create carries
        self._texts: dict[str, str] = {}                 # criterion id -> text (for fingerprints)
        self._retiring: dict[str, tuple[dict[str, Any], Decision]] = {}   # issue key -> (issue, decision)
        self._transition: dict[str, str] = {}            # issue key -> id of the transition to the retire status

    # -- what the target holds ------------------------------------------------------------------------
    def _projects(self, case_set: CaseSet) -> list[str]:
        keys = [s.key for s in case_set.stories] + [case_set.epic.key]
        return sorted({k.rsplit("-", 1)[0] for k in keys})

    def _desired(self, case: UATCase) -> tuple[str, str]:
        return _summary_line(case.title), case_to_wiki(case)

    @staticmethod
    def prop(issue: dict[str, Any]) -> dict[str, Any]:
        value = (issue.get("properties") or {}).get(CASE_PROPERTY)
        return value if isinstance(value, dict) else {}

    def _existing_issues(self, case_set: CaseSet) -> list[dict[str, Any]]:
        """Every casewright case issue of this epic's stories, oldest first."""
        projects = ", ".join(f'"{p}"' for p in self._projects(case_set))
        jql = f'labels = "{LABEL}" AND project in ({projects}) ORDER BY key ASC'
        found = self.writer.search(jql, fields=_ISSUE_FIELDS, properties=CASE_PROPERTY)
        story_keys = {s.key for s in case_set.stories} | {case_set.epic.key} | {c.story_key for c in case_set.cases}
        out: list[dict[str, Any]] = []
        for issue in found:
            f = issue.get("fields") or {}
            prop = self.prop(issue)
            labels = [lb for lb in f.get("labels") or [] if lb.startswith("casewright-case-")]
            if not prop.get("case_id") and not labels:
                continue
            story = self._story_of(issue)
            if story is not None and story not in story_keys:
                continue  # another epic's case
            if not named_stories(issue) <= story_keys:
                continue  # it verifies a story outside this run (a journey, with --stories): not ours to judge
            out.append(issue)
        return sorted(out, key=lambda i: int(i["key"].rsplit("-", 1)[1]))

    def _story_of(self, issue: dict[str, Any]) -> str | None:
        f = issue.get("fields") or {}
        trace = {k.lower(): v for k, v in _TRACE.findall(_text(f.get("description") or ""))}
        return self.prop(issue).get("story_key") or (f.get("parent") or {}).get("key") or trace.get("story")

    def is_retired(self, issue: dict[str, Any]) -> bool:
        """Retired, or being retired: the property records a finished retire (its last step), the
        label an unfinished one."""
        labels = (issue.get("fields") or {}).get("labels") or []
        return bool(self.prop(issue).get("retired")) or self.retire_label in labels

    def _blocked(self, issue: dict[str, Any]) -> str:
        it = (issue.get("fields") or {}).get("issuetype") or {}
        if not it:
            return ""
        if self.mode == "subtasks":
            fits = bool(it.get("subtask")) or it.get("name", "").lower() == self.subtask_type.lower()
        else:
            fits = not it.get("subtask") and it.get("name", "").lower() == self.test_issue_type.lower()
        if fits:
            return ""
        other = "subtasks" if it.get("subtask") else "issues"
        return f"exists as {it.get('name', 'another type')}; delete it or rerun with --write-back {other}"

    def _record(self, issue: dict[str, Any]) -> Record:
        f = issue.get("fields") or {}
        prop = self.prop(issue)
        desc = _text(f.get("description"))
        trace = {k.lower(): v for k, v in _TRACE.findall(desc)}
        criteria = prop.get("criteria")
        return Record(ref=issue["key"], group=self._story_of(issue), kind=prop.get("kind") or trace.get("kind"),
                      fingerprint=prop.get("fingerprint"),
                      criteria=tuple(str(c) for c in criteria) if isinstance(criteria, list) and criteria else None,
                      content=comparable(f.get("summary"), desc), current_hash=content_hash(f.get("summary"), desc),
                      hash_at_write=prop.get("content_hash_at_write"), retired=bool(prop.get("retired")),
                      blocked=self._blocked(issue))

    def _check_issue_type(self, case_set: CaseSet) -> None:
        """Before any write: the type the cases are created as must exist in every project they go to."""
        wanted, setting = ((self.test_issue_type, "CASEWRIGHT_TEST_ISSUE_TYPE") if self.mode == "issues"
                           else (self.subtask_type, "the sub-task issue type"))
        for project in sorted({c.story_key.rsplit("-", 1)[0] for c in case_set.cases}):
            types = [t.get("name", "") for t in self.writer.project(project).get("issueTypes") or []]
            if types and wanted.lower() not in {t.lower() for t in types}:
                raise CasewrightError(f"issue type '{wanted}' ({setting}) does not exist in Jira project {project}; "
                                      f"valid types there: {', '.join(types)}. Set {setting} to one of them")

    def _check_retire_status(self, issue: dict[str, Any]) -> None:
        """Before any write: an issue to retire must be able to move to CASEWRIGHT_RETIRE_STATUS."""
        wanted = (self.retire_status or "").lower()
        if not wanted or status_name(issue).lower() == wanted:
            return
        moves = self.writer.transitions(issue["key"])
        hit = next((t for t in moves if str((t.get("to") or {}).get("name", "")).lower() == wanted), None)
        if hit is None:
            reachable = sorted({str((t.get("to") or {}).get("name")) for t in moves}) or ["none"]
            raise CasewrightError(f"CASEWRIGHT_RETIRE_STATUS '{self.retire_status}' is not a status {issue['key']} can "
                                  f"move to from '{status_name(issue)}' (it can move to: {', '.join(reachable)}); set "
                                  "it to one of them, or unset it to retire by label only")
        self._transition[issue["key"]] = str(hit["id"])

    # -- planning -----------------------------------------------------------------------------------
    def _plan_issues(self, case_set: CaseSet, plan: WriteBackPlan) -> None:
        if case_set.cases:
            self._check_issue_type(case_set)
        existing = self._existing_issues(case_set)
        by_key = {i["key"]: i for i in existing}
        texts = self._texts
        cases = {c.id: c for c in case_set.cases}
        desired = []
        for case in case_set.cases:
            summary, description = self._desired(case)
            desired.append(Desired(case.id, case.story_key, case.kind, fingerprint(case, texts), criteria_of(case, texts),
                                   comparable(summary, description), content_hash(summary, description)))
        live = {criterion_text(t) for t in texts.values()}
        result = reconcile(desired, [self._record(i) for i in existing], live)
        plan.retired = list(result.retired)
        held = {lb for i in existing for lb in (i.get("fields") or {}).get("labels") or [] if lb.startswith("casewright-case-")}
        for d in result.decisions:
            issue = by_key.get(d.ref or "")
            was = str(self.prop(issue).get("case_id") or "") if issue else ""
            if d.case_id is None:   # an issue no case matched
                assert issue is not None
                plan.items.append(PlanItem("", d.group, d.action, d.ref, d.reason, was=was))
                if d.action == "retire":
                    self._retiring[issue["key"]] = (issue, d)
                continue
            case = cases[d.case_id]
            if issue is None:
                label = case_label(case.id)
                self._create_label[case.id] = label if label not in held else f"{label}-{fingerprint(case, texts)[:8]}"
                plan.items.append(PlanItem(case.id, case.story_key, "create", reason=d.reason))
                continue
            self._existing[case.id] = issue
            reason = d.reason
            if d.action in ("unchanged", "update") and self.is_retired(issue) and not d.revive:
                # a retire that stopped half-way (label, no property) on a case that is back: revive it
                d.action, d.revive, reason = "update", True, "its criterion is back: restoring it"
            if d.action == "update" and not d.revive and d.score is None:
                f = issue.get("fields") or {}
                if masked_hash(f.get("summary"), _text(f.get("description")), was or None) == \
                        masked_hash(*self._desired(case), case.id):
                    reason = "its criterion ids were renumbered"
            repairs = self._repairs(case, issue, d) if d.action in ("unchanged", "update") else []
            plan.items.append(PlanItem(case.id, case.story_key, d.action, issue["key"], reason, repairs,
                                       was if was != case.id else ""))
        for issue, _ in self._retiring.values():
            self._check_retire_status(issue)

    def _repairs(self, case: UATCase, issue: dict[str, Any], decision: Decision) -> list[str]:
        repairs = list(decision.repairs)
        if "property" not in repairs and not {"criteria", "kind"} <= set(self.prop(issue)):
            repairs.append("property")   # written before the property held them: matching by similarity needs them
        if self.mode == "issues" and not self.writer.is_linked(issue, self.link_type, case.story_key):
            repairs.append("link")
        labels = set((issue.get("fields") or {}).get("labels") or [])
        if LABEL not in labels or not any(lb.startswith("casewright-case-") for lb in labels):
            repairs.append("labels")
        return repairs

    def id_label(self, case: UATCase, issue: dict[str, Any] | None) -> str:
        """The issue's id label: the one of its first write (kept, as ids are positional), else a new one."""
        have = sorted(lb for lb in ((issue or {}).get("fields") or {}).get("labels") or []
                      if lb.startswith("casewright-case-"))
        if have:
            return case_label(case.id) if case_label(case.id) in have else have[0]
        return self._create_label.get(case.id, case_label(case.id))

    def plan(self, case_set: CaseSet) -> WriteBackPlan:
        plan = WriteBackPlan(mode=self.mode, epic_key=case_set.epic.key)
        self._texts = {c.id: c.text for s in case_set.stories for c in s.criteria}
        if self.mode == "none":
            return plan
        if self.mode in ("issues", "subtasks"):
            self._plan_issues(case_set, plan)
        else:
            self._plan_comments(case_set, plan)
        where = {"issues": f"{self.test_issue_type} issues linked to their stories",
                 "subtasks": "sub-tasks of their stories", "comment": "one comment per story"}[self.mode]
        body = epic_summary(case_set, written_as=where, per_story=self.mode in ("issues", "subtasks"),
                            conflicts=[i.target or i.case_id for i in plan.items if i.action == "conflict"],
                            retired=[i.target or "" for i in plan.items if i.action == "retire"] + plan.retired,
                            retire_label=self.retire_label)
        plan.summary = self._plan_comment(case_set.epic.key, SUMMARY_PROPERTY, "summary", body)
        return plan

    def _plan_comments(self, case_set: CaseSet, plan: WriteBackPlan) -> None:
        """One comment per story with cases; a story that has a casewright comment but no cases any
        more gets it rewritten to say so."""
        stories = {s.key: s for s in case_set.stories}
        order: list[str] = []
        for case in case_set.cases:
            if case.story_key not in order:
                order.append(case.story_key)
        for key in order + [s.key for s in case_set.stories if s.key not in order]:
            cases = case_set.cases_for(key)
            story = stories.get(key) or Story(key=key, summary=case_set.epic.summary if key == case_set.epic.key else key)
            cp = self._plan_comment(key, COMMENT_PROPERTY, "story", comment_for_story(story, cases))
            if not cases and cp.action == "create":
                continue
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
        current = content_hash("", _text(existing.get("body")))
        desired = content_hash("", full)
        repairs = [] if prop.get("comment_id") else ["property"]
        if prop.get("content_hash_at_write") and current != prop["content_hash_at_write"]:
            return CommentPlan(issue_key, "conflict", str(existing["id"]), "edited in Jira since casewright wrote it; left alone", full)
        if current == desired:
            return CommentPlan(issue_key, "unchanged", str(existing["id"]), "", full, repairs)
        return CommentPlan(issue_key, "update", str(existing["id"]),
                           "the cases changed" if prop else "written by an interrupted run; completing it", full, repairs)
