"""Writing generated cases back to Jira: plan first, then execute, safely and idempotently.

Modes (`--write-back`):
- ``issues``: one issue of the test type (default "Test") per case, described in the house wiki
  format, linked to its story with the configured link type ("Tests": the case *tests* the story);
- ``subtasks``: one sub-task per case under its story;
- ``comment``: one formatted comment per story listing its cases;
- ``none``: nothing is written.
In every mode but ``none`` one summary comment on the epic (cases, coverage, findings, report).

How casewright recognises its own issues and comments is agent/writeback/identity.py; what each
case, comment and the summary gets (create, update, unchanged, conflict) is agent/writeback/plan.py.
This module carries the plan out. A rerun after a crash finds what the crashed run created by its
label (the label is set in the create call itself), repairs a missing property or link, and never
creates a second issue for a case; creates whose response was lost are looked up by label before
being resent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.models import CaseSet, UATCase
from agent.renderers.common import safe_filename
from agent.writeback.identity import (
    CASE_PROPERTY,
    COMMENT_PROPERTY,
    LABEL,
    SUMMARY_PROPERTY,
    case_label,
    clean_label,
    content_hash,
    fingerprint,
    marker,
)
from agent.writeback.plan import CommentPlan, PlanItem, WriteBackPlan, WriteBackPlanner
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
        try:
            if self.mode in ("issues", "subtasks"):
                cases = {c.id: c for c in case_set.cases}
                for item in plan.items:
                    at = self.writer.writes
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
            total = (sum(1 for i in plan.items if i.action in ("create", "update") or i.repairs)
                     if self.mode in ("issues", "subtasks") else len(plan.comments))
            raise CasewrightError(f"write-back to Jira stopped after {done} of {total} "
                                  f"{'cases to write' if self.mode in ('issues', 'subtasks') else 'story comments'}: {exc}. "
                                  "Run it again: finished work is found and not repeated") from None
        finally:
            result.writes = self.writer.writes - before
        return result

    def _property(self, case: UATCase, summary: str, description: str) -> dict[str, Any]:
        return {"case_id": case.id, "story_key": case.story_key, "fingerprint": fingerprint(case, self._texts),
                "content_hash_at_write": content_hash(summary, description), "run_id": self.run_id}

    def _find_by_label(self, label: str) -> str | None:
        hits = self.writer.search(f'labels = "{label}" ORDER BY key ASC', fields="summary")
        return hits[0]["key"] if hits else None

    def _execute_issue(self, case: UATCase, item: PlanItem, result: WriteBackResult) -> None:
        if item.action == "conflict":
            if item.target:
                result.keys[case.id] = item.target
            return
        summary, description = self._desired(case)
        label = self._create_label.get(case.id, case_label(case.id)) if item.action == "create" else case_label(case.id)
        have = set(((self._existing.get(case.id) or {}).get("fields") or {}).get("labels") or [])
        if item.action != "create" and any(lb.startswith("casewright-case-") for lb in have):
            # the issue keeps the id label of its first write (ids are positional; another case may hold this id now)
            label = next(lb for lb in sorted(have) if lb.startswith("casewright-case-"))
            label = case_label(case.id) if case_label(case.id) in have else label
        # only casewright adds labels in its own namespace (`casewright*`): write-back finds its issues by
        # `casewright-case-*`, so a case label there (from a model's answer, say) is dropped
        labels = [LABEL, label] + list(dict.fromkeys(
            clean_label(lb) for lb in case.labels
            if clean_label(lb) and not clean_label(lb).lower().startswith(LABEL)))
        if item.action == "create":
            project = case.story_key.rsplit("-", 1)[0]
            fields: dict[str, Any] = {"project": {"key": project}, "summary": summary, "description": description,
                                      "labels": labels}
            if self.mode == "subtasks":
                fields["issuetype"] = {"name": self.subtask_type}
                fields["parent"] = {"key": case.story_key}
            else:
                fields["issuetype"] = {"name": self.test_issue_type}
            key = self.writer.create_issue(fields, find_existing=lambda: self._find_by_label(label))
            item.target = key
            self.writer.set_property(key, CASE_PROPERTY, self._property(case, summary, description))
            if self.mode == "issues":
                self.writer.link(self.link_type, key, case.story_key)
        elif item.action == "update":
            key = item.target or ""
            self.writer.update_fields(key, {"summary": summary, "description": description},
                                      {"labels": [{"add": lb} for lb in labels if lb not in have]} if set(labels) - have else None)
            self.writer.set_property(key, CASE_PROPERTY, self._property(case, summary, description))
            if self.mode == "issues" and "link" in item.repairs:
                self.writer.link(self.link_type, key, case.story_key)
        else:  # unchanged: repair what an interrupted run left undone
            key = item.target or ""
            if "labels" in item.repairs:
                self.writer.add_labels(key, [LABEL, label])
            if "property" in item.repairs:
                self.writer.set_property(key, CASE_PROPERTY, self._property(case, summary, description))
            if "link" in item.repairs:
                self.writer.link(self.link_type, key, case.story_key)
        result.keys[case.id] = item.target or ""

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


def report_path_for(out_dir: str, formats: list[str], epic_key: str) -> str | None:
    for fmt, suffix in (("md", "md"), ("json", "json"), ("csv", "csv")):
        if fmt in formats:
            return str(Path(out_dir) / f"{safe_filename(epic_key)}.{suffix}")
    return None
