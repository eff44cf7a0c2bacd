"""The plugin that mounts the receiver: discoverable both ways, and free for tasks to import."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

from clipgen_provider.get_provider_info import get_provider_info
from clipgen_provider.plugins import ClipgenPlugin
from clipgen_provider.webhooks.addressing import URL_PREFIX


def test_declared_as_entry_point_and_in_provider_info() -> None:
    points = [ep for ep in entry_points(group="airflow.plugins") if ep.name == "clipgen"]
    assert points, "the airflow.plugins entry point is missing: reinstall the package"
    assert {ep.load() for ep in points} == {ClipgenPlugin}
    assert get_provider_info()["plugins"] == [
        {"name": "clipgen", "plugin-class": "clipgen_provider.plugins.ClipgenPlugin"}
    ]


def test_airflow_collects_the_receiver_app_under_its_prefix() -> None:
    from airflow import plugins_manager

    apps, _ = plugins_manager.get_fastapi_plugins()
    ours = [app for app in apps if app["name"] == "Clipgen webhook receiver"]
    assert len(ours) == 1
    assert ours[0]["url_prefix"] == URL_PREFIX
    assert ours[0]["app"] is ClipgenPlugin().fastapi_apps[0]["app"], "built once, then kept"
    assert ours[0]["app"].openapi_url is None


def test_tasks_and_triggers_import_neither_the_receiver_nor_the_orm() -> None:
    code = (
        "import sys\n"
        "import clipgen_provider.plugins, clipgen_provider.operators.clipia\n"
        "import clipgen_provider.triggers.clipia_webhook, clipgen_provider.webhooks.addressing\n"
        "heavy = ['fastapi', 'clipgen_provider.webhooks.receiver', 'airflow.models.taskinstance']\n"
        "assert not [m for m in heavy if m in sys.modules], [m for m in heavy if m in sys.modules]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
