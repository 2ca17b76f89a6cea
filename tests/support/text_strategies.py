"""Hypothesis strategies for rich text as Jira and Confluence hold it: words in many scripts, and ADF, wiki,
XHTML, Markdown and plain documents built from them, each with the texts it must not lose."""

from __future__ import annotations

import html

from hypothesis import strategies as st

SETTINGS = {"max_examples": 60, "deadline": None, "database": None}
"""Every property test runs with these: bounded, no deadline, no example database on disk."""

_ALPHABETS = [
    "abcdefghijklmnopqrstuvwxyzäöüßéèçñ",
    "абвгдежзийклмнопрстуфхцчшщыэюя",  # Cyrillic
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",  # Arabic
    "".join(chr(c) for c in range(0x0915, 0x093A)),  # Devanagari consonants
    "".join(chr(c) for c in range(0xAC00, 0xAC40)),  # Hangul syllables
    "".join(chr(c) for c in range(0x4E00, 0x4E40)),  # CJK ideographs
    "".join(chr(c) for c in range(0x3041, 0x3097)),  # Hiragana
    "αβγδεζηθικλμνξοπρστυφχψω",  # Greek
]

words = st.sampled_from(_ALPHABETS).flatmap(lambda a: st.text(alphabet=a, min_size=2, max_size=8))
"""One word of two to eight letters, all in one script."""

_SEPARATORS = st.sampled_from([" ", " ", " ", ", ", " | ", " - ", " & ", " < ", " > ", " / ", "; ", " 42 ", " (x) "])


@st.composite
def phrases(draw: st.DrawFn, min_words: int = 2, max_words: int = 7) -> str:
    """Words joined by spaces and harmless punctuation, some of it markup-like (<, >, |, &)."""
    ws = draw(st.lists(words, min_size=min_words, max_size=max_words))
    out = ws[0]
    for w in ws[1:]:
        out += draw(_SEPARATORS) + w
    return out


unicode_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
"""Any text at all (control characters, emoji, combining marks, markup characters)."""


# --------------------------------------------------------------------------- documents


def _adf_text(text: str) -> dict:
    return {"type": "text", "text": text}


@st.composite
def adf_documents(draw: st.DrawFn) -> tuple[dict, list[str]]:
    """An ADF document (paragraphs, headings, lists, tables, panels, quotes, code) and its texts."""
    texts: list[str] = []

    def phrase() -> str:
        t = draw(phrases())
        texts.append(t)
        return t

    def para() -> dict:
        return {"type": "paragraph", "content": [_adf_text(phrase())]}

    blocks = []
    for kind in draw(st.lists(st.sampled_from(["p", "h", "ul", "ol", "table", "panel", "quote", "code"]),
                              min_size=1, max_size=6)):
        if kind == "p":
            blocks.append(para())
        elif kind == "h":
            blocks.append({"type": "heading", "attrs": {"level": draw(st.integers(1, 6))},
                           "content": [_adf_text(phrase())]})
        elif kind in ("ul", "ol"):
            items = [{"type": "listItem", "content": [para()]} for _ in range(draw(st.integers(1, 3)))]
            blocks.append({"type": "bulletList" if kind == "ul" else "orderedList", "content": items})
        elif kind == "table":
            rows = [{"type": "tableRow", "content": [{"type": "tableCell", "content": [para()]} for _ in range(2)]}
                    for _ in range(draw(st.integers(1, 3)))]
            blocks.append({"type": "table", "content": rows})
        elif kind == "panel":
            blocks.append({"type": "panel", "attrs": {"panelType": "info"}, "content": [para()]})
        elif kind == "quote":
            blocks.append({"type": "blockquote", "content": [para()]})
        else:
            blocks.append({"type": "codeBlock", "content": [_adf_text(phrase())]})
    return {"type": "doc", "version": 1, "content": blocks}, texts


@st.composite
def wiki_documents(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Jira wiki markup (headings, bullets, numbered items, tables, bold, monospace, panels) and its texts."""
    lines: list[str] = []
    texts: list[str] = []
    for kind in draw(st.lists(st.sampled_from(["h", "*", "#", "p", "bold", "mono", "table", "panel", "quote"]),
                              min_size=1, max_size=6)):
        t = draw(phrases())
        texts.append(t)
        if kind == "h":
            lines += [f"h{draw(st.integers(1, 6))}. {t}"]
        elif kind in ("*", "#"):
            lines += [f"{kind * draw(st.integers(1, 2))} {t}"]
        elif kind == "bold":
            lines += [f"Plain *{t}* text"]
        elif kind == "mono":
            lines += [f"Use {{{{{t}}}}} here"]
        elif kind == "table":
            u = draw(phrases())
            texts.append(u)
            lines += [f"||{t}||{u}||", f"|{u}|{t}|"]
        elif kind == "panel":
            lines += [f"{{panel:title=Note}}{t}{{panel}}"]
        elif kind == "quote":
            lines += [f"{{quote}}{t}{{quote}}"]
        else:
            lines += [t]
        lines.append("")
    return "\n".join(lines), texts


@st.composite
def xhtml_documents(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Confluence storage XHTML (paragraphs, headings, lists, tables, info macros) and its texts, escaped."""
    parts: list[str] = []
    texts: list[str] = []
    for kind in draw(st.lists(st.sampled_from(["p", "h", "ul", "table", "macro", "strong"]), min_size=1, max_size=6)):
        t = draw(phrases())
        texts.append(t)
        e = html.escape(t)
        if kind == "p":
            parts.append(f"<p>{e}</p>")
        elif kind == "h":
            n = draw(st.integers(1, 6))
            parts.append(f"<h{n}>{e}</h{n}>")
        elif kind == "ul":
            parts.append(f"<ul><li>{e}</li></ul>")
        elif kind == "table":
            parts.append(f"<table><tbody><tr><th>{e}</th></tr><tr><td>{e}</td></tr></tbody></table>")
        elif kind == "macro":
            parts.append(f'<ac:structured-macro ac:name="info"><ac:rich-text-body><p>{e}</p>'
                         "</ac:rich-text-body></ac:structured-macro>")
        else:
            parts.append(f"<p><strong>{e}</strong> and more</p>")
    return "\n".join(parts), texts


_LINE_PREFIXES = st.sampled_from(["", "", "", "- ", "* ", "1. ", "2) ", "🚀 ", "@admin ", "→ ", "✅ ", "| ", "> "])
_LINE_ENDS = st.sampled_from(["", ".", ".", "!", "?", "。", "।", " |"])


@st.composite
def plain_documents(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Plain text or Markdown as typed into an AC field: one statement a line, any prefix, and its lines."""
    lines = [draw(_LINE_PREFIXES) + draw(phrases()) + draw(_LINE_ENDS) for _ in range(draw(st.integers(1, 6)))]
    if draw(st.booleans()):
        lines.insert(0, draw(st.sampled_from(["## Acceptance Criteria", "Acceptance Criteria:", "*Rules*"])))
    return "\n".join(lines), lines


@st.composite
def table_documents(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A Markdown or wiki table of condition / expected-result rows (or other columns), and its cells."""
    columns = draw(st.sampled_from([["Condition", "Expected result"], ["Given", "When", "Then"], ["Tier", "Days"]]))
    rows = [[draw(phrases()) for _ in columns] for _ in range(draw(st.integers(1, 4)))]
    if draw(st.booleans()):
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        lines = ["||" + "||".join(columns) + "||"] + ["|" + "|".join(r) + "|" for r in rows]
    return "\n".join(lines), [c for r in rows for c in r] + columns


any_document = st.one_of(adf_documents(), wiki_documents(), xhtml_documents(), plain_documents(), table_documents())
