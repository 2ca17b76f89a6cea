"""What differs per test-management tool in a write-back (agent/writeback/tools.py carries out the
rest, the same for all): where a case goes, how its story link is checked, how a retired case
comes back, what else an epic gets.

- **xray**: a Manual Test per case in the story's project (Xray Cloud or Server, as the Jira
  deployment says), linked to the story with "Tests"; on Cloud, new tests go to the Test
  Repository folder XRAY_FOLDER and, with XRAY_TEST_SET, into the epic's Test Set;
- **zephyr**: a test case per case in the story's project, in the folder ZEPHYR_FOLDER, linked to
  the story by its numeric Jira issue id, steps written with OVERWRITE;
- **testrail**: a case per case in the section of its story inside the section of its epic, the
  story key in `refs`; the required custom fields are checked before anything is written.
"""

from __future__ import annotations

from typing import Any

from agent.models import CaseSet
from connectors.case_targets import CaseTargets
from connectors.jira_writer import JiraWriter
from connectors.managed_cases import RETIRED_LABEL, ManagedCase, StoredCase, one_line
from connectors.xray_cloud import XrayCloud


def _project(key: str) -> str:
    return key.rsplit("-", 1)[0]


class ToolTarget:
    """One tool, for one epic's write-back."""

    mode = ""
    label = ""
    written_as = ""
    retired_as = f"label {RETIRED_LABEL}"   # how the epic summary says retired cases are marked
    needs_story_ids = False

    def __init__(self, targets: CaseTargets, writer: JiraWriter) -> None:
        self.targets = targets
        self.writer = writer

    def records(self, case_set: CaseSet) -> list[StoredCase]:
        raise NotImplementedError

    def native(self, case: ManagedCase) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, cases: list[ManagedCase]) -> None:
        """Before any write: raise what would stop one of these cases (reads only)."""

    def story_of(self, stored: StoredCase, case_set: CaseSet) -> str | None:
        """The story of a case with no readable identity record, from its link (None: unknown)."""
        keys = {s.key for s in case_set.stories} & set(stored.story_keys)
        return next(iter(keys)) if len(keys) == 1 else None

    def linked(self, stored: StoredCase, case: ManagedCase) -> bool:
        return case.story_key in stored.story_keys

    def create(self, case: ManagedCase, case_set: CaseSet) -> str:
        raise NotImplementedError

    def update(self, ref: str, case: ManagedCase) -> None:
        raise NotImplementedError

    def retire(self, ref: str) -> None:
        raise NotImplementedError

    def revive(self, ref: str, case: ManagedCase, case_set: CaseSet) -> None:
        raise NotImplementedError

    def after_cases(self, refs: list[str], case_set: CaseSet) -> None:
        """After the cases (`refs`: every current one): what an epic gets besides them (Xray's Test Set)."""

    def writes(self) -> int:
        """Writes sent to the tool itself (the Jira side is counted by the JiraWriter)."""
        return 0


class _PerProject(ToolTarget):
    """A tool whose connector works on one project: one connector per project of the stories."""

    def __init__(self, targets: CaseTargets, writer: JiraWriter) -> None:
        super().__init__(targets, writer)
        self._by_project: dict[str, Any] = {}
        self._where: dict[str, str] = {}        # ref -> project

    def connector(self, project: str) -> Any:
        if project not in self._by_project:
            self._by_project[project] = self._make(project)
        return self._by_project[project]

    def _make(self, project: str) -> Any:
        raise NotImplementedError

    def records(self, case_set: CaseSet) -> list[StoredCase]:
        out = []
        for project in sorted({_project(k) for k in [s.key for s in case_set.stories] + [case_set.epic.key]}):
            for stored in self.connector(project).existing():
                self._where[stored.id] = project
                out.append(stored)
        return out

    def of(self, ref: str) -> Any:
        return self.connector(self._where.get(ref) or _project(ref))

    def native(self, case: ManagedCase) -> dict[str, Any]:
        return self.connector(_project(case.story_key)).native(case)

    def update(self, ref: str, case: ManagedCase) -> None:
        self.of(ref).update(ref, case)

    def retire(self, ref: str) -> None:
        self.of(ref).retire(ref)


class XrayTarget(_PerProject):
    mode, label, written_as = "xray", "Xray", "Xray Manual tests linked to their stories"

    def __init__(self, targets: CaseTargets, writer: JiraWriter) -> None:
        super().__init__(targets, writer)
        self._ids: dict[str, str] = {}          # key -> Jira issue id, of the tests read

    def _make(self, project: str) -> Any:
        return self.targets.xray(self.writer, project)

    def create(self, case: ManagedCase, case_set: CaseSet) -> str:
        xray = self.connector(_project(case.story_key))
        if isinstance(xray, XrayCloud):
            key = xray.create(case, folder=self.targets.xray_folder_for(case_set.epic.key))
        else:
            key = xray.create(case)
        self._where[key] = _project(case.story_key)
        return key

    def revive(self, ref: str, case: ManagedCase, case_set: CaseSet) -> None:
        self.writer.update_fields(ref, {}, {"labels": [{"remove": RETIRED_LABEL}]})

    def records(self, case_set: CaseSet) -> list[StoredCase]:
        found = super().records(case_set)
        self._ids = {s.id: str(s.raw.get("id")) for s in found if s.raw.get("id")}
        return found

    def after_cases(self, refs: list[str], case_set: CaseSet) -> None:
        """With XRAY_TEST_SET (Cloud): the epic's Test Set holds every current test (those a stopped
        run left out included); nothing is written when it does."""
        xray = self.connector(_project(case_set.epic.key))
        if not refs or not self.targets.xray_test_set or not isinstance(xray, XrayCloud):
            return
        test_set = xray.ensure_test_set(case_set.epic.key, f"{case_set.epic.key}: {one_line(case_set.epic.summary, 200)}"
                                                           " (UAT cases, casewright)")
        wanted = [self._ids.get(ref) or str(self.writer.get_issue(ref, fields="summary")["id"]) for ref in refs]
        have = set(xray.test_set_members(test_set))
        missing = [i for i in wanted if i not in have]
        if missing:
            xray.add_to_test_set(test_set, missing)

    def writes(self) -> int:
        return sum(x.writes for x in self._by_project.values() if isinstance(x, XrayCloud))


class ZephyrTarget(_PerProject):
    mode, label, written_as = "zephyr", "Zephyr Scale", "Zephyr Scale test cases linked to their stories"
    needs_story_ids = True

    def __init__(self, targets: CaseTargets, writer: JiraWriter) -> None:
        super().__init__(targets, writer)
        self.retired_as = f"label {RETIRED_LABEL}, status {targets.zephyr_retired_status}"

    def _make(self, project: str) -> Any:
        return self.targets.zephyr(project)

    def check(self, cases: list[ManagedCase]) -> None:
        for case in cases:
            self.connector(_project(case.story_key)).check(case)

    def story_of(self, stored: StoredCase, case_set: CaseSet) -> str | None:
        keys = {s.key for s in case_set.stories if s.id and s.id in stored.story_keys}
        return next(iter(keys)) if len(keys) == 1 else None

    def linked(self, stored: StoredCase, case: ManagedCase) -> bool:
        return not case.story_id or str(case.story_id) in stored.story_keys

    def create(self, case: ManagedCase, case_set: CaseSet) -> str:
        key = self.connector(_project(case.story_key)).create(
            case, folder=self.targets.zephyr_folder_for(case_set.epic.key))
        self._where[key] = _project(case.story_key)
        return key

    def revive(self, ref: str, case: ManagedCase, case_set: CaseSet) -> None:
        self.of(ref).revive(ref)

    def writes(self) -> int:
        return sum(z.writes for z in self._by_project.values())


class TestRailTarget(ToolTarget):
    __test__ = False  # not a pytest test class
    mode, label, written_as = "testrail", "TestRail", "TestRail cases in a section per story"

    def __init__(self, targets: CaseTargets, writer: JiraWriter) -> None:
        super().__init__(targets, writer)
        self.testrail = targets.testrail()
        self.retired_as = f"moved to the section {targets.testrail_retired_section}"

    def records(self, case_set: CaseSet) -> list[StoredCase]:
        return self.testrail.existing()

    def native(self, case: ManagedCase) -> dict[str, Any]:
        return self.testrail.native(case)

    def check(self, cases: list[ManagedCase]) -> None:
        for case in cases:
            self.testrail.check(case)

    @staticmethod
    def sections(case: ManagedCase, case_set: CaseSet) -> list[str]:
        story = next((s for s in case_set.stories if s.key == case.story_key), None)
        return [one_line(f"{case_set.epic.key} {case_set.epic.summary}", 250),
                one_line(f"{case.story_key} {story.summary if story else ''}", 250)]

    def create(self, case: ManagedCase, case_set: CaseSet) -> str:
        return self.testrail.create(case, self.sections(case, case_set))

    def update(self, ref: str, case: ManagedCase) -> None:
        self.testrail.update(ref, case)

    def retire(self, ref: str) -> None:
        self.testrail.retire(ref)

    def revive(self, ref: str, case: ManagedCase, case_set: CaseSet) -> None:
        self.testrail.revive(ref, self.sections(case, case_set))

    def writes(self) -> int:
        return self.testrail.writes


TARGETS: dict[str, type[ToolTarget]] = {"xray": XrayTarget, "zephyr": ZephyrTarget, "testrail": TestRailTarget}
"""The test-management write-back modes and their targets."""
