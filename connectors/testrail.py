"""TestRail (API v2) through the maintained `testrail-api` client: sections per epic and story,
cases with the steps-separated template (`custom_steps_separated`), priority and type by name,
the story key in `refs`, the identity record in a Text case field (TESTRAIL_IDENTITY_FIELD, default
"casewright", i.e. `custom_casewright`, which an administrator adds), and the required custom
fields found with get_case_fields and reported before anything is written.

The client's own 429 loop is off: connectors/atlassian_http.py decides the bounded retries for
every call; a create whose answer was lost looks for its case by identity before sending again.
Retiring moves the case to a section (default "Retired (casewright)") at the suite's root.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from testrail_api import TestRailAPI

from connectors.atlassian_http import AtlassianError, RetryPolicy, Service, call
from connectors.errors import CasewrightError
from connectors.managed_cases import (
    ManagedCase,
    StoredCase,
    create_once,
    decode_identity,
    encode_identity,
    matching,
    one_line,
)

TESTRAIL = Service("TestRail", "check TESTRAIL_EMAIL + TESTRAIL_API_KEY (My Settings > API Keys) and TESTRAIL_URL")
STEPS_TEMPLATE = "Test Case (Steps)"
STEPS_FIELD = "custom_steps_separated"
PRECONDS_FIELD = "custom_preconds"
PAGE = 250


@dataclass(frozen=True)
class CaseField:
    system_name: str   # e.g. custom_automation_type
    label: str
    type_id: int
    required: bool


def preconds(case: ManagedCase) -> str:
    parts = [case.objective.strip()] if case.objective.strip() else []
    if case.preconditions:
        parts.append("Preconditions:\n" + "\n".join(f"- {p.strip()}" for p in case.preconditions))
    return "\n\n".join(parts)


def steps_separated(case: ManagedCase) -> list[dict[str, str]]:
    return [{"content": s.action, "expected": s.expected or "", "additional_info": s.data or ""} for s in case.steps]


class TestRailCases:
    __test__ = False  # not a pytest test class

    def __init__(self, url: str | None, email: str | None, api_key: str | None, *, project_id: int | None,
                 suite_id: int | None = None, identity_field: str = "casewright",
                 retired_section: str = "Retired (casewright)", retry: RetryPolicy | None = None,
                 timeout: float = 30.0) -> None:
        if not url:
            raise CasewrightError("TESTRAIL_URL is not set; point it at your TestRail (https://yourteam.testrail.io)")
        if not email or not api_key:
            raise CasewrightError("TestRail credentials are missing: set TESTRAIL_EMAIL and TESTRAIL_API_KEY")
        if not project_id:
            raise CasewrightError("TESTRAIL_PROJECT_ID is not set; give the id of the TestRail project to write to")
        self.url = url.rstrip("/")
        self.api = TestRailAPI(self.url, email, api_key, timeout=timeout, exc_iterations=1, rate_limit=False,
                               warn_ignore=True)
        self.project_id = int(project_id)
        self._suite_id = suite_id
        self.identity_key = "custom_" + identity_field.removeprefix("custom_")
        self.retired_section = retired_section
        self.retry = retry or RetryPolicy()
        self.sleep = time.sleep
        self.writes = 0
        self._cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"TestRailCases(url={self.url!r}, project_id={self.project_id})"

    # -- plumbing ------------------------------------------------------------------------------
    def _call(self, fn, what: str, *, write: bool = False):  # noqa: ANN001, ANN202
        def counted():  # noqa: ANN202
            if write:
                self.writes += 1
            return fn()
        return call(counted, what=what, service=TESTRAIL, policy=self.retry, url=self.url, sleep=self.sleep)

    def _cached(self, name: str, fn, what: str):  # noqa: ANN001, ANN202
        if name not in self._cache:
            self._cache[name] = self._call(fn, what)
        return self._cache[name]

    def _pages(self, fn, key: str, what: str, **params: Any) -> list[dict[str, Any]]:  # noqa: ANN001
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self._call(lambda: fn(self.project_id, limit=PAGE, offset=offset, **params), what)
            if isinstance(page, list):  # TestRail before 6.7: no paging
                return out + page
            items = page.get(key) or []
            out.extend(items)
            offset += len(items)
            if not (page.get("_links") or {}).get("next") or not items:
                return out

    # -- the project's configuration -------------------------------------------------------------
    def suite_id(self) -> int | None:
        """TESTRAIL_SUITE_ID, or the project's one suite (None in single-suite mode)."""
        if self._suite_id is not None:
            return int(self._suite_id)
        project = self._cached("project", lambda: self.api.projects.get_project(self.project_id),
                               f"read TestRail project {self.project_id}")
        if project.get("suite_mode") == 1:
            return None
        suites = self._cached("suites", lambda: self.api.suites.get_suites(self.project_id), "read the suites")
        suites = suites.get("suites", []) if isinstance(suites, dict) else suites
        if len(suites) != 1:
            names = ", ".join(f"{s['id']} ({s['name']})" for s in suites) or "none"
            raise CasewrightError(f"TestRail project {self.project_id} has {len(suites)} suites ({names}); set "
                                  "TESTRAIL_SUITE_ID to the one casewright writes to")
        self._suite_id = int(suites[0]["id"])
        return self._suite_id

    def template_id(self) -> int:
        templates = self._cached("templates", lambda: self.api.templates.get_templates(self.project_id),
                                 "read the case templates")
        for t in templates:
            if t.get("name") == STEPS_TEMPLATE:
                return int(t["id"])
        raise CasewrightError(f"TestRail project {self.project_id} has no '{STEPS_TEMPLATE}' template; enable it "
                              "under Administration > Customizations > Templates")

    def case_fields(self) -> list[CaseField]:
        """The case fields (get_case_fields) that apply to this project and the steps template."""
        raw = self._cached("fields", self.api.case_fields.get_case_fields, "read the case fields (get_case_fields)")
        template = self.template_id()
        out = []
        for f in raw:
            if not f.get("is_active", True) or not (f.get("include_all") or template in (f.get("template_ids") or [])):
                continue
            for cfg in f.get("configs") or []:
                ctx = cfg.get("context") or {}
                if ctx.get("is_global") or self.project_id in (ctx.get("project_ids") or []):
                    out.append(CaseField(f["system_name"], f.get("label") or f["name"], int(f["type_id"]),
                                         bool((cfg.get("options") or {}).get("is_required"))))
                    break
        return out

    def missing_required(self, case: ManagedCase) -> list[CaseField]:
        """The required custom fields neither casewright nor the case's mapped `custom_fields` fill."""
        filled = {PRECONDS_FIELD, STEPS_FIELD, self.identity_key, *case.custom_fields}
        return [f for f in self.case_fields() if f.required and f.system_name not in filled]

    def check(self, case: ManagedCase) -> None:
        """Raise, before any write, what stops this case: no identity field, unknown or missing fields."""
        fields = {f.system_name: f for f in self.case_fields()}
        if self.identity_key not in fields:
            raise CasewrightError(
                f"TestRail project {self.project_id} has no case field '{self.identity_key}' for the "
                f"'{STEPS_TEMPLATE}' template: add a Text field with the system name "
                f"{self.identity_key.removeprefix('custom_')} (Administration > Customizations > Add Field) or set "
                "TESTRAIL_IDENTITY_FIELD to the field casewright may use")
        unknown = sorted(k for k in case.custom_fields if k not in fields)
        if unknown:
            raise CasewrightError(f"TestRail project {self.project_id} has no case fields {', '.join(unknown)}; the "
                                  f"house template maps them (fields there: {', '.join(sorted(fields))})")
        missing = self.missing_required(case)
        if missing:
            names = ", ".join(f"{f.label} ({f.system_name})" for f in missing)
            raise CasewrightError(f"TestRail requires the case fields {names} in project {self.project_id}, and the "
                                  "house template does not fill them: map them under its testrail fields")

    def _id_by_name(self, kind: str, name: str) -> int:
        getter = self.api.priorities.get_priorities if kind == "priority" else self.api.case_types.get_case_types
        items = self._cached(kind, getter, f"read the case {kind} list")
        for item in items:
            if str(item.get("name", "")).lower() == name.lower():
                return int(item["id"])
        names = ", ".join(str(i.get("name")) for i in items)
        raise CasewrightError(f"TestRail has no {kind} '{name}' (there are: {names}); map the house template's "
                              "values to these")

    # -- sections ----------------------------------------------------------------------------------
    def _sections(self) -> list[dict[str, Any]]:
        if "sections" not in self._cache:
            params = {"suite_id": self.suite_id()} if self.suite_id() else {}
            self._cache["sections"] = self._pages(self.api.sections.get_sections, "sections", "read the sections",
                                                  **params)
        return self._cache["sections"]

    def ensure_section(self, path: list[str]) -> int:
        """The id of the section `path` (["ER-1 Payment difficulty", "ER-2 ..."]), created level by level."""
        parent: int | None = None
        for name in [p.strip() for p in path if p.strip()]:
            found = next((s for s in self._sections() if s["name"] == name and s.get("parent_id") == parent), None)
            if found is None:
                body = {"parent_id": parent, **({"suite_id": self.suite_id()} if self.suite_id() else {})}
                found = self._call(lambda: self.api.sections.add_section(self.project_id, name, **body),
                                   f"create the section '{name}'", write=True)
                self._sections().append(found)
            parent = int(found["id"])
        if parent is None:
            raise CasewrightError("a TestRail section path needs at least one name")
        return parent

    # -- reading -------------------------------------------------------------------------------
    def native(self, case: ManagedCase) -> dict[str, Any]:
        return {"title": one_line(case.title, 250), PRECONDS_FIELD: preconds(case), STEPS_FIELD: steps_separated(case)}

    def _stored(self, c: dict[str, Any]) -> StoredCase:
        retired_ids = {s["id"] for s in self._sections() if s["name"] == self.retired_section
                       and s.get("parent_id") is None}
        steps = [{"content": s.get("content") or "", "expected": s.get("expected") or "",
                  "additional_info": s.get("additional_info") or ""} for s in c.get(STEPS_FIELD) or []]
        return StoredCase(id=str(c["id"]), identity=decode_identity(c.get(self.identity_key)),
                          content={"title": one_line(c.get("title") or "", 250),
                                   PRECONDS_FIELD: c.get(PRECONDS_FIELD) or "", STEPS_FIELD: steps},
                          retired=c.get("section_id") in retired_ids,
                          story_keys=[r.strip() for r in str(c.get("refs") or "").split(",") if r.strip()], raw=c)

    def existing(self) -> list[StoredCase]:
        """Every case of the suite whose identity field is filled in."""
        params = {"suite_id": self.suite_id()} if self.suite_id() else {}
        cases = self._pages(self.api.cases.get_cases, "cases", "list the cases", **params)
        return [self._stored(c) for c in cases if c.get(self.identity_key)]

    def find(self, **identity: Any) -> list[StoredCase]:
        return matching(self.existing(), identity)

    def read(self, case_id: str | int) -> StoredCase:
        return self._stored(self._call(lambda: self.api.cases.get_case(int(case_id)), f"read case {case_id}"))

    # -- writing -------------------------------------------------------------------------------
    def _fields(self, case: ManagedCase) -> dict[str, Any]:
        body: dict[str, Any] = {"template_id": self.template_id(), "refs": case.story_key,
                                PRECONDS_FIELD: preconds(case), STEPS_FIELD: steps_separated(case),
                                self.identity_key: encode_identity(case.identity), **case.custom_fields}
        if case.priority:
            body["priority_id"] = self._id_by_name("priority", case.priority)
        if case.case_type:
            body["type_id"] = self._id_by_name("type", case.case_type)
        return body

    def create(self, case: ManagedCase, section_path: list[str]) -> str:
        """Create the case in the section `section_path` (created when missing); returns its id."""
        self.check(case)
        section = self.ensure_section(section_path)
        title = one_line(case.title, 250)
        body = self._fields(case)
        what = f"create the case '{title[:60]}'"

        def send() -> dict[str, Any]:
            self.writes += 1
            return self.api.cases.add_case(section, title, **body)

        def lookup() -> str | None:
            found = self.find(**case.identity) if case.identity else []
            return found[0].id if found else None

        answer, existing = create_once(send, lookup, what=what, service=TESTRAIL, policy=self.retry, url=self.url,
                                       sleep=self.sleep)
        case_id = existing or str((answer or {}).get("id") or "")
        if not case_id:
            raise AtlassianError(f"TestRail did not return the id of the created case '{title[:60]}'")
        return case_id

    def update(self, case_id: str | int, case: ManagedCase) -> None:
        """Rewrite the case's fields and steps (partial update; it stays in its section)."""
        self.check(case)
        self._call(lambda: self.api.cases.update_case(int(case_id), title=one_line(case.title, 250),
                                                      **self._fields(case)), f"update case {case_id}", write=True)

    def move(self, case_id: str | int, section_path: list[str], what: str = "move") -> None:
        """Move the case to the section `section_path` (created when missing)."""
        section = self.ensure_section(section_path)
        suite = next(int(s["suite_id"]) for s in self._sections() if s["id"] == section)
        self._call(lambda: self.api.cases.move_cases_to_section(section, suite, [int(case_id)]),
                   f"{what} case {case_id}", write=True)

    def retire(self, case_id: str | int) -> None:
        """Move the case to the retired section at the suite's root; it is never deleted."""
        self.move(case_id, [self.retired_section], "retire")

    def revive(self, case_id: str | int, section_path: list[str]) -> None:
        """Bring a retired case back into its story's section."""
        self.move(case_id, section_path, "restore")
