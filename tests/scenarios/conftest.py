"""Fixtures of the scenario suite: one sandbox and one migrated Airflow database for the session,
a fresh world per scenario, and an S3-compatible store on loopback for the object-store hand-off.

Each scenario runs its DAGs with the real ``airflow dags test`` CLI in a child process (forked from
a warm one, ``tests/airflow_forks.py``); ``airflow db migrate`` runs once per test run and each
scenario starts from a fresh copy of that database (``tests/migrated_db.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clipgen_provider.sandbox.server import SandboxServer
from tests.scenarios.harness import Scenario, ScenarioAirflow

#: sandbox job timings: short, yet every job is seen queued and running by a 0.2 s poll
QUEUE_SECONDS = 0.2
RUN_SECONDS = 0.4
S3_REGION = "us-east-1"


@pytest.fixture(scope="session")
def scenario_sandbox() -> Iterator[SandboxServer]:
    """Both APIs on a free loopback port, with fast jobs."""
    timing = ("--queue-seconds", str(QUEUE_SECONDS), "--run-seconds", str(RUN_SECONDS))
    with SandboxServer(*timing, startup_timeout=120) as server:  # a loaded machine starts it slowly
        yield server


@pytest.fixture(scope="session")
def scenario_airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioAirflow]:
    """The Airflow home this process's scenarios run in, one at a time, and their warm process."""
    airflow = ScenarioAirflow(tmp_path_factory.mktemp("scenario-airflow") / "airflow-home")
    try:
        yield airflow
    finally:
        airflow.close()


@pytest.fixture
def scenario(
    tmp_path: Path, scenario_sandbox: SandboxServer, scenario_airflow: ScenarioAirflow
) -> Iterator[Scenario]:
    """A fresh scenario: a fresh copy of the run's migrated database, its own keys and media folder."""
    scenario_airflow.reset()
    world = Scenario(root=tmp_path, sandbox=scenario_sandbox, airflow=scenario_airflow)
    world.media_dir.mkdir()
    try:
        yield world
    finally:
        world.close()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port (a thread of this process); its base URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        httpx.get(url, timeout=10.0)  # answers once serving: start() returns when the socket is bound
        yield url
    finally:
        server.stop()
