"""Xray Data Center / Server: Test issues created through Jira's REST API (with the "Test Type"
custom field set to Manual and the identity property set in the same request), their steps
through Xray's REST API on the Jira instance (`/rest/raven/1.0/api/test/{key}/step`: PUT adds a
step, POST .../{id} updates one, DELETE .../{id} removes one), the "Tests" link to the story.

A create runs as: the issue (labelled `casewright-incomplete`), its steps, its link, then the label
comes off; a case found with the label was interrupted, and `update()` finishes it. Retries and
errors are Jira's (connectors/atlassian_http.py: JIRA_PAT or JIRA_EMAIL + JIRA_API_TOKEN).
"""

from __future__ import annotations

import json
from typing import Any

from connectors.atlassian_http import JIRA, call
from connectors.errors import CasewrightError
from connectors.jira_writer import JiraWriter
from connectors.managed_cases import (
    IDENTITY_PROPERTY,
    LABEL,
    PENDING_LABEL,
    RETIRED_LABEL,
    ManagedCase,
    StoredCase,
    matching,
)
from connectors.xray_cases import TEST_FIELDS, jira_fields, labels_of, native, steps_of, stored

TEST_TYPE_SCHEMA = "com.xpandit.plugins.xray:test-type-custom-field"
STEPS_PATH = "/rest/raven/1.0/api/test/{key}/step"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class XrayServer:
    def __init__(self, jira: JiraWriter, *, project_key: str, link_type: str = "Tests",
                 identity_property: str = IDENTITY_PROPERTY, test_issue_type: str = "Test") -> None:
        self.jira = jira
        self.project_key = project_key
        self.link_type = link_type
        self.identity_property = identity_property
        self.test_issue_type = test_issue_type
        self._test_type_field: str | None = None

    @property
    def writes(self) -> int:
        return self.jira.writes

    def _call(self, fn, what: str):  # noqa: ANN001, ANN202
        return call(fn, what=what, service=JIRA, policy=self.jira.retry, url=self.jira.url, sleep=self.jira.sleep)

    def _raven(self, method: str, key: str, step_id: Any = None, body: Any = None) -> Any:
        url = self.jira.url + STEPS_PATH.format(key=key) + (f"/{step_id}" if step_id is not None else "")
        if method != "GET":
            self.jira.writes += 1
        session = self.jira.client._session
        resp = session.request(method, url, data=json.dumps(body) if body is not None else None,
                               headers={"Content-Type": "application/json"})
        return resp.json() if resp.content else None

    def test_type_field(self) -> str:
        """The id of Xray's "Test Type" custom field (asked of /field once)."""
        if self._test_type_field is None:
            fields = self._call(lambda: self.jira.client._get_json("field"), "read the Jira fields (/field)")
            for f in fields or []:
                if (f.get("schema") or {}).get("custom") == TEST_TYPE_SCHEMA:
                    self._test_type_field = f["id"]
                    break
            else:
                raise CasewrightError("Jira has no Xray 'Test Type' field: is Xray installed on this Jira Data Center, "
                                      "and is the Test issue type in the project's Xray settings?")
        return self._test_type_field

    # -- reading -------------------------------------------------------------------------------
    def native(self, case: ManagedCase) -> dict[str, Any]:
        return native(case)

    def steps(self, key: str) -> list[dict[str, Any]]:
        raw = self._call(lambda: self._raven("GET", key), f"read the steps of {key}") or []
        return [{"id": s["id"], "action": (s.get("step") or {}).get("raw") or "",
                 "data": (s.get("data") or {}).get("raw") or "", "result": (s.get("result") or {}).get("raw") or ""}
                for s in sorted(raw, key=lambda s: s.get("index", 0))]

    def _stored(self, issue: dict[str, Any]) -> StoredCase:
        return stored(issue, self.steps(issue["key"]), (issue.get("properties") or {}).get(self.identity_property),
                      self.link_type)

    def existing(self) -> list[StoredCase]:
        jql = (f"project = {_quote(self.project_key)} AND issuetype = {_quote(self.test_issue_type)} "
               f"AND labels = {LABEL} ORDER BY key ASC")
        return [self._stored(i) for i in self.jira.search(jql, fields=TEST_FIELDS, properties=self.identity_property)]

    def find(self, **identity: Any) -> list[StoredCase]:
        return matching(self.existing(), identity)

    def read(self, key: str) -> StoredCase:
        return self._stored(self.jira.get_issue(key, fields=TEST_FIELDS, properties=self.identity_property))

    # -- writing -------------------------------------------------------------------------------
    def _write_steps(self, key: str, case: ManagedCase) -> None:
        have = self.steps(key)
        want = steps_of(case)
        for i, step in enumerate(want):
            body = {"step": step["action"], "data": step["data"], "result": step["result"]}
            if i < len(have):
                if {k: have[i][k] for k in ("action", "data", "result")} != step:
                    self._call(lambda: self._raven("POST", key, have[i]["id"], body), f"update step {i + 1} of {key}")
            else:
                self._call(lambda: self._raven("PUT", key, body=dict(body, attachments=[])),
                           f"add step {i + 1} to {key}")
        for extra in have[len(want):]:
            self._call(lambda: self._raven("DELETE", key, extra["id"]), f"remove a step of {key}")

    def _finish(self, key: str, case: ManagedCase) -> None:
        if self.jira.get_property(key, self.identity_property) != case.identity:
            self.jira.set_property(key, self.identity_property, case.identity)
        if not self.jira.is_linked(self.jira.get_issue(key, fields="issuelinks"), self.link_type, case.story_key):
            self.jira.link(self.link_type, key, case.story_key)

    def create(self, case: ManagedCase) -> str:
        fields = jira_fields(case, self.project_key, pending=True)
        fields.update({"issuetype": {"name": self.test_issue_type}, self.test_type_field(): {"value": "Manual"}})

        def lookup() -> str | None:
            found = self.find(**case.identity) if case.identity else []
            return found[0].id if found else None

        key = self.jira.create_issue(fields, find_existing=lookup, properties={self.identity_property: case.identity})
        self._write_steps(key, case)
        self._finish(key, case)
        self.jira.update_fields(key, {}, {"labels": [{"remove": PENDING_LABEL}]})
        return key

    def update(self, key: str, case: ManagedCase) -> None:
        current = self.read(key)
        fields = {k: v for k, v in jira_fields(case, self.project_key).items() if k not in ("project", "labels")}
        kept = [x for x in current.labels if not x.startswith(LABEL)]
        labels = sorted(set(labels_of(case) + kept + ([RETIRED_LABEL] if current.retired else [])))
        # steps, identity and link first: the labels (without `casewright-incomplete`) come last, so a
        # Test whose update stops part-way still says it is incomplete
        self._write_steps(key, case)
        self._finish(key, case)
        if current.content["summary"] != fields["summary"] or current.content["description"] != fields["description"] \
                or sorted(current.labels) != labels or "priority" in fields:
            self.jira.update_fields(key, {**fields, "labels": labels})

    def retire(self, key: str) -> None:
        self.jira.add_labels(key, [RETIRED_LABEL])
