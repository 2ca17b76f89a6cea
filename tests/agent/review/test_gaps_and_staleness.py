"""What gap mode keeps (concrete values compared with the existing tests), stale tests found from
the mapping memory and from criteria that are gone, and the counts in the Jira epic summary."""

from __future__ import annotations

from agent.generation.gaps import gap_cases
from agent.models import (
    AcceptanceCriterion,
    CaseSet,
    CriterionCoverage,
    CriterionLink,
    Epic,
    ExistingTest,
    Step,
    Story,
    UATCase,
)
from agent.renderers.jira_wiki import epic_summary
from agent.review.staleness import load_memory, memory_path, save_memory, story_staleness


def _case(cid: str, kind: str, expected: str, crit: str = "ER-2/AC-2") -> UATCase:
    return UATCase(id=cid, title=f"Extension {expected}", objective="o", persona="Agent", story_key="ER-2",
                   kind=kind, criterion_ids=[crit], steps=[Step(action="Select the due date", expected=expected)])


TESTS = [ExistingTest(key="ER-19", title="21 days", text="Select a due date 21 days out -> granted"),
         ExistingTest(key="ER-50", title="limit", text="Try 21 days then 22 days -> 22 days is refused")]


def test_gap_mode_keeps_only_values_no_existing_test_states() -> None:
    cases = [_case("C-1", "positive", "The extension is granted"),
             _case("C-2", "boundary", "An extension of 21 days and one of 22 days: 22 days is refused"),
             _case("C-3", "boundary", "An extension of 42 days for a hardship customer is granted"),
             _case("C-4", "negative", "The button stays disabled"),
             _case("C-5", "positive", "The SMS is sent", crit="ER-2/AC-3")]
    kept = gap_cases(cases, {"ER-2/AC-2"}, TESTS)
    assert [c.id for c in kept] == ["C-3", "C-5"]


def _story(text: str, updated: str = "2026-10-15T11:00:00.000+1100", refs: list[str] | None = None) -> Story:
    return Story(key="ER-2", summary="s", criteria=[AcceptanceCriterion(id="ER-2/AC-1", story_key="ER-2", text=text)],
                 existing_tests=[ExistingTest(key="ER-19", title="t", updated=updated,
                                              criterion_ids=refs or ["ER-2/AC-1"])])


LINK = [CriterionLink(test_key="ER-19", criterion_id="ER-2/AC-1", how="reference")]


def test_a_changed_criterion_makes_its_test_stale_until_the_test_is_updated(tmp_path) -> None:
    stale, memory = story_staleness(_story("up to 21 days"), LINK, {})
    assert not stale
    save_memory(tmp_path, "ER-2", memory)
    stale, memory = story_staleness(_story("up to 14 days"), LINK, load_memory(tmp_path, "ER-2"))
    assert [(t.test_key, t.reason, t.old_text, t.new_text) for t in stale] == [
        ("ER-19", "changed", "up to 21 days", "up to 14 days")]
    save_memory(tmp_path, "ER-2", memory)
    again, _ = story_staleness(_story("up to 14 days"), LINK, load_memory(tmp_path, "ER-2"))
    assert [t.reason for t in again] == ["changed"]  # stays stale: the test was not touched
    updated, _ = story_staleness(_story("up to 14 days", updated="2026-11-30T09:00:00.000+1100"), LINK,
                                 load_memory(tmp_path, "ER-2"))
    assert not updated


def test_a_named_criterion_that_is_gone_is_stale() -> None:
    stale, _ = story_staleness(_story("x", refs=["ER-2/AC-1", "ER-2/AC-7"]), LINK, {})
    assert [(t.criterion_id, t.reason) for t in stale] == [("ER-2/AC-7", "gone")]


def test_memory_paths_only_for_issue_keys(tmp_path) -> None:
    assert memory_path(tmp_path, "../../etc/passwd") is None
    save_memory(tmp_path, "../x", {"a": {}})
    assert not list(tmp_path.rglob("*.json"))
    (tmp_path / "coverage").mkdir()
    (tmp_path / "coverage" / "ER-2.json").write_text("{not json")
    assert load_memory(tmp_path, "ER-2") == {}


def test_the_epic_summary_carries_the_counts() -> None:
    cs = CaseSet(epic=Epic(key="ER-1", summary="e"), links=LINK, coverage=[
        CriterionCoverage(criterion_id="ER-2/AC-1", story_key="ER-2", existing_tests=["ER-19"], status="covered"),
        CriterionCoverage(criterion_id="ER-2/AC-2", story_key="ER-2", case_ids=["C-1"], status="gap-filled"),
        CriterionCoverage(criterion_id="ER-2/AC-3", story_key="ER-2", status="uncovered")])
    text = epic_summary(cs, written_as="issues", per_story=False, conflicts=[], retired=[], retire_label="r")
    assert ("Traceability: 1 criteria covered by existing tests, 1 gap-filled by new cases, 0 with stale tests, "
            "1 uncovered.") in text


def test_a_test_naming_another_storys_criterion_is_remembered_with_that_text(tmp_path) -> None:
    story = _story("x", refs=["ER-2/AC-1", "ER-3/AC-1"])
    links = LINK + [CriterionLink(test_key="ER-19", criterion_id="ER-3/AC-1", how="reference")]
    others = {"ER-3/AC-1": "the plan is saved"}
    stale, memory = story_staleness(story, links, {}, others)
    assert not stale and memory["ER-19"]["ER-3/AC-1"]["text"] == "the plan is saved"
    again, _ = story_staleness(story, links, memory, others)
    assert not again
    out_of_run, _ = story_staleness(story, LINK, memory, {})
    assert not out_of_run  # ER-3 not in this run: neither gone nor changed
