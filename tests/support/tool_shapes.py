"""The vendors' documented API shapes the emulators are checked against (and the Xray JSON and CSV
files too), written from the vendors' published documentation, not copied from it:

- Xray Cloud GraphQL (https://xray.cloud.getxray.app/doc/graphql/): the signatures of the queries
  and mutations casewright uses, the fields of their types, the test types, and that
  `POST /api/v2/authenticate` answers the token as a JSON string;
- TestRail API v2 (https://support.testrail.com/hc/en-us/sections/7077185274644-API-reference):
  cases, case fields (get_case_fields), priorities, case types, templates, sections, the paginated
  list envelope (TestRail 6.7+) and the error body, as JSON Schemas;
- Zephyr Scale Cloud API v2 (https://support.smartbear.com/zephyr-scale-cloud/api-docs/): its
  OpenAPI document is not shipped by any package we can install, so these JSON Schemas are written
  from the documented request/response shapes: the paged list, test case, created resource, test
  step, project, priority, status, folder, issue link and error.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema
from jsonschema import Draft202012Validator

# -- Xray Cloud GraphQL -------------------------------------------------------------------------------
XRAY_SIGNATURES = {
    "Mutation.createTest": "(testType: UpdateTestTypeInput, steps: [CreateStepInput], unstructured: String, "
                           "gherkin: String, preconditionIssueIds: [String], folderPath: String, jira: JSON!)"
                           ": CreateTestResult",
    "Mutation.addTestStep": "(issueId: String!, versionId: Int, step: CreateStepInput!): Step",
    "Mutation.updateTestStep": "(stepId: String!, step: UpdateStepInput!): UpdateTestStepResult",
    "Mutation.removeTestStep": "(stepId: String!): String",
    "Mutation.removeAllTestSteps": "(issueId: String!, versionId: Int): String",
    "Mutation.createTestSet": "(testIssueIds: [String], jira: JSON!): CreateTestSetResult",
    "Mutation.removeTestsFromTestSet": "(issueId: String!, testIssueIds: [String]!): String",
    "Query.getTests": "(issueIds: [String], jql: String, projectId: String, testType: TestTypeInput, "
                      "modifiedSince: String, limit: Int!, start: Int, folder: FolderSearchInput): TestResults",
    "Query.getTestSets": "(issueIds: [String], jql: String, projectId: String, limit: Int!, start: Int, "
                         "modifiedSince: String): TestSetResults",
}
XRAY_TYPE_FIELDS = {
    "Test": {"issueId", "projectId", "testType", "steps", "folder", "jira", "lastModified"},
    "Step": {"id", "action", "data", "result"},
    "TestType": {"name", "kind"},
    "TestResults": {"total", "start", "limit", "results"},
    "CreateTestResult": {"test", "warnings"},
    "CreateTestSetResult": {"testSet", "warnings"},
    "UpdateTestStepResult": {"warnings"},
    "CreateStepInput": {"action", "data", "result"},
    "UpdateStepInput": {"action", "data", "result"},
    "UpdateTestTypeInput": {"id", "name"},
}
XRAY_TEST_TYPES = {"Manual", "Cucumber", "Generic"}  # the default test types; Manual is step-based
XRAY_STEP_KEYS = {"action", "data", "result"}         # a step, in GraphQL and in the bulk import JSON


def served_signature(schema: GraphQLSchema, dotted: str) -> str | None:
    root, _, name = dotted.partition(".")
    owner = schema.query_type if root == "Query" else schema.mutation_type
    field = owner.fields.get(name) if owner else None
    if field is None:
        return None
    args = ", ".join(f"{n}: {a.type}" for n, a in field.args.items())
    return f"({args}): {field.type}"


def served_fields(schema: GraphQLSchema, type_name: str) -> set[str]:
    t = schema.get_type(type_name)
    return set(getattr(t, "fields", {}) or {})


# -- JSON Schemas --------------------------------------------------------------------------------------
S, I, B = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
S_NULL, I_NULL = {"type": ["string", "null"]}, {"type": ["integer", "null"]}


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None, *, extra: bool = True) -> dict[str, Any]:
    return {"type": "object", "required": sorted(required), "properties": {**required, **(optional or {})},
            "additionalProperties": extra}


TESTRAIL_STEP = obj({"content": S, "expected": S}, {"additional_info": S_NULL, "refs": S_NULL}, extra=False)
TESTRAIL = {
    "case": {**obj({"id": I, "title": S, "section_id": I, "template_id": I, "type_id": I, "priority_id": I,
                    "milestone_id": I_NULL, "refs": S_NULL, "created_by": I, "created_on": I, "updated_by": I,
                    "updated_on": I, "estimate": S_NULL, "estimate_forecast": S_NULL, "suite_id": I,
                    "display_order": I, "is_deleted": I},
                   {"custom_preconds": S_NULL, "custom_steps_separated": {"type": ["array", "null"],
                                                                          "items": TESTRAIL_STEP}}, extra=False),
             "patternProperties": {"^custom_": {}}},
    "case_field": obj({"id": I, "is_active": B, "type_id": {"enum": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12]},
                       "name": S, "system_name": {"type": "string", "pattern": "^custom_"}, "label": S,
                       "description": S_NULL, "display_order": I, "include_all": B,
                       "template_ids": {"type": "array", "items": I},
                       "configs": {"type": "array", "items": obj({
                           "context": obj({"is_global": B, "project_ids": {"type": ["array", "null"], "items": I}}),
                           "options": obj({"is_required": B}), "id": S})}}),
    "priority": obj({"id": I, "name": S, "short_name": S, "is_default": B, "priority": I}),
    "case_type": obj({"id": I, "name": S, "is_default": B}),
    "template": obj({"id": I, "name": S, "is_default": B}),
    "section": obj({"id": I, "suite_id": I, "name": S, "description": S_NULL, "parent_id": I_NULL,
                    "display_order": I, "depth": I}),
    "project": obj({"id": I, "name": S, "suite_mode": {"enum": [1, 2, 3]}, "is_completed": B, "url": S}),
    "error": obj({"error": S}, extra=False),
}


def paged_testrail(key: str) -> dict[str, Any]:
    return obj({"offset": I, "limit": I, "size": I, key: {"type": "array"},
                "_links": obj({"next": S_NULL, "prev": S_NULL})})


REF = obj({"id": I, "self": S})
ZEPHYR = {
    "page": obj({"next": S_NULL, "startAt": I, "maxResults": I, "total": I, "isLast": B, "values": {"type": "array"}}),
    "test_case": obj({"id": I, "key": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*-T[0-9]+$"}, "name": S,
                      "project": REF, "createdOn": S, "priority": REF, "status": REF,
                      "labels": {"type": "array", "items": S}, "customFields": {"type": "object"},
                      "links": obj({"self": S, "issues": {"type": "array", "items": obj({
                          "self": S, "issueId": I, "id": I, "target": S, "type": S})},
                          "webLinks": {"type": "array"}}), "testScript": obj({"self": S})},
                     {"objective": S_NULL, "precondition": S_NULL, "estimatedTime": I_NULL,
                      "folder": {"oneOf": [REF, {"type": "null"}]}}),
    "created_case": obj({"id": I, "self": S, "key": S}, extra=False),
    "created": obj({"id": I, "self": S}, extra=False),
    "test_step": obj({"inline": obj({"description": S}, {"testData": S_NULL, "expectedResult": S_NULL,
                                                          "customFields": {"type": ["object", "null"]},
                                                          "reflectRef": S_NULL}),
                      "testCase": {"type": ["object", "null"]}}),
    "project": obj({"id": I, "jiraProjectId": I, "key": S, "enabled": B}),
    "priority": obj({"id": I, "project": REF, "name": S, "index": I, "default": B}),
    "status": obj({"id": I, "project": REF, "name": S, "index": I, "archived": B, "default": B}),
    "folder": obj({"id": I, "parentId": I_NULL, "name": S, "index": I,
                   "folderType": {"enum": ["TEST_CASE", "TEST_PLAN", "TEST_CYCLE"]}, "project": REF}),
    "error": obj({"errorCode": I, "message": S}),
}


def problems(schema: dict[str, Any], instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:160]}"
            for e in Draft202012Validator(schema).iter_errors(instance)]
