"""Writing generated cases back to Jira: plan first, then execute, safely and idempotently.

Modes (`--write-back`):
- ``issues``: one issue of the test type (default "Test") per case, described in the house wiki
  format, linked to its story with the configured link type ("Tests": the case *tests* the story);
- ``subtasks``: one sub-task per case under its story;
- ``comment``: one formatted comment per story listing its cases;
- ``none``: nothing is written.
In every mode but ``none`` one summary comment on the epic (cases, coverage, conflicts, retired
cases, findings).

How casewright recognises its own issues and comments is agent/writeback/identity.py; which issue
holds which case is agent/writeback/reconcile.py; what each case, issue, comment and the summary
gets is agent/writeback/plan.py. This module carries the plan out. A rerun after a crash finds
what the crashed run created (the id label is set in the create call itself, the content is
compared), repairs a missing property, link or label, and never creates a second issue for a
case; creates whose response was lost are looked up by label before being resent. Retiring and
reviving are done step by step (label, comment, status, then the property that records it), each
step skipped when a run that stopped half-way already did it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.models import CaseSet, UATCase
from agent.renderers.jira_wiki import retire_comment, revive_comment
from agent.writeback.identity import (
    CASE_PROPERTY,
    COMMENT_PROPERTY,
    LABEL,
    SUMMARY_PROPERTY,
    clean_label,
    content_hash,
    criteria_of,
    fingerprint,
    marker,
)
from agent.writeback.plan import CommentPlan, PlanItem, WriteBackPlan, WriteBackPlanner, status_name
from agent.writeback.reconcile import Decision
from connectors.atlassian_http import AtlassianError
from connectors.errors import CasewrightError


@dataclass
class WriteBackResult:
    plan: WriteBackPlan
    dry_run: bool
    writes: int = 0
    keys: dict[str, str] = field(default_factory=dict)   # case id -> issue key (or comment id)

    def as_dict(self) -> dict[str, Any]:
        out = {"mode": self.plan.mode, "dry_run": self.dry_run, "writes": self.writes, "keys": dict(self.keys)}
        out.update(self.plan.as_dict())
        return out


class WriteBack(WriteBackPlanner):
    """Plans a write-back (WriteBackPlanner) and carries the plan out."""

    # -- execution -----------------------------------------------------------------------------------
    def run(self, case_set: CaseSet, *, dry_run: bool = False) -> WriteBackResult:
        plan = self.plan(case_set)
        result = WriteBackResult(plan=plan, dry_run=dry_run)
        if dry_run or self.mode == "none":
            return result
        before = self.writer.writes
        done = 0
        issues = self.mode in ("issues", "subtasks")
        try:
            if issues:
                cases = {c.id: c for c in case_set.cases}
                for item in plan.items:
                    at = self.writer.writes
                    if item.action == "retire":
                        self._execute_retire(*self._retiring[item.target or ""])
                    elif item.case_id:
                        self._execute_issue(cases[item.case_id], item, result)
                    done += self.writer.writes > at   # cases actually written, not those left as they were
            else:
                for cp in plan.comments:
                    self._execute_comment(cp, COMMENT_PROPERTY)
                    for item in plan.items:
                        if item.story_key == cp.issue_key and cp.comment_id:
                            item.target = cp.comment_id
                            result.keys[item.case_id] = cp.comment_id
                    done += 1
            if plan.summary is not None:
                self._execute_comment(plan.summary, SUMMARY_PROPERTY)
        except AtlassianError as exc:
            total = (sum(1 for i in plan.items if i.action in ("create", "update", "retire") or i.repairs)
                     if issues else len(plan.comments))
            raise CasewrightError(f"write-back to Jira stopped after {done} of {total} "
                                  f"{'cases to write' if issues else 'story comments'}: {exc}. "
                                  "Run it again: finished work is found and not repeated") from None
        finally:
            result.writes = self.writer.writes - before
        return result

    def _property(self, case: UATCase, summary: str, description: str) -> dict[str, Any]:
        return {"case_id": case.id, "story_key": case.story_key, "kind": case.kind,
                "fingerprint": fingerprint(case, self._texts), "criteria": list(criteria_of(case, self._texts)),
                "content_hash_at_write": content_hash(summary, description), "run_id": self.run_id, "retired": None}

    def _find_by_label(self, label: str) -> str | None:
        hits = self.writer.search(f'labels = "{label}" ORDER BY key ASC', fields="summary")
        return hits[0]["key"] if hits else None

    def _labels(self, case: UATCase, id_label: str) -> list[str]:
        # only casewright adds labels in its own namespace (`casewright*`): write-back finds its issues by
        # `casewright-case-*`, so a case label there (from a model's answer, say) is dropped
        return [LABEL, id_label] + list(dict.fromkeys(
            clean_label(lb) for lb in case.labels
            if clean_label(lb) and not clean_label(lb).lower().startswith(LABEL)))

    def _execute_issue(self, case: UATCase, item: PlanItem, result: WriteBackResult) -> None:
        if item.action == "conflict":
            if item.target:
                result.keys[case.id] = item.target
            return
        summary, description = self._desired(case)
        issue = self._existing.get(case.id)
        labels = self._labels(case, self.id_label(case, issue))
        have = set(((issue or {}).get("fields") or {}).get("labels") or [])
        if item.action == "create":
            project = case.story_key.rsplit("-", 1)[0]
            fields: dict[str, Any] = {"project": {"key": project}, "summary": summary, "description": description,
                                      "labels": labels}
            if self.mode == "subtasks":
                fields["issuetype"] = {"name": self.subtask_type}
                fields["parent"] = {"key": case.story_key}
            else:
                fields["issuetype"] = {"name": self.test_issue_type}
            key = self.writer.create_issue(fields, find_existing=lambda: self._find_by_label(labels[1]))
            item.target = key
            self.writer.set_property(key, CASE_PROPERTY, self._property(case, summary, description))
            if self.mode == "issues":
                self.writer.link(self.link_type, key, case.story_key)
        elif item.action == "update":
            key = item.target or ""
            ops = [{"add": lb} for lb in labels if lb not in have]
            ops += [{"remove": self.retire_label}] if self.retire_label in have else []
            self.writer.update_fields(key, {"summary": summary, "description": description}, {"labels": ops} if ops else None)
            if issue is not None and self.is_retired(issue):
                self._revive(issue, case.story_key)
            self.writer.set_property(key, CASE_PROPERTY, self._property(case, summary, description))
            if self.mode == "issues" and "link" in item.repairs:
                self.writer.link(self.link_type, key, case.story_key)
        else:  # unchanged: repair what an interrupted run left undone
            key = item.target or ""
            if "labels" in item.repairs:
                self.writer.add_labels(key, [lb for lb in labels[:2] if lb not in have])
            if "property" in item.repairs:
                self.writer.set_property(key, CASE_PROPERTY, self._property(case, summary, description))
            if "link" in item.repairs:
                self.writer.link(self.link_type, key, case.story_key)
        result.keys[case.id] = item.target or ""

    # -- retire and revive ---------------------------------------------------------------------------
    def _last_mark(self, key: str) -> tuple[str | None, Any]:
        """The last retire/revive comment casewright left on an issue: ("retired"|"revived"|None, its id)."""
        tags = {kind: marker(kind, key) for kind in ("retired", "revived")}
        for c in reversed(self.writer.comments(key)):
            body = c.get("body") if isinstance(c.get("body"), str) else ""
            for kind, tag in tags.items():
                if tag in body:
                    return kind, c.get("id")
        return None, None

    def _mark(self, key: str, kind: str, body: str) -> None:
        """Add the retire or revive comment, unless it is the last such comment already."""
        if self._last_mark(key)[0] == kind:
            return
        def find() -> str | None:
            last, comment_id = self._last_mark(key)
            return str(comment_id) if last == kind else None

        self.writer.add_comment(key, body + "\n\n" + f"_{marker(kind, key)} written by casewright_", find_existing=find)

    def _execute_retire(self, issue: dict[str, Any], decision: Decision) -> None:
        key = issue["key"]
        labels = (issue.get("fields") or {}).get("labels") or []
        story = decision.group or "its story"
        if self.retire_label not in labels:
            self.writer.add_labels(key, [self.retire_label])
        self._mark(key, "retired", retire_comment(story, decision.reason, gone=decision.gone, label=self.retire_label,
                                                  status=self.retire_status))
        # the status to go back to on revival (unknown when a stopped run already moved it)
        before = status_name(issue) if status_name(issue).lower() != (self.retire_status or "").lower() else ""
        if key in self._transition:
            self.writer.transition(key, self._transition[key])
        prop = dict(self.prop(issue))
        prop["retired"] = {"reason": decision.reason, "run_id": self.run_id, "status_before": before}
        self.writer.set_property(key, CASE_PROPERTY, prop)

    def _revive(self, issue: dict[str, Any], story_key: str) -> None:
        """Bring a retired issue back (after its fields were rewritten): its status, a comment."""
        key = issue["key"]
        back = str((self.prop(issue).get("retired") or {}).get("status_before") or "")
        retired_as = (self.retire_status or "").lower()
        if retired_as and back and back.lower() != retired_as and status_name(issue).lower() == retired_as:
            hit = next((t for t in self.writer.transitions(key)
                        if str((t.get("to") or {}).get("name", "")).lower() == back.lower()), None)
            if hit is not None:   # else the workflow offers no way back: the status stays, the label is gone
                self.writer.transition(key, str(hit["id"]))
        self._mark(key, "revived", revive_comment(story_key))

    # -- the epic summary, for the test-management write-backs (agent/writeback/tools.py) -------------
    def plan_epic_summary(self, epic_key: str, body: str) -> CommentPlan:
        return self._plan_comment(epic_key, SUMMARY_PROPERTY, "summary", body)

    def write_epic_summary(self, summary: CommentPlan) -> None:
        self._execute_comment(summary, SUMMARY_PROPERTY)

    # -- comments ------------------------------------------------------------------------------------
    def _execute_comment(self, cp: CommentPlan, prop_key: str) -> None:
        def remember(comment_id: str) -> None:
            self.writer.set_property(cp.issue_key, prop_key, {"comment_id": comment_id, "run_id": self.run_id,
                                                              "content_hash_at_write": content_hash("", cp.body)})

        if cp.action == "conflict":
            return
        if cp.action == "create":
            tag = marker("summary" if prop_key == SUMMARY_PROPERTY else "story", cp.issue_key)

            def find() -> str | None:
                return next((str(c["id"]) for c in self.writer.comments(cp.issue_key)
                             if isinstance(c.get("body"), str) and tag in c["body"]), None)

            cp.comment_id = self.writer.add_comment(cp.issue_key, cp.body, find_existing=find)
            remember(cp.comment_id)
        elif cp.action == "update":
            self.writer.update_comment(cp.issue_key, cp.comment_id or "", cp.body)
            remember(cp.comment_id or "")
        elif "property" in cp.repairs and cp.comment_id:
            remember(cp.comment_id)

