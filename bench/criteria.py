"""Benchmark: acceptance-criteria parsing and assessment (``extract`` + ``assess_story``).

Times three inputs and prints stories per second for each:
  1. the 60 LAJ development tickets repeated (English Markdown descriptions),
  2. AC fields in ten languages (English, German, French, Spanish, Russian, Arabic, Hindi,
     Korean, Japanese, Chinese), with tables, symbol-led lines and a Scenario Outline,
  3. one criteria list of 5,000 items.

    .venv/bin/python bench/criteria.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.intake.criteria import extract  # noqa: E402
from agent.intake.quality import assess_story  # noqa: E402

LAJ = ROOT.parent / "shared" / "data" / "laj-gherkin-dev" / "tickets.csv"

FIELDS = [
    "If the password is wrong, the error 'Invalid password' is shown.\n- After sign-in the dashboard opens.",
    "Wenn das Passwort falsch ist, zeigt das System die Meldung 'Ungültiges Passwort'.\nDie Seite lädt schnell.",
    "Si le mot de passe est faux, le message « Mot de passe invalide » est affiché.\n🚀 Le tableau de bord s'affiche.",
    "Si la contraseña es incorrecta, se muestra el mensaje 'Contraseña inválida'.\n@admin recibe un aviso.",
    "Если пароль неверный, система показывает ошибку.\nПосле входа открывается панель управления.",
    "إذا كانت كلمة المرور خاطئة، يعرض النظام رسالة خطأ.\nبعد تسجيل الدخول تظهر لوحة التحكم.",
    "यदि पासवर्ड गलत है, तो त्रुटि संदेश दिखाया जाता है।\nलॉगिन के बाद डैशबोर्ड खुलता है।",
    "비밀번호가 틀리면 오류 메시지가 표시됩니다.\n로그인에 성공하면 대시보드가 열립니다.",
    "無効なパスワードを入力すると、エラーメッセージが表示される。\nログインに成功すると、ダッシュボードに移動する。",
    "如果密码错误，系统显示错误消息。\n登录成功后，系统打开仪表板。",
    "| Condition | Expected result |\n|---|---|\n| The password is wrong | The error is shown |\n| It is right | The dashboard opens |",
    "Scenario Outline: Sign in as <user>\n  When they sign in with <password>\n  Then they see <result>\n"
    "  Examples:\n    | user | password | result |\n    | ann | good | the dashboard |\n    | bob | bad | an error |",
]


def _rate(label: str, stories: list[tuple[str, str, str]]) -> None:
    start = time.perf_counter()
    criteria_count = 0
    for key, description, field in stories:
        criteria, _, _ = extract(key, description, field)
        assess_story(key, criteria, description)
        criteria_count += len(criteria)
    elapsed = time.perf_counter() - start
    print(f"{label}: {len(stories)} stories, {criteria_count} criteria in {elapsed:.2f} s "
          f"= {len(stories) / elapsed:,.0f} stories/s, {criteria_count / elapsed:,.0f} criteria/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    if LAJ.exists():
        rows = list(csv.DictReader(LAJ.open(encoding="utf-8")))
        _rate("LAJ tickets", [(f"KB-{r['id']}", r["description"], "") for r in rows] * args.repeat)
    else:
        print(f"LAJ tickets: skipped ({LAJ} missing)")
    _rate("ten languages, tables, outline", [(f"ML-{i}", "", f) for i, f in enumerate(FIELDS)] * (args.repeat * 5))
    big = "\n".join(f"- Item {n}: the total {n} is shown when the user saves." for n in range(5000))
    _rate("one 5,000-item list", [("BIG-1", "", big)])


if __name__ == "__main__":
    main()
