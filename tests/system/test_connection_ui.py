"""The connection form and the Test button, as a running Airflow 3.3 API server serves them to the UI.

The UI draws a connection form from ``GET /ui/connections/hook_meta`` (labels, placeholders, which
standard fields to hide, the extra fields and their widgets) and its Test button posts the unsaved
form to ``POST /api/v2/connections/test``, which runs the hook's ``test_connection`` inside the API
server. Both are read here from the deployment the system tests start, against the sandbox.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.system.cluster import AirflowCluster, free_port
from tests.system.scenario import SECRET

from clipgen_provider.sandbox.server import SandboxServer

pytestmark = pytest.mark.timeout(300)


def _form(cluster: AirflowCluster, conn_type: str) -> dict[str, Any]:
    response = cluster.client.get("/ui/connections/hook_meta")
    response.raise_for_status()
    forms = {meta["connection_type"]: meta for meta in response.json()}
    assert conn_type in forms, f"{conn_type} is not among the API server's connection types"
    return dict(forms[conn_type])


def _test_button(cluster: AirflowCluster, conn_type: str, host: str, password: str) -> dict[str, Any]:
    """What the UI's Test button gets back for an unsaved form with these fields."""
    body = {"connection_id": f"{conn_type}_form", "conn_type": conn_type, "host": host, "password": password}
    response = cluster.client.post("/api/v2/connections/test", json=body)
    response.raise_for_status()
    return dict(response.json())


@pytest.mark.parametrize(
    ("conn_type", "hook_name", "password_label", "placeholder_start"),
    [("clipia", "Clipia", "API key", "clipia_live_"), ("clipwise", "Clipwise", "API token", "cw_live_")],
)
def test_form_labels_placeholders_and_hidden_fields(
    cluster: AirflowCluster, conn_type: str, hook_name: str, password_label: str, placeholder_start: str
) -> None:
    form = _form(cluster, conn_type)

    assert form["hook_name"] == hook_name
    fields = form["standard_fields"]
    assert fields["host"] == {
        "hidden": False,
        "title": "Base URL",
        "placeholder": fields["host"]["placeholder"],
    }
    assert "https://" in fields["host"]["placeholder"]
    assert fields["password"]["title"] == password_label
    assert fields["password"]["placeholder"].startswith(placeholder_start)
    for unused in ("login", "port", "url_schema"):
        assert fields[unused]["hidden"] is True, f"{conn_type}: {unused} should be hidden"


def test_clipia_extra_fields_mask_the_webhook_secret(cluster: AirflowCluster) -> None:
    extra = _form(cluster, "clipia")["extra_fields"]

    secrets_field = extra["webhook_secrets"]
    assert secrets_field["schema"]["format"] == "password"  # the UI draws a masked input
    assert "rotation" in secrets_field["description"]
    base_url = extra["webhook_base_url"]
    assert base_url["schema"]["format"] == "url"
    assert base_url["schema"]["title"] == "Public webhook base URL"


def test_saved_connection_masks_its_secrets(cluster: AirflowCluster) -> None:
    cluster.set_connection(
        "clipia_form_saved",
        conn_type="clipia",
        host="https://api.clipia.ai",
        password="clipia_live_form_secret_0123456789",
        extra={"webhook_secrets": SECRET, "webhook_base_url": "https://airflow.example.com"},
    )

    served = cluster.get("/connections/clipia_form_saved")

    assert served["password"] != "clipia_live_form_secret_0123456789"
    assert SECRET not in json.dumps(served)
    assert json.loads(served["extra"])["webhook_base_url"] == "https://airflow.example.com"


@pytest.mark.parametrize(
    ("conn_type", "good_key", "bad_key"),
    [
        ("clipia", "clipia_test_form_button", "revoked_form_button"),
        ("clipwise", "cw_test_form_button", "revoked_form_button"),
    ],
)
def test_the_test_button_against_the_sandbox(
    cluster: AirflowCluster, webhook_sandbox: SandboxServer, conn_type: str, good_key: str, bad_key: str
) -> None:
    passed = _test_button(cluster, conn_type, webhook_sandbox.url, good_key)
    assert passed["status"] is True, passed
    assert webhook_sandbox.url in passed["message"]

    refused = _test_button(cluster, conn_type, webhook_sandbox.url, bad_key)
    assert refused["status"] is False
    assert "check the API key" in refused["message"]
    assert bad_key not in refused["message"]

    unreachable = _test_button(cluster, conn_type, f"http://127.0.0.1:{free_port()}", good_key)
    assert unreachable["status"] is False
    assert "reachable" in unreachable["message"]

    not_https = _test_button(cluster, conn_type, "http://clipgen.example.com", good_key)
    assert not_https["status"] is False
    assert "https" in not_https["message"]
