"""Writing generated cases to a test-management tool (`--write-back xray | zephyr | testrail`):
plan first, then execute, with the guarantees of the Jira write-back (agent/writeback/jira.py).

Planning reads every casewright case the tool holds for the run's stories (found by the identity
record stored IN the tool, so a rerun from a machine with no local state finds them), maps each
generated case to the tool's fields (agent/writeback/tool_cases.py, the house template's `tools:`
map) and hands both sides to the target-neutral reconciliation (agent/writeback/reconcile.py:
content identity, then what was written, then similarity; never positions). Its decisions:

- create: no case in the tool holds it; created with its identity record;
- unchanged: the tool holds what casewright would write: nothing is written (a case whose create
  stopped part-way, whose story link is missing or whose identity is stale is repaired);
- update: rewritten in place (a reworded criterion, a changed case); a retired case whose
  criterion came back is restored;
- retire: no generated case matches it any more: marked retired in the tool, never deleted;
- conflict: a person edited its fields in the tool since casewright wrote them (their hash is
  not the hash at write), or another write-back mode wrote it: left alone and reported.

Before the first write the cases are checked against the tool (TestRail's required custom fields,
Zephyr's priorities). Creates whose answer was lost are looked up by identity before being sent
again (connectors/managed_cases.py), so a rerun after a crash creates every case exactly once.
The epic's summary comment in Jira is planned and written as for the Jira modes.
"""

from __future__ import annotations

from agent.generation.template import ToolFields
from agent.models import CaseSet
from agent.renderers.jira_wiki import epic_summary
from agent.writeback.identity import criterion_text
from agent.writeback.jira import WriteBack, WriteBackResult
from agent.writeback.plan import PlanItem, WriteBackPlan
from agent.writeback.reconcile import reconcile
from agent.writeback.tool_cases import desired, managed_case, record, with_identity
from agent.writeback.tool_targets import TARGETS, ToolTarget
from connectors.atlassian_http import AtlassianError
from connectors.case_targets import CaseTargets
from connectors.errors import CasewrightError
from connectors.jira_writer import JiraWriter
from connectors.managed_cases import RETIRED_LABEL, ManagedCase, StoredCase


class ToolWriteBack:
    """Plans and carries out the write-back of a case set to one tool (module docstring)."""

    def __init__(self, target: ToolTarget, writer: JiraWriter, *, fields: ToolFields, run_id: str = "") -> None:
        self.target = target
        self.writer = writer
        self.mode = target.mode
        self.fields = fields
        self.run_id = run_id
        self._jira = WriteBack(writer, mode="comment", run_id=run_id)   # the epic summary comment
        self._managed: dict[str, ManagedCase] = {}
        self._stored: dict[str, StoredCase] = {}
        self._revive: set[str] = set()

    @classmethod
    def for_mode(cls, mode: str, targets: CaseTargets, writer: JiraWriter, *, fields: ToolFields,
                 run_id: str = "") -> "ToolWriteBack":
        if mode not in TARGETS:
            raise CasewrightError(f"unknown test-management write-back '{mode}'; choose from {', '.join(TARGETS)}")
        return cls(TARGETS[mode](targets, writer), writer, fields=fields, run_id=run_id)

    # -- planning -------------------------------------------------------------------------------
    def _story_ids(self, case_set: CaseSet) -> dict[str, str]:
        ids = {s.key: s.id for s in case_set.stories if s.id}
        if self.target.needs_story_ids:
            for key in sorted({c.story_key for c in case_set.cases} - set(ids)):
                ids[key] = str(self.writer.get_issue(key, fields="summary")["id"])
        return ids

    def plan(self, case_set: CaseSet) -> WriteBackPlan:
        plan = WriteBackPlan(mode=self.mode, epic_key=case_set.epic.key)
        self._managed, self._stored, self._revive = {}, {}, set()
        texts = {c.id: c.text for s in case_set.stories for c in s.criteria}
        ids = self._story_ids(case_set)
        wanted = []
        for case in case_set.cases:
            managed = managed_case(case, self.fields, epic_key=case_set.epic.key, story_id=ids.get(case.story_key))
            native = self.target.native(managed)
            self._managed[case.id] = with_identity(managed, case, native, target=self.mode, texts=texts,
                                                   run_id=self.run_id)
            wanted.append(desired(case, native, texts))
        stories = {s.key for s in case_set.stories}
        records = []
        for stored in self.target.records(case_set):
            group = (stored.identity or {}).get("story_key") or self.target.story_of(stored, case_set)
            if group in stories:   # another epic's (or story's, with --stories) case is not ours to judge
                self._stored[stored.id] = stored
                records.append(record(stored, target=self.mode, group=group,
                                      wanted={d.content_hash for d in wanted if d.group == group}))
        result = reconcile(wanted, records, {criterion_text(t) for t in texts.values()})
        plan.retired = list(result.retired)
        for d in result.decisions:
            stored = self._stored.get(d.ref or "")
            was = str((stored.identity or {}).get("case_id") or "") if stored is not None else ""
            if d.case_id is None or stored is None:
                plan.items.append(PlanItem(d.case_id or "", d.group, d.action, d.ref, d.reason, was=was))
                continue
            managed = self._managed[d.case_id]
            repairs = list(d.repairs)
            if d.action in ("update", "unchanged"):
                if not stored.complete:
                    repairs.append("finish")
                if not self.target.linked(stored, managed):
                    repairs.append("link")
            if d.revive:
                self._revive.add(d.case_id)
            plan.items.append(PlanItem(d.case_id, d.group, d.action, d.ref, d.reason,
                                       repairs if d.action in ("update", "unchanged") else [],
                                       was if was != d.case_id else ""))
        if any(i.action in ("create", "update") for i in plan.items):
            self.target.check([self._managed[i.case_id] for i in plan.items if i.action in ("create", "update")])
        body = epic_summary(case_set, written_as=self.target.written_as, per_story=True,
                            conflicts=[i.target or i.case_id for i in plan.items if i.action == "conflict"],
                            retired=[i.target or "" for i in plan.items if i.action == "retire"] + plan.retired,
                            retire_label=RETIRED_LABEL, retired_how=self.target.retired_as,
                            edited_in=self.target.label)
        plan.summary = self._jira.plan_epic_summary(case_set.epic.key, body)
        return plan

    # -- execution ------------------------------------------------------------------------------
    def _writes(self) -> int:
        return self.writer.writes + self.target.writes()

    def _execute(self, item: PlanItem, case_set: CaseSet) -> None:
        if item.action == "retire":
            self.target.retire(item.target or "")
            return
        if not item.case_id or item.action == "conflict":
            return
        managed = self._managed[item.case_id]
        if item.action == "create":
            item.target = self.target.create(managed, case_set)
        elif item.action == "update" or item.repairs:
            self.target.update(item.target or "", managed)
            if item.case_id in self._revive:
                self.target.revive(item.target or "", managed, case_set)

    def run(self, case_set: CaseSet, *, dry_run: bool = False) -> WriteBackResult:
        plan = self.plan(case_set)
        result = WriteBackResult(plan=plan, dry_run=dry_run)
        for item in plan.items:
            if item.case_id and item.target:
                result.keys[item.case_id] = item.target
        if dry_run:
            return result
        before = self._writes()
        todo = [i for i in plan.items if i.action in ("create", "update", "retire") or i.repairs]
        done = 0
        try:
            for item in plan.items:
                at = self._writes()
                self._execute(item, case_set)
                if item.case_id and item.target:
                    result.keys[item.case_id] = item.target
                done += self._writes() > at
            self.target.after_cases([i.target for i in plan.items if i.case_id and i.target
                                 and i.action in ("create", "update", "unchanged")], case_set)
            if plan.summary is not None:
                self._jira.write_epic_summary(plan.summary)
        except AtlassianError as exc:
            raise CasewrightError(f"write-back to {self.target.label} stopped after {done} of {len(todo)} cases to "
                                  f"write: {exc}. Run it again: finished work is found and not repeated") from None
        finally:
            result.writes = self._writes() - before
        return result

