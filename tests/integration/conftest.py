"""Shared fixtures of the integration tests: one real sandbox process per session, per-test keys."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from clipgen_provider.sandbox.server import SandboxServer
from tests.migrated_db import install_migrated_db


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """The sandbox of both APIs over loopback on a free port, with fast jobs."""
    with SandboxServer(startup_timeout=120) as server:  # a loaded machine starts it slowly
        server.update_settings(queue_seconds=0.3, run_seconds=0.8)
        yield server


@pytest.fixture
def clipia_key() -> str:
    """A fresh Clipia test key: the sandbox keeps one account per key, so tests never share state."""
    return f"clipia_test_{uuid.uuid4().hex}"


@pytest.fixture
def clipia_conn(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer, clipia_key: str) -> str:
    """``clipia_default`` pointed at the sandbox with this test's key; returns the key."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLIPIA_DEFAULT",
        json.dumps({"conn_type": "clipia", "host": sandbox.url, "password": clipia_key}),
    )
    return clipia_key


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated SQLite metadata database in the test session's AIRFLOW_HOME (the run's template)."""
    assert install_migrated_db(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db")


def use_token(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer, token: str) -> str:
    """Point ``clipwise_default`` at the sandbox with ``token``; return the token."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLIPWISE_DEFAULT",
        json.dumps({"conn_type": "clipwise", "host": sandbox.url, "password": token}),
    )
    return token


@pytest.fixture
def clipwise_conn(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> str:
    """``clipwise_default`` on the sandbox with a fresh token (its own account); returns the token."""
    return use_token(monkeypatch, sandbox, f"cw_test_{uuid.uuid4().hex}")
