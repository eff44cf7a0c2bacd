"""Fixtures of the production suite: the services, the sandboxes, one production cluster per session.

The cluster (:class:`~tests.production.cluster.ProductionCluster`) runs on a fresh PostgreSQL
database and its own Redis namespace, both removed at the end, whatever happened. The run's
directory (every component's log, task logs, the sandboxes' logs) is removed after a green run
and kept otherwise, its path printed at the end; a failed test's report also carries the end of
every component's log and of the sandboxes'.
Tests that kill a component leave it dead; :func:`full_strength` starts it again before the next.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clipgen_provider.sandbox.server import SandboxServer
from tests.production.cluster import ProductionCluster
from tests.production.load import LOAD_SECRET
from tests.production.services import MetadataDatabase, RedisNamespace, require_services
from tests.system.scenario import DAG_IDS, RUN_SECONDS, SECRET, WEBHOOK_ATTEMPTS

#: the suite's own DAGs (tests/production/dags)
PRODUCTION_DAG_IDS = ("clipgen_worker_crash", "clipgen_load")
#: seconds a load-test job runs: longer than submitting the whole small load takes, shorter than
#: the trigger's first status poll (60 s after deferring), so every task is resumed by its webhook
LOAD_RUN_SECONDS = 40.0

_live: dict[str, Any] = {}


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Attach the cluster's and the sandboxes' logs to the report of a failed production test."""
    report = yield
    cluster: ProductionCluster | None = _live.get("cluster")
    if report.failed and "production" in item.path.parts and cluster is not None:
        report.sections.append((f"Airflow logs (all of them under {cluster.home})", cluster.logs()))
        for name, sandbox in _live.get("sandboxes", {}).items():
            report.sections.append((f"{name} log ({sandbox.log_path})", _tail(sandbox.log_path)))
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the run's directory after a green run; keep it (and say so) otherwise."""
    run_dir = _live.get("run_dir")
    if run_dir is None:
        return
    if exitstatus == 0:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        _live["kept"] = run_dir


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the logs of a run that did not pass were kept."""
    if "kept" in _live:
        terminalreporter.write_line(f"production cluster and sandbox logs kept in {_live['kept']}")


@pytest.fixture(scope="session")
def run_dir() -> Path:
    """The run's directory: the cluster's home and the sandboxes' logs (outside pytest's rotation)."""
    path = Path(tempfile.mkdtemp(prefix="clipgen-production-"))
    _live["run_dir"] = path
    return path


def _sandbox(run_dir: Path, name: str, *args: str) -> Iterator[SandboxServer]:
    with SandboxServer(*args, log_path=run_dir / f"{name}.log") as server:
        _live.setdefault("sandboxes", {})[name] = server
        yield server


@pytest.fixture(scope="session")
def webhook_sandbox(run_dir: Path) -> Iterator[SandboxServer]:
    """The system tests' sandbox (same secret, timing and retries): the scenarios need exactly it."""
    timing = ("--queue-seconds", "0.2", "--run-seconds", str(RUN_SECONDS))
    retries = ("--webhook-retry-seconds", "1", "--webhook-max-attempts", str(WEBHOOK_ATTEMPTS))
    yield from _sandbox(run_dir, "sandbox", "--webhook-secret", SECRET, *timing, *retries)


@pytest.fixture(scope="session")
def load_sandbox(run_dir: Path) -> Iterator[SandboxServer]:
    """A sandbox of its own for the load test: long jobs, so the whole load is in flight at once."""
    timing = ("--queue-seconds", "0.2", "--run-seconds", str(LOAD_RUN_SECONDS))
    yield from _sandbox(run_dir, "load-sandbox", "--webhook-secret", LOAD_SECRET, *timing)


def example_connections(sandbox: SandboxServer) -> dict[str, dict[str, str]]:
    """``clipia_default`` and ``clipwise_default`` on the sandbox, with keys of this run only."""
    return {
        "clipia_default": {
            "conn_type": "clipia",
            "host": sandbox.url,
            "password": f"clipia_test_examples_{secrets.token_hex(8)}",
        },
        "clipwise_default": {
            "conn_type": "clipwise",
            "host": sandbox.url,
            "password": f"cw_test_examples_{secrets.token_hex(8)}",
        },
    }


@pytest.fixture(scope="session")
def cluster(run_dir: Path, webhook_sandbox: SandboxServer) -> Iterator[ProductionCluster]:
    """Two API servers, schedulers, triggerers and Celery workers, one DAG processor; PostgreSQL, Redis."""
    require_services()
    database = MetadataDatabase.create()
    broker = RedisNamespace.create()
    try:
        deployment = ProductionCluster(
            run_dir / "airflow", database, broker, connections=example_connections(webhook_sandbox)
        )
        _live["cluster"] = deployment
        with deployment:
            deployment.wait_for_dags([*DAG_IDS, *PRODUCTION_DAG_IDS])
            yield deployment
    finally:
        _live.pop("cluster", None)
        try:
            broker.clear()
        finally:
            database.drop()


@pytest.fixture
def full_strength(cluster: ProductionCluster) -> ProductionCluster:
    """The cluster with every component a previous test killed started again."""
    cluster.revive()
    return cluster
