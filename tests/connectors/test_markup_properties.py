"""Property-based tests of the markup converters: any input converts without crashing, no text with words is
lost, and converted text converts to itself."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.intake.language import words
from connectors.markup import adf_to_text, storage_to_text, to_text, wiki_to_text
from support.text_strategies import (
    SETTINGS,
    adf_documents,
    any_document,
    plain_documents,
    unicode_text,
    wiki_documents,
    xhtml_documents,
)

# random ADF-shaped trees: known and unknown node types, odd attrs, wrong value types
_leaf = st.one_of(unicode_text, st.integers(), st.none(), st.booleans())
_node = st.recursive(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "paragraph", "heading", "bulletList", "listItem", "table", "tableRow",
                                  "tableCell", "mention", "emoji", "date", "hardBreak", "codeBlock", "panel", "zzz"])},
        optional={"text": _leaf, "attrs": st.dictionaries(st.sampled_from(["level", "text", "url", "timestamp",
                                                                             "order", "shortName"]), _leaf),
                  "marks": st.lists(st.fixed_dictionaries({"type": st.sampled_from(["link", "strong"])},
                                                          optional={"attrs": st.dictionaries(st.just("href"), _leaf)}))},
    ),
    lambda children: st.fixed_dictionaries(
        {"type": st.sampled_from(["doc", "paragraph", "bulletList", "orderedList", "listItem", "table", "tableRow",
                                  "tableCell", "blockquote", "panel", "expand", "heading"]),
         "content": st.lists(st.one_of(children, _leaf), max_size=4)},
        optional={"attrs": st.dictionaries(st.sampled_from(["level", "order"]), _leaf)},
    ),
    max_leaves=12,
)


def _kept(text: str, output: str) -> None:
    for w in words(text):
        if len(w) >= 2:
            assert w in output, (w, text, output)


@settings(**SETTINGS)
@given(unicode_text)
def test_any_unicode_string_converts_in_every_dialect(s: str) -> None:
    for convert in (to_text, wiki_to_text, storage_to_text):
        assert isinstance(convert(s), str)


@settings(**SETTINGS)
@given(_node)
def test_any_adf_shaped_tree_converts(doc: dict) -> None:
    assert isinstance(adf_to_text(doc), str)
    assert isinstance(to_text(json.dumps({**doc, "type": "doc"})), str)


@settings(**SETTINGS)
@given(adf_documents())
def test_adf_keeps_every_text(doc_texts: tuple[dict, list[str]]) -> None:
    doc, texts = doc_texts
    out = to_text(doc)
    for t in texts:
        _kept(t, out)


@settings(**SETTINGS)
@given(wiki_documents())
def test_wiki_keeps_every_text(doc_texts: tuple[str, list[str]]) -> None:
    doc, texts = doc_texts
    out = to_text(doc)
    for t in texts:
        _kept(t, out)


@settings(**SETTINGS)
@given(xhtml_documents())
def test_storage_keeps_every_text(doc_texts: tuple[str, list[str]]) -> None:
    doc, texts = doc_texts
    out = to_text(doc)
    for t in texts:
        _kept(t, out)


@settings(**SETTINGS)
@given(plain_documents())
def test_plain_text_and_markdown_keep_every_line(doc_lines: tuple[str, list[str]]) -> None:
    doc, lines = doc_lines
    out = to_text(doc)
    for line in lines:
        _kept(line, out)


@settings(**SETTINGS)
@given(any_document)
def test_converted_text_converts_to_itself(doc_texts: tuple) -> None:
    once = to_text(doc_texts[0])
    assert to_text(once) == once
