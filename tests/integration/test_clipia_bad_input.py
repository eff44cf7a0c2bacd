"""Bad input fails the task at once: no retry burned, no request created, no credit spent."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.integration.dagrun import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.mark.parametrize(
    ("case", "dag_id", "key_prefix", "host"),
    [
        ("unknown model", "clipia_unknown_model", "clipia_test_", None),
        ("text outside the TTS model's text_limits", "clipia_text_too_long", "clipia_test_", None),
        ("invalid webhook URL", "clipia_bad_webhook_url", "clipia_test_", None),
        ("bad API key", "clipia_guarded", "wrong_", None),
        ("insufficient credits", "clipia_guarded", "clipia_test_broke_", None),
        ("key without the submit scope", "clipia_guarded", "clipia_test_readonly_", None),
        ("non-https base URL", "clipia_guarded", "clipia_test_", "http://api.clipia.example"),
    ],
)
def test_bad_input_fails_once_and_spends_nothing(monkeypatch, sandbox, case, dag_id, key_prefix, host):
    key = f"{key_prefix}{uuid.uuid4().hex}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLIPIA_DEFAULT",
        json.dumps({"conn_type": "clipia", "host": host or sandbox.url, "password": key}),
    )
    outcome = run_dag(dag_id)
    assert outcome.task_states["generate"] == "failed", case
    assert outcome.tries["generate"] == 1, f"{case}: a permanent error must not burn retries"
    accepted = [c for c in sandbox.calls(api_key=key, method="POST") if c["status"] == 200]
    assert accepted == [], f"{case}: a request was accepted"
    if key_prefix.startswith("clipia_test_"):
        account = httpx.get(f"{sandbox.url}/v1/account", headers={"Authorization": f"Bearer {key}"}).json()
        assert account["usage_30d"] == {"requests": 0, "credits_spent": 0}
