"""Hostile text from Jira (HTML, Markdown links, Gherkin keywords and tags, wiki headings,
spreadsheet formulas, any line break) cannot create structure in any output: a property test over
every renderer, each output read back with a real parser (markdown-it, gherkin-official, csv, json)."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser

from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from agent.models import AcceptanceCriterion, CaseSet, Epic, Finding, Flow, SourceRef, Step, Story, UATCase
from agent.renderers.common import one_line
from agent.renderers.csv_export import render_csv
from agent.renderers.gherkin import action_text, case_tags, clause_text, observations, persona_step, render_features
from agent.renderers.jira_wiki import case_to_wiki, wiki_to_case
from agent.renderers.markdown import render_markdown
from agent.renderers.xray import xray_tests

FRAGMENTS = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<a href='javascript:alert(1)'>x</a>",
    "[click](javascript:alert(1))", "![pixel](https://evil.example/p.png)", "<https://evil.example>",
    "&lt;script&gt;", "&#60;b&#62;", "**bold**", "_em_", "`code`", "\\", "# heading", " ##", "- item", "1. one",
    "> quote", "```", "---", "| a | b |", "|", "Feature: injected", "Scenario: injected", "Scenario Outline: o",
    "Examples:", "Background:", "Rule: r", "@tag", "@injected @more", '"""', "Given g", "Then t", "* star",
    "h3. Steps", "||#||Action||", "{html}<b>x</b>{html}", "=HYPERLINK(\"https://evil.example\")", "+1+2",
    "-2+3", "@SUM(A1)", "\n", "\r", "\r\n", "\u2028", "\x0b", "\x85", "\t", "  ", "ünïcødé ✓ 日本語",
]
HOSTILE = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(st.characters(exclude_categories=("Cs",),
                                                                               exclude_characters="\x00"),
                                                                 max_size=12)),
                   min_size=1, max_size=6).map("".join)
ALLOWED_TAGS = {"h1", "h2", "h3", "h4", "h5", "p", "ul", "li", "strong", "em", "code", "table", "thead", "tbody", "tr",
                "th", "td", "a", "br", "blockquote"}


def _case_set(t: list[str]) -> CaseSet:
    story = Story(key="ER-2", summary=t[0], epic_key="ER-1", project="ER", status=t[1],
                  url="https://volta.example/browse/ER-2",
                  criteria=[AcceptanceCriterion(id="ER-2/AC-1", story_key="ER-2", text=t[2]),
                            AcceptanceCriterion(id="ER-2/AC-2", story_key="ER-2", text=t[3])])
    case = UATCase(id="ER-UAT-2-01", title=t[4], objective=t[5], persona=t[6], preconditions=[t[7], t[8]],
                   test_data={t[9] or "k": t[10]}, steps=[Step(action=t[11], data=t[12], expected=t[13]),
                                                          Step(action="Open the account", expected=t[14])],
                   priority="High", kind="negative", story_key="ER-2", criterion_ids=["ER-2/AC-1"], notes=t[15],
                   sources=[SourceRef(kind="page", id="98101", title=t[16], url="https://volta.example/wiki/98101"),
                            SourceRef(kind="page", id="98102", title="bad link", url=f"javascript:alert(1)//{t[17]}")])
    e2e = case.model_copy(update={"id": "ER-UAT-1-01", "kind": "end_to_end", "story_key": "ER-1"})
    return CaseSet(epic=Epic(key="ER-1", summary=t[18], project="ER", url="https://volta.example/browse/ER-1"),
                   stories=[story], cases=[case, e2e],
                   findings=[Finding(severity="warning", code="vague", message=t[19], story_key="ER-2")],
                   flows=[Flow(name=t[20], story_keys=["ER-2"], rationale=t[21])],
                   run_id="20261203-120000-abcdef", generator="rules", generated_at="2026-12-03T12:00:00+00:00")


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.h3: list[str] = []
        self._in_h3 = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "h3":
            self._in_h3, self.h3 = True, [*self.h3, ""]

    def handle_endtag(self, tag):
        if tag == "h3":
            self._in_h3 = False

    def handle_data(self, data):
        if self._in_h3:
            self.h3[-1] += data


def _expected_steps(case: UATCase) -> int:
    """The steps casewright means to write: persona, preconditions, the data table's Given, a When per
    action and a Then/And per observation, each said once in a scenario (as the renderer does)."""
    intended = [clause_text(persona_step(case.persona))] if case.persona.strip() else []
    intended += [clause_text(p) for p in case.preconditions if p.strip()]
    intended += ["the test data is:"] if case.test_data else []
    for s in case.steps:
        action, data = one_line(s.action), one_line(s.data)
        if action or data:
            intended.append(f"{action_text(action)} (data: {data})" if action and data
                            else action_text(action) if action else f"I use the data: {data}")
        intended += observations(s.expected)
    distinct = {" ".join(t.lower().split()) for t in intended}
    return len(distinct - {""})


PROPERTY = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(st.lists(HOSTILE, min_size=22, max_size=22))
def test_markdown_shows_hostile_text_as_text(texts):
    case_set = _case_set(texts)
    html = MarkdownIt("commonmark").enable("table").render(render_markdown(case_set))
    page = _Html()
    page.feed(html)
    for tag, attrs in page.tags:
        assert tag in ALLOWED_TAGS, (tag, html)
        assert not any(name.startswith("on") or name in {"src", "style"} for name in attrs), (tag, attrs)
        if tag == "a":
            assert re.match(r"https://volta\.example/", attrs.get("href", "")), attrs
    # the story heading reads exactly the summary, whatever it holds
    assert page.h3[0] == f"ER-2: {one_line(texts[0])}".strip()


@PROPERTY
@given(st.lists(HOSTILE, min_size=22, max_size=22))
def test_gherkin_structure_is_only_what_casewright_generated(texts):
    case_set = _case_set(texts)
    files = render_features(case_set)
    assert set(files) == {"ER-1/ER-2.feature", "ER-1/ER-1-end-to-end.feature"}
    for case, text in zip(case_set.cases, files.values()):
        assert text.splitlines() == text.rstrip("\n").split("\n")  # no other line break, for any Gherkin tool
        feature = Parser().parse(TokenScanner(text))["feature"]
        assert [t["name"] for t in feature["tags"]] in (["@ER-2", "@ER-1"], ["@ER-1", "@end_to_end"])
        assert len(feature["children"]) == 1 and set(feature["children"][0]) == {"scenario"}
        scenario = feature["children"][0]["scenario"]
        assert scenario["keyword"] == "Scenario" and scenario["examples"] == []
        assert scenario["name"] == (one_line(case.title) or case.id)
        assert [t["name"] for t in scenario["tags"]] == case_tags(case)
        assert len(scenario["steps"]) == _expected_steps(case)
        tables = [s["dataTable"] for s in scenario["steps"] if "dataTable" in s]
        assert len(tables) == 1 and [len(r["cells"]) for r in tables[0]["rows"]] == [2] * (1 + len(case.test_data))
        assert not any("docString" in s for s in scenario["steps"])


@PROPERTY
@given(st.lists(HOSTILE, min_size=22, max_size=22))
def test_csv_xray_and_wiki_keep_their_shape(texts):
    case_set = _case_set(texts)
    rows = list(csv.reader(io.StringIO(render_csv(case_set), newline="")))
    assert len(rows) == 1 + 4 and all(len(r) == len(rows[0]) for r in rows)
    for row in rows[1:]:
        for value in row:  # nothing a spreadsheet would run as a formula
            assert not value.startswith(("=", "+", "@", "\t", "\r")) or value.startswith("'")
    tests = json.loads(json.dumps(xray_tests(case_set)))
    for test in tests:
        headings = [line for line in test["fields"]["description"].replace("\r", "\n").split("\n")
                    if re.match(r"\s*h\d\.", line)]
        assert headings == ["h3. Objective", "h3. Persona", "h3. Preconditions", "h3. Test Data", "h3. Traceability"]
    case = case_set.cases[0]
    wiki = case_to_wiki(case)
    assert [line for line in re.split(r"\r\n|\r|\n", wiki) if re.match(r"\s*h3\.", line, re.I)] == [
        "h3. Objective", "h3. Persona", "h3. Preconditions", "h3. Test Data", "h3. Steps", "h3. Traceability"]
    back = wiki_to_case(wiki, key=case.id, summary=case.title)
    assert len(back.steps) == 2 and back.story_key == "ER-2" and back.criterion_ids == ["ER-2/AC-1"]
    assert back.objective.strip() == case.objective.replace("\r\n", "\n").replace("\r", "\n").strip()
