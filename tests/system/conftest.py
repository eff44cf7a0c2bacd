"""Fixtures of the system tests: one sandbox and one real Airflow deployment for the whole session.

The deployment has two API servers and two triggerers (the high-availability test needs them;
the other tests use the first API server). When a test fails, the end of every component's log
is attached to its report; the full logs stay in the deployment's home directory (named there).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.system.cluster import AirflowCluster
from tests.system.scenario import DAG_IDS, RUN_SECONDS, SECRET, WEBHOOK_ATTEMPTS

from clipgen_provider.sandbox.server import SandboxServer

_cluster: AirflowCluster | None = None
#: what starting the session's deployment may take on a loaded 2-core machine (six Airflow processes
#: import at once), on top of the timeout of the test that starts it
_DEPLOYMENT_START_SECONDS = 600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first test that needs the deployment also starts it: its timeout covers that too."""
    first = next((item for item in items if "cluster" in getattr(item, "fixturenames", ())), None)
    if first is not None:
        marker = first.get_closest_marker("timeout")
        own = float(marker.args[0]) if marker is not None and marker.args else 300.0
        first.add_marker(pytest.mark.timeout(own + _DEPLOYMENT_START_SECONDS))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Attach the deployment's logs to the report of a failed system test."""
    report = yield
    if report.failed and _cluster is not None and item.path.parent.name == "system":
        report.sections.append((f"Airflow logs (all of them under {_cluster.home})", _cluster.logs()))
    return report


@pytest.fixture(scope="session")
def webhook_sandbox() -> Iterator[SandboxServer]:
    """The sandbox, signing webhooks with :data:`SECRET`, retrying a refused one every second."""
    timing = ("--queue-seconds", "0.2", "--run-seconds", str(RUN_SECONDS))
    retries = ("--webhook-retry-seconds", "1", "--webhook-max-attempts", str(WEBHOOK_ATTEMPTS))
    with SandboxServer("--webhook-secret", SECRET, *timing, *retries, startup_timeout=120) as server:
        yield server


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowCluster]:
    """API servers x2, scheduler, triggerers x2, DAG processor: started once, stopped at the end."""
    global _cluster
    home = tmp_path_factory.mktemp("airflow")
    test_button = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}  # the UI's connection Test button
    with AirflowCluster(home, api_servers=2, triggerers=2, settings=test_button) as started:
        _cluster = started
        try:
            started.wait_for_dags(DAG_IDS)
            yield started
        finally:
            _cluster = None
