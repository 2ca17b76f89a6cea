"""Script-independent reading of criteria text: words, sentence ends, symbol-led lines and the language a text is in.

Everything here works from Unicode character categories (``unicodedata``), so Japanese, Chinese,
Russian, Arabic, Hindi and Korean criteria are read like English ones:

* a *word* is a run of letters (categories ``L*``) with their combining marks (``M*``, needed
  for Devanagari and Arabic). Scripts written without spaces between words (Han, Hiragana,
  Katakana, Thai...) count one word per two letters;
* a sentence ends at ``. ! ?`` followed by a space, or at ``。！？`` (CJK), ``।`` (Devanagari),
  ``؟`` (Arabic), ``…``; the next sentence starts with anything but a lower-case letter, so
  scripts without case always start one;
* a line *led by a symbol* (an emoji, an arrow, ``@``, ``#``...) is a statement of its own;
* :func:`language_of` names the language: the script decides for non-Latin text, and Latin text
  is English, German, French or Spanish by its commonest small words (English when unsure).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["words", "has_words", "split_sentences", "ends_sentence", "opens_sentence", "symbol_led", "language_of"]

_UNSPACED_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN", "IDEOGRAPHIC")
_STOP_FULL = "。！？"
_STOP_SPACED = ".!?।؟…"
_NOISE = re.compile(r"@[\w.-]+|:[\w+-]+:|https?://\S+|\{\{[^}]*\}\}")


@lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


@lru_cache(maxsize=1)
def _word_pattern() -> re.Pattern[str]:
    """A letter (``[^\\W\\d_]``: Unicode letters) followed by letters and combining marks (built once)."""
    marks: list[str] = []
    start = prev = None
    for cp in range(0x0300, 0x20000):
        if unicodedata.category(chr(cp)).startswith("M"):
            if start is None:
                start = cp
            elif cp != prev + 1:
                marks.append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
                start = cp
            prev = cp
    if start is not None:
        marks.append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
    return re.compile(rf"[^\W\d_](?:[^\W\d_]|[{''.join(marks)}])*")


def words(text: str) -> list[str]:
    """The runs of letters (with their combining marks) in ``text``; mentions, emoji codes and urls left out."""
    cleaned = _NOISE.sub(" ", text)
    if cleaned.isascii():
        return _ASCII_WORD.findall(cleaned)
    return _word_pattern().findall(cleaned)


_ASCII_WORD = re.compile(r"[A-Za-z]+")


def _unspaced(word: str) -> bool:
    return any(_script(ch).startswith(_UNSPACED_SCRIPTS) for ch in word[:3])


def has_words(text: str, least: int = 2) -> bool:
    """The text says something: at least ``least`` words of two letters or more, in any script."""
    n = 0
    for w in words(text):
        if _unspaced(w):
            n += len(w) // 2
        elif len(w) >= 2:
            n += 1
        if n >= least:
            return True
    return False


def ends_sentence(line: str) -> bool:
    return line.rstrip().rstrip("\"'”’»)」』").endswith(tuple(_STOP_FULL + _STOP_SPACED))


def opens_sentence(line: str) -> bool:
    """A line that can start a sentence: anything but a lower-case letter or joining punctuation."""
    s = line.lstrip()
    return bool(s) and not s[0].islower() and s[0] not in ",;:)]}"


def symbol_led(line: str) -> bool:
    """A line that starts with an emoji, arrow, ``@``, ``#`` or another symbol (not a list bullet)."""
    s = line.lstrip()
    if not s:
        return False
    cat = unicodedata.category(s[0])
    return cat.startswith("S") or s[0] in "@#&※" or 0x1F000 <= ord(s[0]) <= 0x1FAFF


def split_sentences(para: str, protect: re.Pattern[str] | None = None) -> list[str]:
    """Sentences of a paragraph in any script; ``protect`` matches abbreviations whose dots end nothing."""
    text = protect.sub(lambda m: m.group(0).replace(".", "\x01"), para) if protect else para
    out: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in _STOP_FULL:
            j = i + 1
            while j < n and (text[j] in _STOP_FULL or text[j] in "」』”"):
                j += 1
            out.append(text[start:j])
            start = i = j
            continue
        if ch in _STOP_SPACED and i + 1 < n and text[i + 1].isspace():
            j = i + 1
            while j < n and text[j].isspace():
                j += 1
            if j < n and opens_sentence(text[j]) and text[j] not in "-–":
                out.append(text[start : i + 1])
                start = i = j
                continue
        i += 1
    out.append(text[start:])
    return [p.replace("\x01", ".").strip() for p in out if p.strip()]


_STOPWORDS = {
    "en": {"the", "is", "are", "and", "when", "if", "to", "of", "with", "must", "should", "be", "an", "not", "user", "then",
           "can", "cannot", "than", "for", "every", "each", "within", "after", "least", "most", "only", "a"},
    "de": {"der", "die", "das", "und", "ist", "wird", "werden", "nicht", "wenn", "mit", "ein", "eine", "den", "dem",
           "auf", "für", "muss", "soll", "kann", "nach", "bei", "zu", "im", "angezeigt"},
    "fr": {"le", "les", "est", "et", "une", "des", "du", "si", "quand", "lorsque", "doit", "pas", "avec", "pour",
           "utilisateur", "au", "sont", "être", "affiché", "ne"},
    "es": {"el", "los", "las", "es", "y", "una", "del", "si", "cuando", "debe", "con", "para", "se", "usuario",
           "muestra", "al", "son", "está", "no"},
}
_SCRIPT_LANG = {"CYRILLIC": "ru", "ARABIC": "ar", "DEVANAGARI": "hi", "HANGUL": "ko", "HIRAGANA": "ja",
                "KATAKANA": "ja", "CJK": "zh", "HEBREW": "he", "GREEK": "el", "THAI": "th"}


_LETTER_HINTS = {"de": "äöüß", "fr": "éèêëàâçœîïôûù", "es": "ñáíóú¿¡"}


@lru_cache(maxsize=8192)
def language_of(text: str, default: str = "en") -> str:
    """ISO 639-1 code of the text's language: ``en``/``de``/``fr``/``es`` for Latin text, else by script.

    Latin text with no telling small word or letter is ``default``: English for the parser (its
    rules were written for English), ``""`` where a caller only wants text known to be English.
    """
    found = words(text)
    if not found:
        return default
    counts: dict[str, int] = {}
    for w in ([] if text.isascii() else found):
        s = _script(w[0])
        counts[s] = counts.get(s, 0) + len(w)
    if not counts:
        counts["LATIN"] = 1
    if "HIRAGANA" in counts or "KATAKANA" in counts:
        return "ja"
    top = max(counts, key=lambda k: counts[k])
    if top != "LATIN":
        return _SCRIPT_LANG.get(top, top.lower())
    lows = [w.lower() for w in found]
    scores = {lang: sum(w in stops for w in lows) for lang, stops in _STOPWORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    if scores[best] > scores["en"]:
        return best
    if scores["en"]:
        return "en"
    low = text.lower()
    hints = {lang: sum(low.count(ch) for ch in letters) for lang, letters in _LETTER_HINTS.items()}
    hinted = max(hints, key=lambda k: hints[k])
    return hinted if hints[hinted] else default
