"""Generated cases quote a criterion written in another language as written: no English rewording of its text."""

from __future__ import annotations

import pytest

from agent.generation.rules import generate_for_story
from agent.generation.template import load_template
from agent.intake.criteria import extract
from agent.models import Story

CRITERIA = {
    "de": "Wenn das Passwort falsch ist, zeigt das System die Meldung 'Ungültiges Passwort'.",
    "de-noun": "Fehlermeldungen erscheinen in Rot.",
    "fr": "Si le mot de passe est faux, le message « Mot de passe invalide » est affiché.",
    "es": "Si la contraseña es incorrecta, se muestra el mensaje 'Contraseña inválida'.",
    "ja": "無効なパスワードを入力すると、エラーメッセージが表示される。",
    "ru": "Если пароль неверный, система показывает ошибку.",
    "ar": "إذا كانت كلمة المرور خاطئة، يعرض النظام رسالة خطأ.",
}


@pytest.mark.parametrize("name", sorted(CRITERIA))
def test_the_criterion_text_is_kept_in_its_language(name: str) -> None:
    text = CRITERIA[name]
    criteria, params, _ = extract("LNG-1", "", text)
    story = Story(key="LNG-1", summary="Login", description="", criteria=criteria, parameters=params, epic_key="LNG-0")
    cases = generate_for_story(story, load_template()).cases
    own = [c for c in cases if c.criterion_ids == ["LNG-1/AC-1"]]
    assert own, cases
    case = own[0]
    assert case.steps[-1].expected == text  # the expected result is the criterion, word for word
    body = text.rstrip(".")
    assert body in case.title and body in case.objective
    assert not any(p.endswith(("。.", "।.", "..")) for p in [case.objective] + [s.expected for s in case.steps])
