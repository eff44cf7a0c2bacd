"""One scenario's world, and running its DAGs with the real ``airflow dags test`` CLI.

A :class:`Scenario` owns an ``AIRFLOW_HOME`` (a copy of the session's migrated database), fresh
sandbox keys for both APIs (the sandbox keeps one account, call log slice and fault scope per key),
a media folder, and the environment a user would export: ``AIRFLOW_CONN_CLIPIA_DEFAULT`` and
``AIRFLOW_CONN_CLIPWISE_DEFAULT`` pointed at the sandbox. :meth:`Scenario.run` runs
``airflow dags test <dag_id>`` in a child process and returns a :class:`DagTestRun` read back from
that home's metadata database.

The scenarios of one test process run one at a time in one :class:`ScenarioAirflow`: one home,
whose database is reset to the migrated template for each scenario, and one warm process
(:mod:`tests.airflow_forks`) that has imported Airflow and built its execution API; each
``airflow dags test`` is a child forked from it with the scenario's connections and variables
added. A scenario that changes Airflow's configuration (``AIRFLOW__…``, read at import) gets a warm
process of its own.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from clipgen_provider.sandbox.clipia_http import key_fingerprint
from clipgen_provider.sandbox.server import SandboxServer
from tests.airflow_forks import AirflowForks, read_at_import
from tests.migrated_db import install_migrated_db
from tests.scenarios.metadata import MetadataDb, TaskInstanceRow

SCENARIO_DAGS = Path(__file__).resolve().parent / "dags"
#: the longest one ``airflow dags test`` may take before it is killed and the test fails
DAG_TEST_TIMEOUT = 240.0
CLIPWISE_API = "/api/sdk/v1/"
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Exception|Error|Timeout|Failed)\w*: ")


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of an Airflow command for ``home``: this process's, minus its Airflow settings.

    The test session's own ``AIRFLOW_*`` variables (tests/conftest.py) must not leak into the child.
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
    return {
        **inherited,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(SCENARIO_DAGS),
        # an Asset-scheduled DAG is queued only when it is not paused
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@dataclass
class DagTestRun:
    """What one ``airflow dags test`` did: exit code, output, and the run's rows in the database."""

    dag_id: str
    returncode: int
    output: str
    run_id: str | None
    state: str | None
    task_instances: list[TaskInstanceRow]
    xcoms: dict[tuple[str, int, str], Any]

    def ti(self, task_id: str, map_index: int = -1) -> TaskInstanceRow:
        """One task instance (``map_index`` -1 for an unmapped task)."""
        for row in self.task_instances:
            if row.task_id == task_id and row.map_index == map_index:
                return row
        raise AssertionError(f"no task instance {task_id}[{map_index}] in {self.dag_id}\n{self.tail()}")

    def states(self, task_id: str) -> dict[int, str | None]:
        """Map index → state of every instance of ``task_id``."""
        return {row.map_index: row.state for row in self.task_instances if row.task_id == task_id}

    def value(self, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        """One task instance's XCom value (None when it pushed none)."""
        return self.xcoms.get((task_id, map_index, key))

    def errors(self) -> list[str]:
        """The exception lines of the output (the last line of each traceback)."""
        return [line for line in self.output.splitlines() if _EXCEPTION_LINE.match(line)]

    def tail(self, limit: int = 4000) -> str:
        """Task states, exception lines and the end of the output, for assertion messages."""
        states = ", ".join(f"{row.task_id}[{row.map_index}]={row.state}" for row in self.task_instances)
        errors = "\n".join(self.errors()) or "(none)"
        return (
            f"--- airflow dags test {self.dag_id}: exit {self.returncode}, run {self.state} ---\n"
            f"tasks: {states}\nexceptions:\n{errors}\n--- output tail ---\n{self.output[-limit:]}"
        )

    def assert_succeeded(self) -> None:
        """The command exited 0 and the run ended ``success``."""
        assert (self.returncode, self.state) == (0, "success"), self.tail()


class ScenarioAirflow:
    """The Airflow home the scenarios of one test process run in, one scenario at a time, and the
    warm ``airflow`` process their commands fork from (started at the first command)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        #: its environment (``.env``) is the one every scenario's commands share
        self.warm = AirflowForks(airflow_env(home), home / "warm-airflow.log")

    def reset(self) -> None:
        """A fresh database for the next scenario: a copy of the run's migrated template."""
        self.home.mkdir(parents=True, exist_ok=True)
        assert install_migrated_db(self.home / "airflow.db")

    def close(self) -> None:
        """Stop the shared warm process, if it was started."""
        self.warm.close()


@dataclass
class Scenario:
    """One test's world: sandbox keys, media folder, environment, and the database of the
    :class:`ScenarioAirflow` it runs in (fresh for each scenario)."""

    root: Path
    sandbox: SandboxServer
    airflow: ScenarioAirflow
    clipia_key: str = field(default_factory=lambda: f"clipia_test_{uuid.uuid4().hex}")
    clipwise_key: str = field(default_factory=lambda: f"cw_test_{uuid.uuid4().hex}")
    extra_env: dict[str, str] = field(default_factory=dict)
    _own_warm: AirflowForks | None = field(default=None, init=False, repr=False)

    @property
    def home(self) -> Path:
        """This scenario's ``AIRFLOW_HOME``."""
        return self.airflow.home

    @property
    def media_dir(self) -> Path:
        """The local folder the scenario DAGs store media under (``CLIPGEN_MEDIA_ROOT``)."""
        return self.root / "media"

    @property
    def db(self) -> MetadataDb:
        """This scenario's metadata database."""
        return MetadataDb(self.home / "airflow.db")

    def env(self) -> dict[str, str]:
        """What a user exports before ``airflow dags test``: connections to the sandbox, the media root."""
        connections = {
            "AIRFLOW_CONN_CLIPIA_DEFAULT": json.dumps(
                {"conn_type": "clipia", "host": self.sandbox.url, "password": self.clipia_key}
            ),
            "AIRFLOW_CONN_CLIPWISE_DEFAULT": json.dumps(
                {"conn_type": "clipwise", "host": self.sandbox.url, "password": self.clipwise_key}
            ),
        }
        return airflow_env(
            self.home, CLIPGEN_MEDIA_ROOT=self.media_dir.as_uri(), **connections, **self.extra_env
        )

    def run(self, dag_id: str, conf: dict[str, Any] | None = None) -> DagTestRun:
        """``airflow dags test dag_id [--conf ...]`` in a child process, then its run from the database."""
        command = ["dags", "test", dag_id]
        if conf is not None:
            command += ["--conf", json.dumps(conf)]
        log_path = self.root / f"{dag_id}.log"
        log_path.unlink(missing_ok=True)
        env = self.env()
        shared = self.airflow.warm.env
        added = {key: value for key, value in env.items() if shared.get(key) != value}
        returncode = self._warm_for(env, added).run(command, log_path, timeout=DAG_TEST_TIMEOUT, env=added)
        if returncode < 0:
            with log_path.open("a") as log:
                log.write(f"\n[scenario harness] killed after {DAG_TEST_TIMEOUT:g} s\n")
        output = log_path.read_text(errors="replace")
        latest = self.db.latest_run(dag_id)
        if latest is None:
            return DagTestRun(dag_id, returncode, output, None, None, [], {})
        run_id, state = latest
        return DagTestRun(
            dag_id,
            returncode,
            output,
            run_id,
            state,
            self.db.task_instances(dag_id, run_id),
            self.db.xcoms(dag_id, run_id),
        )

    def _warm_for(self, env: dict[str, str], added: dict[str, str]) -> AirflowForks:
        """The shared warm process, or, if this scenario changes Airflow's configuration, one of its
        own (a new one if a test changed :attr:`extra_env` since the last run)."""
        if not any(read_at_import(key) for key in added):
            return self.airflow.warm
        if self._own_warm is None or self._own_warm.env != env:
            self.close()
            self._own_warm = AirflowForks(env, self.root / "warm-airflow.log")
        return self._own_warm

    def close(self) -> None:
        """Stop this scenario's own warm process, if it needed one."""
        warm, self._own_warm = self._own_warm, None
        if warm is not None:
            warm.close()

    # -- the sandbox, as this scenario's keys see it ----------------------------------------------
    def clipia_account(self) -> dict[str, Any]:
        """``GET /v1/account`` for this scenario's Clipia key (balance and usage)."""
        response = httpx.get(
            f"{self.sandbox.url}/v1/account",
            headers={"Authorization": f"Bearer {self.clipia_key}"},
            timeout=10.0,
        )
        response.raise_for_status()
        return dict(response.json())

    def credits_spent(self) -> float:
        """What the sandbox charged this scenario's Clipia account."""
        return float(self.clipia_account()["usage_30d"]["credits_spent"])

    def clipwise_get(self, path: str, **params: Any) -> Any:
        """``GET /api/sdk/v1/{path}`` with this scenario's Clipwise token."""
        response = httpx.get(
            f"{self.sandbox.url}{CLIPWISE_API}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.clipwise_key}"},
            timeout=10.0,
        )
        response.raise_for_status()
        return response.json()

    def own_resources(self, resource_type: str) -> list[dict[str, Any]]:
        """This token's own records of ``resource_type`` (the seeded catalog left out)."""
        items = self.clipwise_get(f"resources/{resource_type}/", limit=100)["items"]
        return [item for item in items if item.get("source_kind") != "catalog"]

    def clipia_calls(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Calls made with this scenario's Clipia key; ``path`` matches exactly (the log filters by prefix)."""
        return self._calls(self.clipia_key, method, path)

    def clipwise_calls(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Calls made with this scenario's Clipwise token; ``path`` is relative to the API root, exact."""
        return self._calls(self.clipwise_key, method, None if path is None else CLIPWISE_API + path)

    def _calls(self, key: str, method: str | None, path: str | None) -> list[dict[str, Any]]:
        filters = {"method": method} if method else {}
        calls = self.sandbox.calls(api_key=key, **filters)
        return [call for call in calls if path is None or call["path"] == path]

    def clipia_fault(self, **rule: Any) -> None:
        """A fault rule only this scenario's Clipia key triggers."""
        self.sandbox.add_fault(api_key=self.clipia_key, **rule)

    def clipwise_fault(self, **rule: Any) -> None:
        """A fault rule only this scenario's Clipwise token triggers."""
        self.sandbox.add_fault(api_key=self.clipwise_key, **rule)

    def faults_left(self) -> list[dict[str, Any]]:
        """This scenario's fault rules not used up yet."""
        mine = {key_fingerprint(self.clipia_key), key_fingerprint(self.clipwise_key)}
        return [rule for rule in self.sandbox.faults() if rule["key_fingerprint"] in mine]
