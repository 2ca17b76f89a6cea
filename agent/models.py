"""The case model: what casewright reads (epics, stories, criteria, rule pages) and writes (UAT cases).

Every other module speaks in these types. They are plain pydantic models so that they
serialise to JSON for checkpoints, reports, Celery results and fine-tuning data alike.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

CaseKind = Literal["positive", "negative", "boundary", "end_to_end"]
Confidence = Literal["high", "medium", "low"]
Severity = Literal["error", "warning", "info"]
SourceKind = Literal["epic", "story", "criterion", "page", "page_section", "test_case"]
CoverageStatus = Literal["covered", "gap-filled", "stale", "uncovered"]
LinkHow = Literal["reference", "fingerprint", "similarity", "judge"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceRef(_Model):
    """Where a detail came from: a Jira issue, a criterion, a Confluence section or an approved case."""

    kind: SourceKind
    id: str = Field(description="Issue key, criterion id, page id or knowledge-chunk id")
    title: str = ""
    url: str | None = None


class Parameter(_Model):
    """An input the story names (an API parameter, a form field) with what is known about it."""

    name: str
    location: str = Field("", description="path, query, header, body or form")
    type: str = ""
    required: bool = False
    enum: list[str] = Field(default_factory=list)
    default: str | None = None
    format: str | None = None
    pattern: str | None = None
    description: str = ""


class AcceptanceCriterion(_Model):
    id: str = Field(description="Stable id: STORY-KEY/AC-n")
    story_key: str
    text: str = Field(description="The criterion as written, cleaned of markup")
    section: str = Field("", description="Heading it was found under, e.g. 'Error Scenarios'")
    style: Literal["gherkin", "bullet", "numbered", "rule", "prose", "table"] = "bullet"
    given: list[str] = Field(default_factory=list)
    when: list[str] = Field(default_factory=list)
    then: list[str] = Field(default_factory=list)
    vague: bool = Field(False, description="True when it names no observable outcome or condition")


class Page(_Model):
    """A Confluence page of business rules, converted to clean text."""

    id: str
    title: str
    space: str = ""
    labels: list[str] = Field(default_factory=list)
    text: str = ""
    url: str | None = None
    ancestors: list[str] = Field(default_factory=list)
    updated: str | None = None


class Step(_Model):
    action: str
    data: str = ""
    expected: str


class UATCase(_Model):
    id: str
    title: str
    objective: str
    persona: str
    preconditions: list[str] = Field(default_factory=list)
    test_data: dict[str, str] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    priority: str = "Medium"
    kind: CaseKind = "positive"
    story_key: str
    criterion_ids: list[str] = Field(default_factory=list)
    sources: list[SourceRef] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)
    confidence: Confidence = "high"
    notes: str = ""


class ExistingTest(_Model):
    """A test already linked to a story (written by people, or casewright's own), as the mapping reads it."""

    key: str
    title: str
    text: str = Field("", description="Steps and expected results as plain text")
    criterion_ids: list[str] = Field(default_factory=list, description="Criterion ids the test names itself")
    fingerprint_criteria: list[str] = Field(
        default_factory=list, description="casewright's own tests: the criterion texts it was written for")
    own: bool = Field(False, description="Written by casewright (its label)")
    created: str | None = None
    updated: str | None = None
    criteria_then: dict[str, str] = Field(
        default_factory=dict, description="From the story's Jira history: the criteria that read otherwise "
                                          "when the test was last updated (id -> text then)")


class CriterionLink(_Model):
    """An existing test verifies a criterion: how that was decided, and how sure."""

    test_key: str
    criterion_id: str
    how: LinkHow
    score: float | None = None


class StaleTest(_Model):
    """A test written for a criterion that has since changed or gone."""

    test_key: str
    story_key: str
    criterion_id: str
    reason: Literal["changed", "gone"]
    old_text: str = ""
    new_text: str = ""
    own: bool = False


class Story(_Model):
    key: str
    id: str = ""
    summary: str
    description: str = ""
    issue_type: str = "Story"
    epic_key: str | None = None
    project: str = ""
    labels: list[str] = Field(default_factory=list)
    status: str = ""
    priority: str | None = None
    updated: str | None = None
    url: str | None = None
    criteria: list[AcceptanceCriterion] = Field(default_factory=list)
    parameters: list[Parameter] = Field(default_factory=list)
    method: str | None = Field(None, description="HTTP method when the story specifies a REST endpoint")
    endpoint: str | None = Field(None, description="Path when the story specifies a REST endpoint")
    linked_pages: list[str] = Field(default_factory=list, description="Confluence page ids the story links to")
    approved_cases: list[UATCase] = Field(default_factory=list, description="The team's approved cases linked to it")
    existing_tests: list[ExistingTest] = Field(default_factory=list, description="Every test linked to it")

    def source(self) -> "SourceRef":
        """The story as a source a case cites."""
        return SourceRef(kind="story", id=self.key, title=self.summary, url=self.url)


class Epic(_Model):
    key: str
    id: str = ""
    summary: str
    description: str = ""
    project: str = ""
    labels: list[str] = Field(default_factory=list)
    status: str = ""
    updated: str | None = None
    url: str | None = None
    story_keys: list[str] = Field(default_factory=list)
    linked_pages: list[str] = Field(default_factory=list)


class Finding(_Model):
    """Something a person should look at: a gap in the requirement or in the generated cases."""

    severity: Severity = "warning"
    code: str = Field(description="Stable machine-readable code, e.g. 'no-criteria', 'uncovered-criterion'")
    message: str
    story_key: str | None = None
    criterion_id: str | None = None
    case_id: str | None = None


class CriterionCoverage(_Model):
    """One row of the traceability matrix: the criterion, the existing tests and new cases verifying it."""

    criterion_id: str
    story_key: str
    case_ids: list[str] = Field(default_factory=list, description="The new cases of this run")
    existing_tests: list[str] = Field(default_factory=list, description="Keys of existing tests mapped to it")
    stale_tests: list[str] = Field(default_factory=list, description="Existing tests written for its old text")
    status: CoverageStatus | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data):  # noqa: ANN001, ANN206 - new_cases is written out, derived on reading
        if isinstance(data, dict) and "new_cases" in data:
            data = {k: v for k, v in data.items() if k != "new_cases"}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def new_cases(self) -> list[str]:
        return list(self.case_ids)

    @property
    def covered(self) -> bool:
        return bool(self.case_ids) or bool(self.existing_tests)


class FlowLink(_Model):
    """One story's outcome that is another's precondition: the record, state or document that flows
    from `source` to `target`, said in one sentence a tester reads in the journey case."""

    source: str = Field(description="Key of the story whose outcome produces it")
    target: str = Field(description="Key of the story that starts from it")
    what: str = Field(description="The record, state or document, e.g. 'Move In case', 'caller verified'")
    statement: str = Field(description="The link in one sentence, e.g. 'The Move In case created in ER-9 is the one "
                                       "ER-12 submits'")
    source_criterion: str = Field("", description="The source's criterion that produces it, when known")
    target_criterion: str = Field("", description="The target's criterion that needs it, when known")


class Flow(_Model):
    """An end-to-end business flow: stories whose outcomes feed each other, in order."""

    name: str
    story_keys: list[str]
    rationale: str = ""
    links: list[FlowLink] = Field(default_factory=list, description="For each story after the first: what an "
                                                                    "earlier story's outcome hands it")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class CaseSet(_Model):
    """An epic's generated cases plus what review found and how well the criteria are covered."""

    epic: Epic
    stories: list[Story] = Field(default_factory=list)
    cases: list[UATCase] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    coverage: list[CriterionCoverage] = Field(default_factory=list)
    flows: list[Flow] = Field(default_factory=list)
    links: list[CriterionLink] = Field(default_factory=list, description="Existing tests mapped to criteria")
    stale_tests: list[StaleTest] = Field(default_factory=list)
    run_id: str = ""
    generator: str = "rules"
    template: str = ""
    generated_at: str = Field(default_factory=_now)
    stats: dict[str, float | int | str] = Field(default_factory=dict)

    def cases_for(self, story_key: str) -> list[UATCase]:
        return [c for c in self.cases if c.story_key == story_key]

    @property
    def criteria(self) -> list[AcceptanceCriterion]:
        return [c for s in self.stories for c in s.criteria]

    def coverage_table(self) -> list[CriterionCoverage]:
        """Coverage per criterion: the review's figures, completed from the cases for any
        criterion the review did not list."""
        listed = {c.criterion_id for c in self.coverage}
        table = list(self.coverage)
        for criterion in self.criteria:
            if criterion.id not in listed:
                table.append(CriterionCoverage(criterion_id=criterion.id, story_key=criterion.story_key,
                                               case_ids=[c.id for c in self.cases if criterion.id in c.criterion_ids]))
        return table

    @property
    def coverage_ratio(self) -> float:
        """The share of criteria verified by at least one case (the one coverage figure)."""
        table = self.coverage_table()
        return sum(1 for c in table if c.covered) / len(table) if table else 0.0
