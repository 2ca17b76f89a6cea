"""Keyword lists per language for reading criteria written in languages other than English.

English has the richest lists, in :mod:`agent.intake.quality` (outcome, condition, subjective
wording) and :mod:`agent.intake.items` (rule sentences). Here are the others:

* ``VAGUENESS`` - German, French and Spanish: the words of an observable outcome, of a
  condition, of subjective wording and of an error path, so that a criterion in those languages
  is judged as an English one is. A criterion in any other language is not judged vague by
  keywords (nothing can be said about words we do not know); the "has words" and measurable-value
  checks still apply.
* ``RULES`` - modal words that make a sentence a rule ("muss", "doit", "debe", "должен", "必须",
  "しなければならない", "해야", "يجب", "चाहिए"...), for the rule-sentence fallback in descriptions.
* ``LEAD_CONDITION`` - the words that open a condition clause ("Wenn ..., ...", "Si ..., ...").
* ``STORY_SENTENCE`` - the "As a ..., I want ..." sentence in German, French and Spanish.
* ``TABLE_CONDITION`` / ``TABLE_RESULT`` - column headers naming a condition or an expected result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Vagueness", "VAGUENESS", "RULES", "LEAD_CONDITION", "STORY_SENTENCE", "TABLE_CONDITION", "TABLE_RESULT",
           "is_rule_sentence"]


@dataclass(frozen=True)
class Vagueness:
    outcome: re.Pattern[str]
    condition: re.Pattern[str]
    subjective: re.Pattern[str]
    negative: re.Pattern[str]


def _words(alternatives: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.I)


VAGUENESS: dict[str, Vagueness] = {
    "de": Vagueness(
        outcome=_words(
            r"zeigt|zeigen|angezeigt|erscheint|erscheinen|gibt|zurückgegeben|liefert|sendet|gesendet|versendet|erhält"
            r"|empfängt|meldet|meldung|fehlermeldung|nachricht|hinweis|warnung|statuscode|status|\d{3}"
            r"|ist (gesperrt|deaktiviert|aktiviert|sichtbar|verfügbar)|gespeichert|erstellt|angelegt"
            r"|abgelehnt|gelöscht|aktualisiert|blockiert|gesperrt|verhindert|weitergeleitet|berechnet|geändert"
            r"|darf nicht|kann nicht|können nicht|muss|müssen|höchstens|mindestens|nicht mehr als|sieht|sehen|kann|können"),
        condition=_words(
            r"wenn|falls|sobald|nachdem|bevor|bei|beim|sofern|außer|nur|während|vorausgesetzt|angenommen|gegeben"
            r"|für (einen|eine|ein|jeden|jede|alle)|mit (einem|einer|ungültige\w*|gültige\w*)|ohne"),
        subjective=_words(
            r"benutzerfreundlich|nutzerfreundlich|schnell|zügig|intuitiv|angemessen|ordnungsgemäß|korrekt|richtig"
            r"|wie erwartet|einfach|leicht|reibungslos|gut|besser|effizient|robust|zeitnah|ansprechend|sauber"
            r"|passend|sinnvoll|usw|ordentlich|modern|übersichtlich"),
        negative=_words(
            r"fehler\w*|ungültig\w*|abgelehnt|ablehn\w*|nicht|verweigert|gesperrt|fehlt|fehlend\w*|falsch\w*"
            r"|überschreit\w*|ohne|abgelaufen\w*|unberechtigt\w*|verboten|[45]\d\d"),
    ),
    "fr": Vagueness(
        outcome=_words(
            r"affiche|affichent|affichée?s?|s'affiche|apparaît|apparaissent|renvoie|retourne|envoie|envoyée?s?|reçoit"
            r"|message|avertissement|code (de )?statut|statut|\d{3}|enregistrée?s?|créée?s?|rejetée?s?"
            r"|refusée?s?|supprimée?s?|mise? à jour|bloquée?s?|refuse|rejette|bloque|empêche|redirigée?s?|calculée?s?"
            r"|ne peut pas|ne peuvent pas|doit|doivent|au plus|au moins|pas plus de|voit|voient|peut|peuvent|devient"),
        condition=_words(
            r"si|s'il|quand|lorsque|lorsqu'\w+|dès que|après|avant|sauf|seulement|uniquement|pendant|étant donné"
            r"|à condition|pour (un|une|le|la|les|tout|toute|chaque)|avec (un|une)|sans"),
        subjective=_words(
            r"convivial\w*|rapide(ment)?|intuiti(f|ve|vement)|approprié\w*|correctement|comme prévu|facile(ment)?"
            r"|simple|fluide|bon|bonne|meilleur\w*|efficace(ment)?|robuste|adéquat\w*|acceptable|suffisant\w*"
            r"|moderne|propre|clair\w*|etc|avec succès|convenablement"),
        negative=_words(
            r"erreur\w*|invalide\w*|refus\w*|rejet\w*|pas|interdit\w*|manquant\w*|expiré\w*|dépass\w*|sans"
            r"|incorrect\w*|non autorisé\w*|bloqué\w*|[45]\d\d"),
    ),
    "es": Vagueness(
        outcome=_words(
            r"muestra|muestran|se muestra|mostrad[oa]s?|aparece|aparecen|devuelve|retorna|envía|enviad[oa]s?|recibe"
            r"|mensaje|aviso|advertencia|código de estado|estado|\d{3}|guardad[oa]s?|cread[oa]s?|rechazad[oa]s?"
            r"|eliminad[oa]s?|actualizad[oa]s?|bloquead[oa]s?|rechaza|bloquea|impide|redirige|calculad[oa]s?"
            r"|no puede|no pueden|debe|deben|como máximo|al menos|no más de|ve|ven|puede|pueden|se convierte"),
        condition=_words(
            r"si|cuando|una vez|después de|antes de|salvo|a menos que|solo|sólo|solamente|durante|dado que"
            r"|siempre que|para (un|una|el|la|los|las|cada|todo)|con (un|una)|sin"),
        subjective=_words(
            r"fácil de usar|amigable|rápid[oa]s?|rápidamente|intuitiv[oa]s?|apropiad[oa]s?|adecuad[oa]s?"
            r"|correctamente|como se espera|fácil(mente)?|simple|fluid[oa]s?|buen[oa]?s?|mejor|eficiente(mente)?"
            r"|robust[oa]s?|aceptable|suficiente|modern[oa]s?|limpi[oa]s?|clar[oa]s?|etc|con éxito|exitosamente"),
        negative=_words(
            r"error\w*|inválid[oa]s?|rechaz\w*|no|prohibid[oa]s?|falta\w*|expirad[oa]s?|venci\w*|excede\w*|sin"
            r"|incorrect[oa]s?|no autorizad[oa]s?|bloquead[oa]s?|[45]\d\d"),
    ),
}

RULES = re.compile(
    # German, French, Spanish (whole words)
    r"(?<!\w)(?:muss|müssen|soll|sollen|darf nicht|dürfen nicht|kann nicht|ist erforderlich|ist pflicht|höchstens"
    r"|mindestens|doit|doivent|ne peut pas|ne doit pas|est obligatoire|est requis|au plus|au moins|debe|deben"
    r"|no puede|no debe|es obligatorio|es requerido|como máximo|al menos"
    # Russian, Arabic, Hindi, Korean (written with spaces)
    r"|должен|должна|должно|должны|не может|нельзя|обязательно|не более|не менее|يجب|لا يمكن|ينبغي|مطلوب"
    r"|चाहिए|अनिवार्य|आवश्यक|नहीं कर सकता|해야|필수|할 수 없|안 됩니다|안 된다)(?!\w)"
    # Chinese and Japanese (written without spaces)
    r"|必须|应该|应当|不能|不得|不可|需要|しなければならない|なければならない|必要|必須|できない|してはいけない|べき",
    re.I,
)

LEAD_CONDITION = r"wenn|falls|sobald|nachdem|si|quand|lorsque|lorsqu'|dès que|après que|cuando|una vez que|después de que"

STORY_SENTENCE = re.compile(
    r"^\s*(als (ein|eine|der|die)?\b.*\b(möchte ich|will ich)|en tant qu[e']\b.*\b(je veux|je souhaite)"
    r"|como (un|una)?\b.*\b(quiero|deseo))\b",
    re.I,
)

TABLE_CONDITION = _words(
    r"conditions?|given|when|if|input|inputs|scenario|case|precondition|situation|action|bedingung|wenn|gegeben"
    r"|eingabe|fall|szenario|voraussetzung|si|quand|cas|scénario|entrée|condición|cuando|caso|escenario|entrada"
)
TABLE_RESULT = _words(
    r"expected|results?|outcomes?|then|response|behaviou?r|erwartet\w*|ergebnis|dann|verhalten|résultat|attendu"
    r"|alors|réponse|resultado|esperado|entonces|respuesta"
)


def is_rule_sentence(sentence: str) -> bool:
    """A rule in one of the non-English languages with a modal word list."""
    return bool(RULES.search(sentence))
