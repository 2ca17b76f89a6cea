"""The TestRail emulator's data: one seeded project (id 1) with a suite, the default priorities,
case types and templates, the case fields (custom ones included, with per-project configs), and
the sections and cases written through the API, in TestRail's own object shapes (API v2).

Held in memory; app.py turns requests into calls here. Validation errors are raised as
TestRailInvalid with TestRail's own message ("Field :title is a required field.").
"""

from __future__ import annotations

import copy
import itertools
import time
from typing import Any

from connectors.emulators.atlassian.controls import Credentials, Faults, RecordedRequest

PRIORITIES = [(1, "Low", "Low", False), (2, "Medium", "Medium", True), (3, "High", "High", False),
              (4, "Critical", "Critical", False)]
CASE_TYPES = ["Acceptance", "Accessibility", "Automated", "Compatibility", "Destructive", "Functional", "Other",
              "Performance", "Regression", "Security", "Smoke & Sanity", "Usability"]
DEFAULT_TYPE = "Other"
TEMPLATES = [(1, "Test Case (Text)", False), (2, "Test Case (Steps)", True), (3, "Exploratory Session", False)]
STEPS_TEMPLATE = 2
# TestRail's custom field type ids (get_case_fields' type_id)
FIELD_TYPES = {"String": 1, "Integer": 2, "Text": 3, "URL": 4, "Checkbox": 5, "Dropdown": 6, "User": 7, "Date": 8,
               "Milestone": 9, "Steps": 10, "Multi-select": 12}
IDENTITY_FIELD = "casewright"  # the Text field the sandbox has, as an administrator would add it


class TestRailInvalid(ValueError):
    """A request TestRail answers 400 (or `status`), with its one-line message."""

    __test__ = False  # not a pytest test class

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _now() -> int:
    return int(time.time())


class TestRailState:
    __test__ = False  # not a pytest test class

    def __init__(self, *, project_name: str = "UAT", credentials: Credentials | None = None) -> None:
        self.credentials = credentials or Credentials()
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self._ids = itertools.count(1)
        self._case_ids = itertools.count(1)
        self.user_id = 1
        self.projects: dict[int, dict[str, Any]] = {1: {
            "id": 1, "name": project_name, "announcement": None, "show_announcement": False, "is_completed": False,
            "completed_on": None, "suite_mode": 3, "default_role_id": None, "url": "/index.php?/projects/overview/1"}}
        self.suites: dict[int, dict[str, Any]] = {1: {
            "id": 1, "name": "Master", "description": None, "project_id": 1, "is_master": True, "is_baseline": False,
            "is_completed": False, "completed_on": None, "url": "/index.php?/suites/view/1"}}
        self.sections: dict[int, dict[str, Any]] = {}
        self.cases: dict[int, dict[str, Any]] = {}
        self.fields: list[dict[str, Any]] = []
        for name, label, type_name, templates in (
                ("preconds", "Preconditions", "Text", [1, 2]), ("steps", "Steps", "Text", [1]),
                ("expected", "Expected Result", "Text", [1]), ("steps_separated", "Steps", "Steps", [2]),
                ("mission", "Mission", "Text", [3]), ("goals", "Goals", "Text", [3]),
                (IDENTITY_FIELD, "casewright identity", "Text", [1, 2, 3])):
            self.add_case_field(name, label, type_name, templates=templates)

    # -- reference data ----------------------------------------------------------------------
    def add_case_field(self, name: str, label: str, type_name: str = "String", *, templates: list[int] | None = None,
                       required: bool = False, project_ids: list[int] | None = None,
                       items: list[str] | None = None) -> dict[str, Any]:
        """A custom case field as get_case_fields describes it (global, or for `project_ids`)."""
        fid = len(self.fields) + 1
        options: dict[str, Any] = {"is_required": required, "default_value": ""}
        if type_name in ("Text",):
            options.update({"format": "markdown", "rows": "5"})
        if items:
            options["items"] = "\n".join(f"{i}, {v}" for i, v in enumerate(items, 1))
        field = {
            "id": fid, "is_active": True, "type_id": FIELD_TYPES[type_name], "name": name,
            "system_name": "custom_" + name, "label": label, "description": None,
            "configs": [{"context": {"is_global": project_ids is None, "project_ids": project_ids},
                         "options": options, "id": f"cfg-{fid}"}],
            "display_order": fid, "include_all": templates is None, "template_ids": templates or [],
        }
        self.fields.append(field)
        return field

    def priorities(self) -> list[dict[str, Any]]:
        return [{"id": i, "name": n, "short_name": s, "is_default": d, "priority": i} for i, n, s, d in PRIORITIES]

    def case_types(self) -> list[dict[str, Any]]:
        return [{"id": i, "name": n, "is_default": n == DEFAULT_TYPE} for i, n in enumerate(CASE_TYPES, 1)]

    def templates(self, project_id: int) -> list[dict[str, Any]]:
        self.project(project_id)
        return [{"id": i, "name": n, "is_default": d} for i, n, d in TEMPLATES]

    # -- lookups ------------------------------------------------------------------------------
    def project(self, project_id: int) -> dict[str, Any]:
        if project_id not in self.projects:
            raise TestRailInvalid("Field :project_id is not a valid or accessible project.")
        return self.projects[project_id]

    def suite(self, suite_id: Any) -> dict[str, Any]:
        try:
            return self.suites[int(suite_id)]
        except (KeyError, TypeError, ValueError):
            raise TestRailInvalid("Field :suite_id is not a valid test suite.") from None

    def section(self, section_id: Any) -> dict[str, Any]:
        try:
            return self.sections[int(section_id)]
        except (KeyError, TypeError, ValueError):
            raise TestRailInvalid("Field :section_id is not a valid section.") from None

    def case(self, case_id: Any) -> dict[str, Any]:
        try:
            return self.cases[int(case_id)]
        except (KeyError, TypeError, ValueError):
            raise TestRailInvalid("Field :case_id is not a valid test case.") from None

    def suite_for(self, project_id: int, suite_id: Any) -> dict[str, Any]:
        project = self.project(project_id)
        if suite_id in (None, ""):
            if project["suite_mode"] == 3:
                raise TestRailInvalid("Field :suite_id is a required field.")
            return next(s for s in self.suites.values() if s["project_id"] == project_id)
        suite = self.suite(suite_id)
        if suite["project_id"] != project_id:
            raise TestRailInvalid("Field :suite_id is not a valid test suite.")
        return suite

    def fields_for(self, project_id: int, template_id: int) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """system name -> (field, the config that applies to the project) for the fields a case of this
        template in this project has."""
        out = {}
        for f in self.fields:
            if not f["is_active"] or not (f["include_all"] or template_id in f["template_ids"]):
                continue
            for cfg in f["configs"]:
                ctx = cfg["context"]
                if ctx["is_global"] or project_id in (ctx["project_ids"] or []):
                    out[f["system_name"]] = (f, cfg)
                    break
        return out

    # -- sections -----------------------------------------------------------------------------
    def add_section(self, project_id: int, body: dict[str, Any]) -> dict[str, Any]:
        suite = self.suite_for(project_id, body.get("suite_id"))
        name = str(body.get("name") or "").strip()
        if not name:
            raise TestRailInvalid("Field :name is a required field.")
        parent = self.section(body["parent_id"]) if body.get("parent_id") else None
        if parent is not None and parent["suite_id"] != suite["id"]:
            raise TestRailInvalid("Field :parent_id is not a valid section.")
        sid = next(self._ids)
        section = {"id": sid, "suite_id": suite["id"], "name": name, "description": body.get("description"),
                   "parent_id": parent["id"] if parent else None, "display_order": len(self.sections) + 1,
                   "depth": (parent["depth"] + 1) if parent else 0}
        self.sections[sid] = section
        return section

    def sections_of(self, project_id: int, suite_id: Any) -> list[dict[str, Any]]:
        suite = self.suite_for(project_id, suite_id)
        return [s for s in self.sections.values() if s["suite_id"] == suite["id"]]

    # -- cases --------------------------------------------------------------------------------
    def _check_fields(self, project_id: int, case: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
        template_id = int(case.get("template_id") or STEPS_TEMPLATE)
        if template_id not in {t[0] for t in TEMPLATES}:
            raise TestRailInvalid("Field :template_id is not a valid template.")
        if "type_id" in body and body["type_id"] not in {t["id"] for t in self.case_types()}:
            raise TestRailInvalid("Field :type_id is not a valid case type.")
        if "priority_id" in body and body["priority_id"] not in {p["id"] for p in self.priorities()}:
            raise TestRailInvalid("Field :priority_id is not a valid priority.")
        if "refs" in body and body["refs"] is not None and len(str(body["refs"])) > 2000:
            raise TestRailInvalid("Field :refs is too long (2000 characters at most).")
        applicable = self.fields_for(project_id, template_id)
        for key, value in body.items():
            if not key.startswith("custom_"):
                continue
            if key not in applicable:
                raise TestRailInvalid(f"Field :{key} is not a valid custom field for this project and template.")
            field, _ = applicable[key]
            if field["type_id"] == FIELD_TYPES["Steps"] and value is not None:
                if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
                    raise TestRailInvalid(f"Field :{key} must be an array of step objects.")
                for step in value:
                    unknown = set(step) - {"content", "expected", "additional_info", "refs", "shared_step_id"}
                    if unknown:
                        raise TestRailInvalid(f"Field :{key} has unknown step properties: {', '.join(sorted(unknown))}.")
            elif field["type_id"] == FIELD_TYPES["String"] and value is not None and len(str(value)) > 250:
                raise TestRailInvalid(f"Field :{key} is too long (250 characters at most).")
        merged = {**case, **body}
        for key, (field, cfg) in applicable.items():
            if cfg["options"].get("is_required") and merged.get(key) in (None, "", []):
                raise TestRailInvalid(f"Field :{key} is a required field.")

    def add_case(self, section_id: int, body: dict[str, Any]) -> dict[str, Any]:
        section = self.section(section_id)
        suite = self.suites[section["suite_id"]]
        title = str(body.get("title") or "").strip()
        if not title:
            raise TestRailInvalid("Field :title is a required field.")
        if len(title) > 250:
            raise TestRailInvalid("Field :title is too long (250 characters at most).")
        default_type = next(t["id"] for t in self.case_types() if t["is_default"])
        default_priority = next(p["id"] for p in self.priorities() if p["is_default"])
        case = {"template_id": int(body.get("template_id") or STEPS_TEMPLATE)}
        self._check_fields(suite["project_id"], case, body, creating=True)
        stamp = _now()
        cid = next(self._case_ids)
        case = {
            "id": cid, "title": title, "section_id": section["id"], "template_id": case["template_id"],
            "type_id": body.get("type_id") or default_type, "priority_id": body.get("priority_id") or default_priority,
            "milestone_id": body.get("milestone_id"), "refs": body.get("refs"), "created_by": self.user_id,
            "created_on": stamp, "updated_by": self.user_id, "updated_on": stamp, "estimate": body.get("estimate"),
            "estimate_forecast": None, "suite_id": suite["id"], "display_order": len(self.cases) + 1, "is_deleted": 0,
        }
        for key, (field, _) in self.fields_for(suite["project_id"], case["template_id"]).items():
            case[key] = copy.deepcopy(body.get(key))
        self.cases[cid] = case
        return case

    def update_case(self, case_id: int, body: dict[str, Any]) -> dict[str, Any]:
        case = self.case(case_id)
        suite = self.suites[case["suite_id"]]
        if "title" in body and not str(body["title"] or "").strip():
            raise TestRailInvalid("Field :title is a required field.")
        if "section_id" in body:
            target = self.section(body["section_id"])
            if target["suite_id"] != case["suite_id"]:
                raise TestRailInvalid("Field :section_id is not a valid section in this test suite.")
        self._check_fields(suite["project_id"], case, body, creating=False)
        for key, value in body.items():
            if key in ("id", "suite_id", "created_by", "created_on", "updated_on", "updated_by", "is_deleted"):
                continue
            case[key] = copy.deepcopy(value)
        case["updated_on"] = _now()
        case["updated_by"] = self.user_id
        return case

    def move_cases(self, section_id: int, body: dict[str, Any]) -> None:
        section = self.section(section_id)
        raw = body.get("case_ids")
        ids = [int(x) for x in (raw.split(",") if isinstance(raw, str) else raw or []) if str(x).strip()]
        if not ids:
            raise TestRailInvalid("Field :case_ids is a required field.")
        if body.get("suite_id") is not None and int(body["suite_id"]) != section["suite_id"]:
            raise TestRailInvalid("Field :suite_id does not match the section's test suite.")
        for cid in ids:
            self.case(cid)
        for cid in ids:
            self.cases[cid]["section_id"] = section["id"]
            self.cases[cid]["suite_id"] = section["suite_id"]
            self.cases[cid]["updated_on"] = _now()

    def cases_of(self, project_id: int, params: dict[str, str]) -> list[dict[str, Any]]:
        suite = self.suite_for(project_id, params.get("suite_id"))
        out = [c for c in self.cases.values() if c["suite_id"] == suite["id"]]
        if params.get("section_id"):
            out = [c for c in out if str(c["section_id"]) == str(params["section_id"])]
        if params.get("refs"):
            wanted = params["refs"].strip()
            out = [c for c in out if wanted in [r.strip() for r in str(c.get("refs") or "").split(",")]]
        if params.get("filter"):
            out = [c for c in out if params["filter"].lower() in c["title"].lower()]
        for name in ("type_id", "priority_id", "template_id"):
            if params.get(name):
                allowed = {int(x) for x in params[name].split(",") if x.strip()}
                out = [c for c in out if c[name] in allowed]
        return sorted(out, key=lambda c: c["id"])
