"""A real Airflow 3 deployment for the system tests: API servers, scheduler, triggerers, DAG processor.

:class:`AirflowCluster` runs each component as its own ``airflow`` process (LocalExecutor, free
ports, the provider's plugin loaded from its entry point), waits until each one is ready, and
stops them all (SIGTERM to each process group, SIGKILL after a grace period) however the tests
end; a component also gets SIGTERM if the test process dies. Every component writes its log
under :attr:`home`, which is kept for reading. The database is SQLite in WAL mode with a 30 s
lock timeout: several processes write to it, and readers must not stall them.
The helpers speak the public REST API (``/api/v2``), which needs no token in this deployment
(``simple_auth_manager_all_admins``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import httpx
from tests.migrated_db import install_migrated_db

if TYPE_CHECKING:
    from typing_extensions import Self

DAGS = Path(__file__).resolve().parent / "dags"
_STOP_GRACE_SECONDS = 15.0
T = TypeVar("T")


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(what: str, check: Callable[[], T | None], timeout: float, interval: float = 0.2) -> T:
    """Call ``check`` until it returns something other than None/False; raise after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (httpx.HTTPError, OSError, KeyError, ValueError) as err:
            last_error, result = err, None
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error!r})")


def _die_with_parent() -> None:
    """In the child, before exec: its own process group, and SIGTERM if the test process dies."""
    os.setsid()
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Component:
    """One running ``airflow <command>`` process and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)
    port: int | None = None
    #: True once the tests crashed it on purpose
    killed: bool = False

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group at once (a crash, not a shutdown)."""
        self.killed = True
        if self.alive:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> None:
        """Ask the process group to shut down (SIGTERM), without waiting."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after the grace period; safe to call twice."""
        if self.alive:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):  # orphaned workers go too
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class AirflowCluster:
    """The deployment under test; use as a context manager.

    :param home: an empty directory: AIRFLOW_HOME, SQLite database and every component's log
    :param api_servers: how many API servers (each serves the plugin; the first is the workers')
    :param triggerers: how many triggerers
    :param settings: extra ``AIRFLOW__SECTION__KEY`` environment settings
    """

    def __init__(
        self,
        home: Path,
        *,
        api_servers: int = 1,
        triggerers: int = 1,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.home = home
        self.api_ports = [free_port() for _ in range(api_servers)]
        self.triggerer_count = triggerers
        self.components: list[Component] = []
        #: TriggererJob id -> the component running it
        self.triggerer_jobs: dict[int, Component] = {}
        self.env = self._environment(settings or {})
        self.client = httpx.Client(base_url=self.api_url(0), timeout=30.0)

    # -- set-up -----------------------------------------------------------------------------
    def _environment(self, settings: Mapping[str, str]) -> dict[str, str]:
        """The test process's environment without any Airflow setting, plus this deployment's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
        from cryptography.fernet import Fernet

        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "8",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url(0)}/execution/",
                # SQLite serialises writers; wait for the lock as long as a loaded 2-core box needs
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}?timeout=30",
                "AIRFLOW__API__BASE_URL": self.api_url(0),
                "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(64),
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
                # a worker waits longer for a busy API server (shared 2-core CI machines)
                "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
                "PYTHONUNBUFFERED": "1",
                **settings,
            }
        )
        return env

    def api_url(self, index: int) -> str:
        """Base URL of API server ``index`` (also the public webhook base URL in these tests)."""
        return f"http://127.0.0.1:{self.api_ports[index]}"

    @property
    def airflow(self) -> str:
        """The ``airflow`` command of the running interpreter's environment."""
        return str(Path(sys.executable).with_name("airflow"))

    def _spawn(
        self, name: str, *args: str, port: int | None = None, env: Mapping[str, str] | None = None
    ) -> Component:
        log_path = self.home / f"{name}.log"
        log = log_path.open("ab")
        process = subprocess.Popen(
            [self.airflow, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**self.env, **(env or {})},
            cwd=self.home,
            preexec_fn=_die_with_parent,
        )
        component = Component(name, process, log_path, log, port)
        self.components.append(component)
        return component

    def start(self) -> Self:
        """Migrate the database, start every component, and wait until all are ready."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self._migrate()
            with sqlite3.connect(self.home / "airflow.db") as db:  # readers stop blocking the writer
                db.execute("PRAGMA journal_mode=WAL")
            for index, port in enumerate(self.api_ports):
                self._spawn(f"api-server-{index}", "api-server", "--port", str(port), port=port)
            self._spawn("scheduler", "scheduler", env=self._log_server("WORKER"))
            self._spawn("dag-processor", "dag-processor")
            triggerers = {
                f"triggerer-{i}": self._spawn_triggerer(f"triggerer-{i}") for i in range(self.triggerer_count)
            }
            for index, port in enumerate(self.api_ports):
                wait_until(f"API server {index}", functools.partial(self._healthy, port, index == 0), 240)
            self._register_triggerers(triggerers)
            return self
        except BaseException:
            self.stop()
            raise

    def _migrate(self) -> None:
        """A migrated database: for SQLite a copy of the test run's template (``tests/migrated_db.py``),
        else (another database, or no template) ``airflow db migrate`` (its log is kept in :attr:`home`)."""
        on_sqlite = self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite")
        if on_sqlite and install_migrated_db(self.home / "airflow.db"):
            return
        with (self.home / "db-migrate.log").open("wb") as log:
            migrated = subprocess.run(
                [self.airflow, "db", "migrate"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                check=False,
            )
        if migrated.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed; see {self.home / 'db-migrate.log'}")

    @staticmethod
    def _log_server(kind: str) -> dict[str, str]:
        """A free port for a ``WORKER`` or ``TRIGGER`` log server (each would take the same default)."""
        return {f"AIRFLOW__LOGGING__{kind}_LOG_SERVER_PORT": str(free_port())}

    def _healthy(self, port: int, require_all: bool) -> bool:
        self._check_alive()
        health = httpx.get(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5).json()
        components = ("metadatabase", "scheduler", "dag_processor") if require_all else ("metadatabase",)
        return all(health[c]["status"] == "healthy" for c in components)

    def _spawn_triggerer(self, name: str) -> Component:
        """A triggerer whose job row names it: ``unixname`` comes from ``LOGNAME`` (``getpass``)."""
        return self._spawn(
            name, "triggerer", env={**self._log_server("TRIGGER"), "LOGNAME": f"clipgen-{name}"}
        )

    def _register_triggerers(self, spawned: Mapping[str, Component], timeout: float = 240) -> None:
        """Wait until each triggerer of ``spawned`` (name -> component) heartbeats with a new job;
        remember which job is whose (a killed triggerer's old job may still look alive)."""

        def new_jobs() -> dict[int, str] | None:
            self._check_alive()
            jobs = self.get("/jobs", job_type="TriggererJob", is_alive=True, limit=100)["jobs"]
            fresh = {
                job["id"]: job["unixname"].removeprefix("clipgen-")
                for job in jobs
                if job["id"] not in self.triggerer_jobs
            }
            return fresh if set(fresh.values()) >= set(spawned) else None

        for job_id, name in wait_until(f"{sorted(spawned)} to heartbeat", new_jobs, timeout).items():
            if name in spawned:
                self.triggerer_jobs[job_id] = spawned[name]

    def replace_triggerer(self, killed: Component, timeout: float = 240) -> Component:
        """Start a triggerer in place of ``killed`` (same name) and wait until its new job heartbeats."""
        fresh = self._spawn_triggerer(killed.name)
        self._register_triggerers({killed.name: fresh}, timeout)
        return fresh

    def _check_alive(self) -> None:
        """Fail at once, with its log, when a component died that the tests did not kill."""
        for component in self.components:
            if not component.alive and not component.killed:
                raise RuntimeError(f"{component.name} exited:\n{component.tail()}")

    def stop(self) -> None:
        """Stop every component (all signalled at once, each given its grace period); close the client."""
        for component in self.components:
            component.terminate()
        for component in self.components:
            component.stop()
        self.client.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def logs(self, chars: int = 2500) -> str:
        """The end of every component's log, for a failure report."""
        return "\n".join(f"===== {c.name} ({c.log_path})\n{c.tail(chars)}" for c in self.components)

    # -- REST helpers ---------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One REST call, retried while the API server answers 5xx (SQLite busy) or is unreachable."""
        attempts = 5
        for attempt in range(1, attempts + 1):
            try:
                response = self.client.request(method, f"/api/v2{path}", **kwargs)
            except httpx.TransportError:
                if attempt == attempts:
                    raise
                continue
            if response.status_code < 500 or attempt == attempts:
                return response
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> Any:
        response = self._call("GET", path, params=params)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Any) -> Any:
        response = self._call("POST", path, json=body)
        response.raise_for_status()
        return response.json()

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 120) -> None:
        """Wait until the DAG processor has parsed every DAG in ``dag_ids``."""
        for dag_id in dag_ids:
            wait_until(f"DAG {dag_id} to be parsed", functools.partial(self._dag_ready, dag_id), timeout)

    def _dag_ready(self, dag_id: str) -> bool:
        response = self._call("GET", f"/dags/{dag_id}")
        return response.status_code == 200 and not response.json()["is_paused"]

    def set_connection(self, conn_id: str, *, extra: Mapping[str, Any], **fields: Any) -> None:
        """Create (or replace) a connection through the REST API."""
        body = {"connection_id": conn_id, "extra": json.dumps(extra), **fields}
        response = self._call("POST", "/connections", json=body)
        if response.status_code == 409:  # it exists (or an earlier attempt made it): overwrite
            response = self._call("PATCH", f"/connections/{conn_id}", json=body)
        response.raise_for_status()

    def trigger(self, dag_id: str, **conf: Any) -> str:
        """Start a DAG run with ``conf``; return its run id (named here, so a retried POST is safe)."""
        run_id = f"test__{secrets.token_hex(8)}"
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        response = self._call("POST", f"/dags/{dag_id}/dagRuns", json=body)
        if response.status_code != 409:  # 409: an earlier attempt created it
            response.raise_for_status()
        return run_id

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        return dict(self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"))

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries"
        return list(self.get(path)["task_instances"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        response = self._call("GET", path, params={"deserialize": True})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()["value"]

    def wait_for_state(
        self, dag_id: str, run_id: str, task_id: str, states: Iterable[str], timeout: float = 90
    ) -> dict[str, Any]:
        """Wait until the task instance is in one of ``states``; fail fast if it ends elsewhere."""
        wanted = set(states)
        final = {"success", "failed", "upstream_failed", "skipped", "removed"}

        def check() -> dict[str, Any] | None:
            self._check_alive()
            ti = self.task_instance(dag_id, run_id, task_id)
            if ti["state"] in wanted:
                return ti
            if ti["state"] in final:
                raise AssertionError(f"{dag_id}/{run_id}/{task_id} ended {ti['state']}, wanted {wanted}")
            return None

        return wait_until(f"{dag_id}/{task_id} in {sorted(wanted)}", check, timeout)
