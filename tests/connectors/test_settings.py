"""Settings from the environment: lists in either form, secrets never printed."""

from connectors.settings import Settings


def test_list_settings_accept_commas_or_json(monkeypatch):
    monkeypatch.setenv("CASEWRIGHT_WEBHOOK_PROJECTS", "ER, BILL")
    monkeypatch.setenv("CASEWRIGHT_WEBHOOK_LABELS", '["uat", "payments"]')
    s = Settings(_env_file=None)
    assert s.webhook_projects == ["ER", "BILL"]
    assert s.webhook_labels == ["uat", "payments"]


def test_secrets_do_not_print(monkeypatch):
    monkeypatch.setenv("JIRA_API_TOKEN", "tok-very-secret-123")
    monkeypatch.setenv("CASEWRIGHT_WEBHOOK_SECRET", "hook-secret-456")
    s = Settings(_env_file=None)
    text = repr(s) + str(s) + s.model_dump_json()
    assert "tok-very-secret-123" not in text and "hook-secret-456" not in text
    assert s.jira_api_token.get_secret_value() == "tok-very-secret-123"


def test_a_bad_value_is_one_line_naming_the_variable(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "CASEWRIGHT_TEMPERATURE": "abc", "CASEWRIGHT_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "casewright", "generate", "ER-1", "--source", "sample"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "CASEWRIGHT_TEMPERATURE" in result.stderr and "Traceback" not in result.stderr


def test_out_of_range_values_are_refused(monkeypatch):
    import pytest

    from connectors.settings import SettingsError, load_settings

    monkeypatch.setenv("CASEWRIGHT_CONCURRENCY", "0")
    with pytest.raises(SettingsError, match="CASEWRIGHT_CONCURRENCY"):
        load_settings(_env_file=None)
