"""The JSON schemas a language model answers in: a story's UAT cases (`{"cases": [UATCase]}`), an
epic's plan (the stories in scope and the end-to-end flows), and the coverage judge's verdict on
one test and one criterion (`{"verifies": bool, "reason": str}`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agent.models import Flow, UATCase

CASES_SCHEMA_NAME = "uat_cases"
PLAN_SCHEMA_NAME = "uat_plan"
JUDGE_SCHEMA_NAME = "coverage_judgement"


class CaseBatch(BaseModel):
    """What the model returns for one story: its UAT cases."""

    cases: list[UATCase] = Field(description="The UAT cases for the story, each in the UATCase schema")


class PlanOutput(BaseModel):
    """What the model returns for an epic: the stories in scope and the end-to-end flows."""

    story_keys: list[str] = Field(description="Keys of the stories to write cases for")
    flows: list[Flow] = Field(default_factory=list, description="End-to-end flows across stories, in order")
    notes: str = ""


class JudgeAnswer(BaseModel):
    """What the coverage judge returns for one test and one criterion."""

    verifies: bool = Field(description="True when running the test would show that the criterion holds")
    reason: str = Field("", description="Why, in one sentence")


def _schema(model: type[BaseModel], name: str, description: str) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema["title"] = name
    schema["description"] = description
    return schema


CASES_SCHEMA = _schema(CaseBatch, CASES_SCHEMA_NAME, "UAT test cases for one user story")
PLAN_SCHEMA = _schema(PlanOutput, PLAN_SCHEMA_NAME, "The stories in scope and the end-to-end flows of an epic")
JUDGE_SCHEMA = _schema(JudgeAnswer, JUDGE_SCHEMA_NAME, "Whether an existing test verifies an acceptance criterion")
