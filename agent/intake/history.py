"""A story's criteria as they read at some earlier moment, from its Jira change history.

Jira records each edit of an issue as a history (`created`) with one item per field changed
(`field` / `fieldId`, `fromString`, `toString`); `expand=changelog` returns them with the issue
(connectors/jira_source.py reads them for stories that have tests linked, and a workspace file may
carry them on its issues as `changelog.histories`). The value of a field at a moment is the
`fromString` of its first change after that moment, or, when it has not changed since, its value
now. The criteria are parsed from the description and the acceptance-criteria field as they were,
the same way as today's (agent/intake/criteria.py), so their ids line up.

agent/review/staleness.py uses this for a person's test that casewright has no memory of: the
criteria as they read when the test was last updated, where they differ from today's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent.intake.criteria import extract
from agent.models import AcceptanceCriterion
from connectors.jira_time import parse_jira_timestamp


def _changes(histories: list[dict[str, Any]], matches: Any) -> list[tuple[datetime, str]]:
    """(when, value before) of each change to the field, oldest first."""
    out = []
    for history in histories:
        when = parse_jira_timestamp(history.get("created"))
        if when is None:
            continue
        for item in history.get("items") or []:
            if isinstance(item, dict) and matches(item):
                out.append((when, str(item.get("fromString") or "")))
    return sorted(out, key=lambda change: change[0])


def value_at(histories: list[dict[str, Any]], matches: Any, when: datetime, now: str) -> str:
    """The field's value at `when` (`matches`: is a change item about this field?)."""
    for changed, before in _changes(histories, matches):
        if changed > when:
            return before
    return now


def changed_after(histories: list[dict[str, Any]], matches: Any, when: datetime) -> bool:
    return any(changed > when for changed, _ in _changes(histories, matches))


class StoryHistory:
    """One story's description and criteria field through time."""

    def __init__(self, key: str, histories: list[dict[str, Any]], *, description: str, ac_text: str,
                 ac_field: str | None, ac_field_name: str, title: str = "") -> None:
        self.key = key
        self.histories = [h for h in histories if isinstance(h, dict)]
        self.description = description
        self.ac_text = ac_text
        self.title = title
        ac_name = ac_field_name.strip().lower()

        def is_description(item: dict[str, Any]) -> bool:
            return str(item.get("fieldId") or item.get("field") or "").lower() == "description"

        def is_ac(item: dict[str, Any]) -> bool:
            return bool(ac_field) and item.get("fieldId") == ac_field or str(item.get("field") or "").lower() == ac_name

        self._description, self._ac = is_description, is_ac

    def criteria_at(self, moment: str | None) -> list[AcceptanceCriterion] | None:
        """The story's criteria at `moment` (a Jira timestamp); None when neither field changed since
        (or the moment is unknown): today's criteria are those."""
        when = parse_jira_timestamp(moment)
        if when is None or not self.histories:
            return None
        if not (changed_after(self.histories, self._description, when) or changed_after(self.histories, self._ac, when)):
            return None
        description = value_at(self.histories, self._description, when, self.description)
        ac_text = value_at(self.histories, self._ac, when, self.ac_text)
        return extract(self.key, description, ac_text, title=self.title)[0]

    def changed_criteria(self, moment: str | None, current: list[AcceptanceCriterion]) -> dict[str, str]:
        """Criterion id -> its text at `moment`, for the criteria that read otherwise now (or are gone)."""
        then = self.criteria_at(moment)
        if not then:
            return {}
        now = {c.id: " ".join(c.text.split()) for c in current}
        return {c.id: c.text for c in then if now.get(c.id) != " ".join(c.text.split())}
