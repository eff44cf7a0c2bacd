"""Fixtures of the system tests: one sandbox and one real Airflow deployment for the whole session.

The deployment has two API servers and two triggerers (the high-availability test needs them;
the other tests use the first API server). Each test gets its own ``clipia`` connection with its
own sandbox API key, so webhook fault rules and call counts never leak between tests. When a
test fails, the end of every component's log is attached to its report; the full logs stay in
the deployment's home directory (printed in that report).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.system.cluster import AirflowCluster
from tests.system.scenario import DAG_IDS, RETIRED_SECRET, RUN_SECONDS, SECRET, Scenario

from clipgen_provider.sandbox.server import SandboxServer

_cluster: AirflowCluster | None = None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Attach the deployment's logs to the report of a failed system test."""
    report = yield
    if report.failed and _cluster is not None and item.path.parent.name == "system":
        report.sections.append((f"Airflow logs (all of them under {_cluster.home})", _cluster.logs()))
    return report


@pytest.fixture(scope="session")
def webhook_sandbox() -> Iterator[SandboxServer]:
    """The sandbox, signing webhooks with :data:`SECRET` and retrying a refused delivery 4 times."""
    args = ("--webhook-secret", SECRET, "--queue-seconds", "0.2", "--run-seconds", str(RUN_SECONDS))
    with SandboxServer(*args, "--webhook-retry-seconds", "0.3", "--webhook-max-attempts", "4") as server:
        yield server


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowCluster]:
    """API servers x2, scheduler, triggerers x2, DAG processor: started once, stopped at the end."""
    global _cluster
    with AirflowCluster(tmp_path_factory.mktemp("airflow"), api_servers=2, triggerers=2) as started:
        _cluster = started
        try:
            started.wait_for_dags(DAG_IDS)
            yield started
        finally:
            _cluster = None


@pytest.fixture
def new_scenario(
    cluster: AirflowCluster, webhook_sandbox: SandboxServer, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Scenario]]:
    """Make a scenario: a fresh connection (own key) whose public webhook base URL is API server
    ``api_server``; sandbox timing changes a test makes are undone afterwards."""
    made: list[Scenario] = []

    def make(api_server: int = 0) -> Scenario:
        conn_id = f"clipia_{request.node.name.removeprefix('test_')[:40]}_{len(made)}"
        api_key = f"clipia_test_{uuid.uuid4().hex}"
        cluster.set_connection(
            conn_id,
            conn_type="clipia",
            host=webhook_sandbox.url,
            password=api_key,
            extra={
                "webhook_secrets": f"{RETIRED_SECRET},{SECRET}",
                "webhook_base_url": cluster.api_url(api_server),
            },
        )
        made.append(Scenario(cluster, webhook_sandbox, conn_id, api_key))
        return made[-1]

    yield make
    webhook_sandbox.update_settings(run_seconds=RUN_SECONDS)


@pytest.fixture
def scenario(new_scenario: Callable[..., Scenario]) -> Scenario:
    """A scenario whose webhooks go to the first API server."""
    return new_scenario()
