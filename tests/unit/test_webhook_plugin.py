"""The plugin that mounts the receiver and the UI: declared once, and free for tasks to import."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

from clipgen_provider.get_provider_info import get_provider_info
from clipgen_provider.plugins import ClipgenPlugin
from clipgen_provider.webhooks.addressing import URL_PREFIX
from tests.airflow_compat import fastapi_plugin_apps


def test_declared_once_as_an_entry_point() -> None:
    """Declared twice (entry point and provider info), Airflow registers it once and reports the
    second as an import error on every user's home page."""
    points = [ep for ep in entry_points(group="airflow.plugins") if ep.name == "clipgen"]
    assert points, "the airflow.plugins entry point is missing: reinstall the package"
    assert {ep.load() for ep in points} == {ClipgenPlugin}
    assert "plugins" not in get_provider_info()


def test_airflow_collects_the_receiver_app_under_its_prefix() -> None:
    apps = fastapi_plugin_apps()
    ours = [app for app in apps if app["name"] == "Clipgen webhook receiver"]
    assert len(ours) == 1
    assert ours[0]["url_prefix"] == URL_PREFIX
    assert ours[0]["app"] is ClipgenPlugin().fastapi_apps[0]["app"], "built once, then kept"
    assert ours[0]["app"].openapi_url is None


def _added_by(imports: str, heavy: list[str]) -> None:
    """Fail if ``imports`` load any of ``heavy`` beyond what ``airflow.sdk`` itself loads (Airflow
    3.1's Task SDK imports the ORM on its own; what matters is that ours adds nothing)."""
    code = (
        "import sys\n"
        "import airflow.sdk\n"
        "before = set(sys.modules)\n"
        f"{imports}\n"
        f"added = [m for m in {heavy!r} if m in sys.modules and m not in before]\n"
        "assert not added, added\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tasks_and_triggers_import_neither_the_receiver_nor_the_orm() -> None:
    _added_by(
        "import clipgen_provider.operators.clipia, clipgen_provider.triggers.clipia_webhook, "
        "clipgen_provider.webhooks.addressing",
        ["fastapi", "clipgen_provider.webhooks.receiver", "airflow.models.taskinstance"],
    )


def test_the_plugin_builds_the_receiver_only_when_asked() -> None:
    _added_by("import clipgen_provider.plugins", ["fastapi", "clipgen_provider.webhooks.receiver"])
