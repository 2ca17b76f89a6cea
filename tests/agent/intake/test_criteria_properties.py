"""Property-based tests of the criteria parser: any input parses, no line with words is lost, ids are stable."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.intake.criteria import parse_criteria
from agent.intake.language import has_words, words
from connectors.markup import to_text
from support.text_strategies import SETTINGS, any_document, plain_documents, unicode_text
from support.text_strategies import words as script_words


def _everything(criteria) -> str:
    return "\n".join(f"{c.section}\n{c.text}" for c in criteria)


def _assert_kept(texts: list[str], criteria) -> None:
    found = _everything(criteria)
    for t in texts:
        if has_words(t):
            for w in words(t):
                if len(w) >= 2:
                    assert w in found, (w, t, found)


@settings(**SETTINGS)
@given(unicode_text, st.booleans())
def test_any_unicode_parses(text: str, from_field: bool) -> None:
    criteria = parse_criteria("FZ-1", text, from_field=from_field)
    assert [c.id for c in criteria] == [f"FZ-1/AC-{n}" for n in range(1, len(criteria) + 1)]


@settings(**SETTINGS)
@given(plain_documents())
def test_no_line_with_words_is_lost_from_the_ac_field(doc_lines: tuple[str, list[str]]) -> None:
    doc, lines = doc_lines
    _assert_kept(lines, parse_criteria("FZ-2", doc, from_field=True))


_unicode_line = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=60)


@settings(**SETTINGS)
@given(st.lists(_unicode_line, min_size=1, max_size=6))
def test_no_line_of_random_unicode_with_words_is_lost_from_the_ac_field(lines: list[str]) -> None:
    _assert_kept(lines, parse_criteria("FZ-5", "\n".join(lines), from_field=True))


@settings(**SETTINGS)
@given(any_document)
def test_no_text_with_words_is_lost_from_any_markup_in_the_ac_field(doc_texts: tuple) -> None:
    doc, texts = doc_texts
    _assert_kept(texts, parse_criteria("FZ-3", doc, from_field=True))


@settings(**SETTINGS)
@given(any_document, st.booleans())
def test_ids_are_stable_on_reparse_and_on_converted_text(doc_texts: tuple, from_field: bool) -> None:
    doc = doc_texts[0]
    first = parse_criteria("FZ-4", doc, from_field=from_field)
    again = parse_criteria("FZ-4", doc, from_field=from_field)
    converted = parse_criteria("FZ-4", to_text(doc), from_field=from_field)
    as_pairs = [(c.id, c.text) for c in first]
    assert as_pairs == [(c.id, c.text) for c in again] == [(c.id, c.text) for c in converted]


_cell = st.lists(script_words, min_size=2, max_size=5).map(" ".join)


@settings(**SETTINGS)
@given(st.lists(st.tuples(_cell, _cell), min_size=1, max_size=5), st.booleans())
def test_a_condition_result_table_gives_one_criterion_per_row(rows: list[tuple[str, str]], markdown: bool) -> None:
    if markdown:
        lines = ["| Condition | Expected result |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    else:
        lines = ["||Condition||Expected result||"] + [f"|{a}|{b}|" for a, b in rows]
    criteria = parse_criteria("FZ-6", "\n".join(lines), from_field=True)
    assert [(c.when, c.then) for c in criteria] == [([a], [b]) for a, b in rows]
    assert [c.text for c in criteria] == [f"Condition: {a}; Expected result: {b}" for a, b in rows]
