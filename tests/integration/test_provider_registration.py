"""The provider as Airflow sees it: listed, connection types declared, connection test working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.airflow_compat import PROVIDERS_MANAGER_READS_CONNECTION_FORMS

AIRFLOW = os.path.join(os.path.dirname(sys.executable), "airflow")


def airflow(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AIRFLOW, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False
    )


def test_providers_list_shows_the_provider():
    listed = json.loads(airflow("providers", "list", "-o", "json").stdout)
    ours = [p for p in listed if p["package_name"] == "airflow-provider-clipgen"]
    assert ours, listed
    assert ours[0]["version"] == "0.1.0"


CONNECTION_FORMS = pytest.mark.parametrize(
    ("conn_type", "extras"), [("clipia", {"webhook_secrets", "webhook_base_url"}), ("clipwise", set())]
)


@CONNECTION_FORMS
@pytest.mark.skipif(
    not PROVIDERS_MANAGER_READS_CONNECTION_FORMS,
    reason="Airflow 3.1's ProvidersManager builds connection forms from the hooks' WTForms fields, "
    "only with Flask-AppBuilder installed; the form its API server shows is checked by "
    "test_the_connection_form_shows_the_declared_fields",
)
def test_connection_types_declare_their_form(conn_type, extras):
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    behaviour = manager.field_behaviours[conn_type]
    assert set(behaviour["hidden_fields"]) == {"schema", "port", "login", "extra"}
    assert behaviour["relabeling"]["host"] == "Base URL"
    assert behaviour["placeholders"]["host"].startswith("https://")
    widgets = {
        k.split("__")[-1] for k in manager.connection_form_widgets if k.startswith(f"extra__{conn_type}__")
    }
    assert widgets == extras


def connection_form(conn_type: str) -> dict[str, Any]:
    """The connection form of ``conn_type`` as Airflow's UI gets it (``GET /ui/connections/hook_meta``),
    built in a fresh process: Airflow 3.1 builds it once per process, mocking Flask-AppBuilder."""
    code = (
        "import json\n"
        "from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService\n"
        "forms = {m.connection_type: m.model_dump(mode='json') for m in HookMetaService.hook_meta_data()}\n"
        f"print('FORM', json.dumps(forms[{conn_type!r}]))\n"
    )
    built = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    (line,) = [line for line in built.stdout.splitlines() if line.startswith("FORM ")]
    return dict(json.loads(line.removeprefix("FORM ")))


@CONNECTION_FORMS
def test_the_connection_form_shows_the_declared_fields(conn_type, extras):
    form = connection_form(conn_type)
    standard = form["standard_fields"]
    assert {name for name, field in standard.items() if field and field["hidden"]} == {
        "url_schema",
        "port",
        "login",
    }
    assert standard["host"]["title"] == "Base URL"
    assert standard["host"]["placeholder"].startswith("https://")
    assert standard["password"]["title"].startswith("API ")
    extra_fields = form["extra_fields"] or {}
    assert set(extra_fields) == extras
    secrets = {name for name, field in extra_fields.items() if field["schema"].get("format") == "password"}
    assert secrets == {name for name in extras if "secret" in name}


def test_secret_extras_are_password_fields():
    from clipgen_provider.get_provider_info import get_provider_info

    (clipia,) = [c for c in get_provider_info()["connection-types"] if c["connection-type"] == "clipia"]
    assert clipia["conn-fields"]["webhook_secrets"]["schema"]["format"] == "password"


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize(
    ("conn_type", "good_key"), [("clipia", "clipia_test_cli"), ("clipwise", "cw_test_cli")]
)
def test_airflow_connections_test_against_the_sandbox(sandbox, conn_type, good_key):
    def run(key: str, host: str) -> str:
        conn = json.dumps({"conn_type": conn_type, "host": host, "password": key})
        result = airflow(
            "connections",
            "test",
            f"{conn_type}_default",
            AIRFLOW__CORE__TEST_CONNECTION="Enabled",
            **{f"AIRFLOW_CONN_{conn_type.upper()}_DEFAULT": conn},
        )
        return result.stdout + result.stderr

    assert "Connection success!" in run(good_key, sandbox.url)
    bad_key = run("nope_key", sandbox.url)
    assert "Connection failed" in bad_key
    assert "check the API key" in bad_key
    assert "nope_key" not in bad_key
    unreachable = run(good_key, "http://127.0.0.1:9")
    assert "check the connection's Base URL" in unreachable
