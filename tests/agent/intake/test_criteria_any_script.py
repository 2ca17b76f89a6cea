"""Criteria in any script and any plain-text shape: non-Latin languages, symbol-led lines, pipes and tables."""

from __future__ import annotations

import pytest

from agent.intake.criteria import extract, parse_criteria
from agent.intake.quality import assess_story

NON_LATIN = {
    "ja": ["無効なパスワードを入力すると、エラーメッセージが表示される。", "ログインに成功すると、ダッシュボードに移動する。"],
    "zh": ["如果密码错误，系统显示错误消息。", "登录成功后，系统打开仪表板。"],
    "ru": ["Если пароль неверный, система показывает ошибку.", "После входа открывается панель управления."],
    "ar": ["إذا كانت كلمة المرور خاطئة، يعرض النظام رسالة خطأ.", "بعد تسجيل الدخول تظهر لوحة التحكم."],
    "hi": ["यदि पासवर्ड गलत है, तो त्रुटि संदेश दिखाया जाता है।", "लॉगिन के बाद डैशबोर्ड खुलता है।"],
    "ko": ["비밀번호가 틀리면 오류 메시지가 표시됩니다.", "로그인에 성공하면 대시보드가 열립니다."],
}


@pytest.mark.parametrize("lang", sorted(NON_LATIN))
def test_non_latin_criteria_in_the_ac_field_are_parsed_one_per_line(lang: str) -> None:
    lines = NON_LATIN[lang]
    criteria, _, _ = extract("INT-1", "", "\n".join(lines))
    assert [c.text for c in criteria] == lines
    assert [c.id for c in criteria] == ["INT-1/AC-1", "INT-1/AC-2"]
    # the story is not reported as having no criteria
    assert "no-criteria" not in {f.code for f in assess_story("INT-1", criteria)}


@pytest.mark.parametrize("lang", sorted(NON_LATIN))
def test_non_latin_bullets_and_sentence_lines_in_a_description_section(lang: str) -> None:
    a, b = NON_LATIN[lang]
    bullets = parse_criteria("INT-2", f"## Acceptance Criteria\n- {a}\n- {b}")
    assert [c.text for c in bullets] == [a, b]
    lines = parse_criteria("INT-3", f"h3. Acceptance Criteria\n{a}\n{b}")
    assert [c.text for c in lines] == [a, b]


def test_a_line_led_by_an_emoji_mention_or_symbol_is_its_own_criterion() -> None:
    field = (
        "- The user can save the form.\n"
        "🚀 The rocket icon is shown when the job starts.\n"
        "@admin gets an email when the job fails.\n"
        "→ The arrow returns the user to the list.\n"
        "The report lists every job.\n"
        "✅ Finished jobs are marked done."
    )
    texts = [c.text for c in parse_criteria("SYM-1", field, from_field=True)]
    assert texts == [
        "The user can save the form.",
        "🚀 The rocket icon is shown when the job starts.",
        "@admin gets an email when the job fails.",
        "→ The arrow returns the user to the list.",
        "The report lists every job.",
        "✅ Finished jobs are marked done.",
    ]


def test_a_sentence_with_a_pipe_is_text_not_a_table_header() -> None:
    field = "The export returns a | separated file when requested.\nThe import rejects a file with more than 10 columns."
    texts = [c.text for c in parse_criteria("PIPE-1", field, from_field=True)]
    assert texts == ["The export returns a | separated file when requested.",
                     "The import rejects a file with more than 10 columns."]


MD_TABLE = """## Acceptance Criteria
| Condition | Expected result |
|---|---|
| The password is wrong | The error 'Invalid password' is shown |
| The password is right | The dashboard is shown |
"""
WIKI_TABLE = """h3. Acceptance Criteria
||Condition||Expected result||
|The password is wrong|The error 'Invalid password' is shown|
|The password is right|The dashboard is shown|
"""


@pytest.mark.parametrize("text", [MD_TABLE, WIKI_TABLE], ids=["markdown", "wiki"])
def test_condition_result_tables_give_one_readable_criterion_per_row(text: str) -> None:
    criteria = parse_criteria("TAB-1", text)
    assert [c.text for c in criteria] == [
        "Condition: The password is wrong; Expected result: The error 'Invalid password' is shown",
        "Condition: The password is right; Expected result: The dashboard is shown",
    ]
    assert [(c.when, c.then) for c in criteria] == [
        (["The password is wrong"], ["The error 'Invalid password' is shown"]),
        (["The password is right"], ["The dashboard is shown"]),
    ]
    assert not any(c.vague for c in criteria)


def test_tables_in_other_languages_and_without_a_condition_column() -> None:
    de = "| Bedingung | Erwartetes Ergebnis |\n|---|---|\n| Das Passwort ist falsch | Die Fehlermeldung wird angezeigt |"
    (c,) = parse_criteria("TAB-2", de, from_field=True)
    assert c.when == ["Das Passwort ist falsch"] and c.then == ["Die Fehlermeldung wird angezeigt"]
    plain = "Tier | Max days\nStandard | 14\nHardship | 21"
    assert [c.text for c in parse_criteria("TAB-3", plain, from_field=True)] == ["Tier: Standard; Max days: 14",
                                                                                 "Tier: Hardship; Max days: 21"]


# --------------------------------------------------------------------------- vagueness in other languages

CLEAR = {
    "de": ["Wenn das Passwort falsch ist, zeigt das System die Meldung 'Ungültiges Passwort'.",
           "Nach der Anmeldung wird das Dashboard angezeigt.",
           "Ein gesperrtes Konto kann sich nicht anmelden."],
    "fr": ["Si le mot de passe est faux, le message « Mot de passe invalide » est affiché.",
           "Après la connexion, le tableau de bord s'affiche.",
           "Un compte bloqué ne peut pas se connecter."],
    "es": ["Si la contraseña es incorrecta, se muestra el mensaje 'Contraseña inválida'.",
           "Después de iniciar sesión, se muestra el panel.",
           "Una cuenta bloqueada no puede iniciar sesión."],
}
VAGUE = {
    "de": ["Die Oberfläche ist benutzerfreundlich.", "Die Seite lädt schnell.", "Wenn ein Fehler auftritt."],
    "fr": ["L'interface est conviviale.", "La page se charge rapidement.", "Quand une erreur survient."],
    "es": ["La interfaz es fácil de usar.", "La página carga rápido.", "Cuando ocurre un error."],
}


@pytest.mark.parametrize("lang", sorted(CLEAR))
def test_clear_criteria_in_german_french_spanish_are_not_vague(lang: str) -> None:
    criteria = parse_criteria("LANG-1", "\n".join(CLEAR[lang]), from_field=True)
    assert [c.text for c in criteria] == CLEAR[lang]
    assert [c.vague for c in criteria] == [False, False, False]
    assert {f.code for f in assess_story("LANG-1", criteria)} == set()


@pytest.mark.parametrize("lang", sorted(VAGUE))
def test_vague_criteria_in_german_french_spanish_are_flagged(lang: str) -> None:
    criteria = parse_criteria("LANG-2", "\n".join(VAGUE[lang]), from_field=True)
    assert [c.vague for c in criteria] == [True, True, True]
    codes = [f.code for f in assess_story("LANG-2", criteria)]
    assert codes[0] == "vague-criteria" and codes.count("vague-criterion") == 3


@pytest.mark.parametrize("lang", sorted(NON_LATIN))
def test_criteria_in_languages_without_keyword_lists_are_not_called_vague(lang: str) -> None:
    criteria = parse_criteria("LANG-3", "\n".join(NON_LATIN[lang]), from_field=True)
    assert not any(c.vague for c in criteria)
    assert "vague-criterion" not in {f.code for f in assess_story("LANG-3", criteria)}


HEADINGS = {
    "de": "h3. Akzeptanzkriterien", "fr": "## Critères d'acceptation", "es": "Criterios de aceptación:",
    "ru": "## Критерии приёмки", "ar": "## معايير القبول", "hi": "## स्वीकृति मानदंड", "ko": "## 인수 기준",
    "ja": "受け入れ基準：", "zh": "## 验收标准",
}


@pytest.mark.parametrize("lang", sorted(HEADINGS))
def test_a_translated_criteria_heading_in_a_description_is_found(lang: str) -> None:
    a, b = NON_LATIN.get(lang) or CLEAR[lang][:2]
    description = f"Intro sentence about the story here.\n\n{HEADINGS[lang]}\n- {a}\n- {b}\n\n## Notes\nSomething else entirely."
    criteria = parse_criteria("HDG-1", description)
    assert [c.text for c in criteria] == [a, b]
