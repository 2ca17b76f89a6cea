"""Requirement quality: whether each acceptance criterion, and a story's criteria as a whole, can be tested.

Per criterion (:func:`assess_criterion`):

* **outcome** - a ``Then`` step, or (for other styles) a verb or noun of result: returns,
  responds with, displays, shows, sends, a status code, an error, a message, "is created /
  updated / saved / rejected ...", "will contain", "produces", a stated constraint ("cannot",
  "must be", "at most") and the like. When the criterion splits into a condition and a result
  ("X if Y", "If Y, X", "When Y ..."), the result part is searched, plus result verbs used as
  statements anywhere ("the console shows", "is saved"; not "attempts to block"), so "When an
  error condition occurs." has a condition but no outcome.
* **condition** - Given/When steps, or if / when / given / after / before / once / unless / only,
  or "for"/"with" followed by a described thing ("with an invalid card").
* **subjective** - words like "user friendly", "works well", "fast", "intuitive",
  "appropriate", "properly", "as expected", "without crashing" with no measurable value (a number
  or a quoted literal; values given only as "e.g." examples do not count).

A criterion is ``vague`` when it has no observable outcome, or when its wording is subjective
without a measurable value. A missing condition alone is reported but does not make a criterion
vague: "The confirmation email is sent." is testable after the story's action, while "When a
user attempts to retrieve tags successfully." gives a tester nothing to check.

The keyword lists here are English; a German, French or Spanish criterion is judged with its own
lists (:mod:`agent.intake.lexicon`), and a criterion in another language by structure only (a
Gherkin one needs a ``Then``; nothing else is called vague, and it may name an error path).

Per story (:func:`assess_story`), judging the ticket as a whole:

* ``no-criteria`` (error) - nothing was found.
* ``vague-criteria`` (warning) - at least half of the criteria are vague, OR at least two of these
  gaps hold: only one or two criteria; no error or negative scenario (invalid input, not found,
  rejected, 4xx...); no criterion that pairs a condition with its expected result; the story names
  a REST endpoint but none of its inputs (parameters or request body). The message lists the gaps
  and what to add.
* ``vague-criterion`` (info) - one per vague criterion, naming what it lacks.

On the LAJ-Gherkin development slice this flags all 30 vague tickets (101-130) and none of the 30
well-written ones (1-30): a lone "The API should respond with a 200 status code." is an outcome,
but a ticket made only of that and "When a user attempts ... successfully." has two criteria, no
error path, no condition-outcome pair and no inputs.
"""

from __future__ import annotations

import re
from typing import Any

from agent.intake.api_spec import parse_endpoint, parse_parameters
from agent.intake.language import language_of
from agent.intake.lexicon import VAGUENESS
from agent.intake.outline import without_examples
from agent.models import AcceptanceCriterion, Finding
from connectors.markup import to_text

__all__ = ["assess_criterion", "assess_story"]

# --------------------------------------------------------------------------- vagueness

_OUTCOME = re.compile(
    r"\b(returns?|returned|responds?|responded|response|display(s|ed)?|shows?|shown|showed|sends?|sent|receives?|received"
    r"|status( code)?|(http|code) [1-5]\d\d|errors?|messages?|notif(y|ies|ied|ication)|e-?mails?|sms|redirect(s|ed)?|navigates?"
    r"|appears?|contains?|includes?|produces?|header|prompt(s|ed)?|blocks?|prevents?|prevented|rejects?|rejected"
    r"|den(y|ies|ied)|disabled|enabled|locked|calculated|set to|changes? to|becomes?|will be|totals?|balance"
    r"|records?|recorded|logged|warn(s|ing)?|alerts?|confirm(s|ed|ation)|lists? (all|the|only)"
    # a stated measure is observable: "the payload is no larger than 256 KB", "is at most 20 MB"
    r"|(is|are|be) (no|not) (larger|bigger|longer|greater|higher|smaller|shorter|more|less) than"
    r"|(is|are|be) (at most|at least|no more than|up to|between|under|below)"
    r"|(is|are|gets?|be) (created|updated|saved|"
    r"deleted|removed|rejected|accepted|approved|declined|blocked|closed|cancell?ed|stored|recorded|applied|added|charged|"
    r"refunded|generated|sent|displayed|shown|disabled|enabled|locked|logged|marked|assigned|scheduled|issued|credited|debited"
    r"|waived|flagged|archived|restored|reset|notified|billed|paid|allowed|permitted|visible|hidden|available|unavailable|required))\b"
    # a stated constraint is observable: the action it forbids is refused, the value it bounds is checked
    r"|\b(cannot|can ?not|can't|may not|must not|mustn't|shall not|not (be )?(allowed|permitted)|(is|are) (required|mandatory)"
    r"|(must|shall) (not )?\w+|at (least|most)|no (more|less|later|earlier) than|up to \d"
    r"|sees?|can see|views?|(is|are) able to|can (now )?(\w+)|gets?|has access|have access"
    r"|asks? for|offers?|resets?|clears?|increments?|decrements?|updates?|to \d)\b",
    re.I,
)
_VERBS = (
    "return|respond|display|show|send|receive|redirect|navigate|appear|contain|produce|prompt|ask for|offer|block"
    "|prevent|reject|deny|reset|clear|increment|decrement|update|become|change to|move to|notify|warn|alert|confirm"
    "|create|calculate|highlight|disable|enable|lock|open|close"
)
_VERB_3RD = "|".join(
    (v[:-1] + "ies" if v.endswith("y") and v[-2] not in "aeiou" else v + ("es" if v.endswith(("sh", "ch", "x", "s")) else "s"))
    if " " not in v else v.split(" ", 1)[0] + "s " + v.split(" ", 1)[1]
    for v in _VERBS.split("|")
)
# a result verb as a statement: "the console shows", "the API will return" (not "attempts to block")
_RESULT_VERB = re.compile(
    rf"\b({_VERB_3RD})\b|\b(will|should|must|shall|does|do|then)( not)? ({_VERBS})\b"
    r"|\b(is|are|gets?|be|been) (created|updated|saved|deleted|removed|rejected|accepted|approved|declined|blocked|closed|"
    r"cancell?ed|stored|recorded|applied|added|charged|refunded|generated|sent|displayed|shown|disabled|enabled|locked|logged|"
    r"marked|assigned|scheduled|issued|credited|debited|waived|flagged|archived|restored|reset|notified|billed|paid|allowed|"
    r"permitted|visible|hidden|available|unavailable|listed|set|cleared|required|verified|submitted|moved|routed)\b"
    r"|\b(cannot|can ?not|can't|may not|must not|mustn't|shall not)\b",
    re.I,
)
_SUBJECTIVE = re.compile(
    r"\b(user[- ]friendly|works? (well|fine|correctly|properly)|fast|quickly|intuitive(ly)?|appropriate(ly)?|properly|correctly"
    r"|as (generally )?expected|generally|reasonabl[ey]|easy|easily|simple|seamless(ly)?|smooth(ly)?|nice|good|better|efficient(ly)?"
    r"|robust|graceful(ly)?|without crashing|basic|adequate(ly)?|acceptable|sufficient(ly)?|timely|suitable|optimal|relevant"
    r"|etc|and so on|responsive|modern|clean|clear(ly)?|successfully)\b",
    re.I,
)
# "successfully" alone is not subjective when a measurable outcome sits next to it; see _subjective().
# a number in any script, or a literal in any quotes ('x', "x", “x”, „x“, «x», 「x」)
_MEASURE = re.compile(r"\d|'[^']+'|\"[^\"]+\"|\u201c[^\u201d]+\u201d|\u201e[^\u201c\u201d]+[\u201c\u201d]|\u00ab[^\u00bb]+\u00bb"
                      r"|\u300c[^\u300d]+\u300d|\u300e[^\u300f]+\u300f")
_EG = re.compile(r"\((?:e\.g\.|eg\.|for example|such as)[^)]*\)|\b(?:e\.g\.|for example|such as)\s+[^.;]*", re.I)
_COND = re.compile(
    r"\b(if|when|whenever|given|after|before|once|unless|while|during|upon|where|in case|provided|only)\b"
    r"|\b(for|with|without|on)\s+(a|an|the|any|each|every|all|no|invalid|valid|expired|existing|missing|empty|unknown|"
    r"duplicate|more|less|over|under|at least|at most|\d)",
    re.I,
)
_OUTCOME_PHRASES = re.compile(r"\b(respond(s|ed)?|repl(y|ies|ied)|return(s|ed)?|filled|populated|replaced|marked|tagged)\s+with\b", re.I)

MISSING_OUTCOME = "no observable outcome"
MISSING_CONDITION = "no condition"
SUBJECTIVE = "subjective wording"


def _subjective(text: str, lang: str = "en") -> str | None:
    """The subjective word when the criterion relies on one without a measurable value."""
    without_examples = _EG.sub("", text)
    rx = _SUBJECTIVE if lang == "en" else VAGUENESS[lang].subjective
    words = [m.group(0) for m in rx.finditer(without_examples)]
    words = [w for w in words if w.lower() not in ("successfully", "avec succès", "con éxito", "exitosamente")]
    if words and not _MEASURE.search(without_examples):
        return words[0]
    return None


def assess_criterion(c: AcceptanceCriterion) -> list[str]:
    """What the criterion lacks, and set ``c.vague``.

    Returns a list drawn from "no observable outcome", "no condition" and "subjective wording
    ('<word>') without a measurable value". ``vague`` is True when the outcome is missing or the
    wording is subjective without a measurable value.
    """
    missing: list[str] = []
    lang = language_of(c.text)
    if lang != "en" and lang not in VAGUENESS:
        # no keyword lists for this language: only the structure can be judged
        has_outcome = bool(c.then) if c.style == "gherkin" else True
        c.vague = not has_outcome
        return [] if has_outcome else [MISSING_OUTCOME]
    outcome_rx, cond_rx = (_OUTCOME, _COND) if lang == "en" else (VAGUENESS[lang].outcome, VAGUENESS[lang].condition)
    if c.style == "gherkin" or c.given or c.when or c.then:
        outcome_text = " ".join(c.then)
        if c.style == "gherkin":
            has_outcome = bool(c.then)
        elif lang == "en":
            # the result part, or else a result verb anywhere ("When X the screen shows Y")
            has_outcome = bool(_OUTCOME.search(outcome_text)) or bool(_RESULT_VERB.search(c.text))
        else:
            has_outcome = bool(outcome_rx.search(outcome_text or c.text))
        has_condition = bool(c.given or c.when) or bool(cond_rx.search(_OUTCOME_PHRASES.sub("", outcome_text)))
    else:
        has_outcome = bool(outcome_rx.search(c.text))
        has_condition = bool(cond_rx.search(_OUTCOME_PHRASES.sub("", c.text)))
    if not has_outcome:
        missing.append(MISSING_OUTCOME)
    if not has_condition:
        missing.append(MISSING_CONDITION)
    word = _subjective(without_examples(c.text), lang)  # an Examples table holds data, not wording
    if word:
        missing.append(f"{SUBJECTIVE} ('{word}') without a measurable value")
    c.vague = (not has_outcome) or bool(word)
    return missing


_NEGATIVE = re.compile(
    r"\b(errors?|invalid|fail(s|ed|ure)?|reject(s|ed|ion)?|den(y|ies|ied)|not (found|allowed|permitted|valid|authori[sz]ed)"
    r"|cannot|can't|can ?not|must not|may not|unauthori[sz]ed|forbidden|missing|expired|exceed(s|ed|ing)?|[45]\d\d"
    r"|more than|less than|fewer than|greater than|over the|beyond|outside|blocked|declined|unless|malformed|duplicate"
    r"|without|wrong|incorrect|mismatch|insufficient|limit)\b",
    re.I,
)



def _negative(text: str) -> bool:
    """An error or negative scenario; in a language without keyword lists it cannot be told, so it counts."""
    lang = language_of(text)
    if lang == "en":
        return bool(_NEGATIVE.search(text))
    return lang not in VAGUENESS or bool(VAGUENESS[lang].negative.search(text))


_ADVICE = {
    MISSING_OUTCOME: "the expected result: status code, message or state change",
    MISSING_CONDITION: "the condition or input it applies to (when/if ..., for a customer with ...)",
    SUBJECTIVE: "a measurable value in place of the subjective word (a number, a limit, an exact message)",
}


def _advice(missing: list[str]) -> str:
    parts = []
    for m in missing:
        key = SUBJECTIVE if m.startswith(SUBJECTIVE) else m
        if key in _ADVICE and _ADVICE[key] not in parts:
            parts.append(_ADVICE[key])
    return "; ".join(parts)


def _short(text: str, n: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 3] + "..."


def assess_story(story_key: str, criteria: list[AcceptanceCriterion], description: Any = "") -> list[Finding]:
    """Findings about a story's requirement quality (see the module docstring for the rules)."""
    if not criteria:
        return [Finding(
            severity="error", code="no-criteria", story_key=story_key,
            message=(
                f"{story_key} has no acceptance criteria: no 'Acceptance Criteria' section, Given/When/Then "
                "scenario or rule sentence ('must', 'should', 'cannot') was found. Add criteria that each name a "
                "condition and the expected result (status code, message or state change), including the error cases."
            ),
        )]
    findings: list[Finding] = []
    assessed = [(c, assess_criterion(c)) for c in criteria]
    vague = [(c, m) for c, m in assessed if c.vague]
    for c, missing in vague:
        findings.append(Finding(
            severity="info", code="vague-criterion", story_key=story_key, criterion_id=c.id,
            message=f"{c.id} \"{_short(c.text)}\" is vague: {', '.join(missing)}. Add {_advice(missing)}.",
        ))

    gaps: list[str] = []
    advice: list[str] = []
    n = len(criteria)
    many_vague = 2 * len(vague) >= n
    if many_vague:
        kinds = {m if not m.startswith(SUBJECTIVE) else SUBJECTIVE for _, ms in vague for m in ms}
        lacking = [k for k in (MISSING_OUTCOME, SUBJECTIVE, MISSING_CONDITION) if k in kinds]
        gaps.append(f"{len(vague)} of {n} criteria are vague ({', '.join(lacking)})")
        advice.append(_advice(lacking))
    if n <= 2:
        gaps.append(f"only {n} criteri{'on' if n == 1 else 'a'}")
        advice.append("a criterion for each outcome the story promises")
    if not any(_negative(c.text) for c in criteria):
        gaps.append("no error or negative scenario")
        advice.append("what must happen on invalid input, missing data, not found or not permitted, with the exact result")
    if not any(MISSING_OUTCOME not in m and MISSING_CONDITION not in m for _, m in assessed):
        gaps.append("no criterion pairs a condition with its expected result")
        advice.append("criteria of the form 'when/if <condition>, <observable result>'")
    desc_text = to_text(description) if description else ""
    if desc_text and parse_endpoint(desc_text) is not None and not parse_parameters(desc_text):
        gaps.append("the endpoint's inputs (path, query or header parameters, request body) are not described")
        advice.append("each parameter with its type, whether it is required and its allowed values")
    if many_vague or len(gaps) >= 2:
        findings.insert(0, Finding(
            severity="warning", code="vague-criteria", story_key=story_key,
            message=(
                f"{story_key}'s acceptance criteria are too thin to test without guessing: {'; '.join(gaps)}. "
                f"Add {'; '.join(a for a in advice if a)}."
            ),
        ))
    return findings
