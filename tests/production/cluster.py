"""A production-shaped Airflow 3 deployment: PostgreSQL, CeleryExecutor on Redis, several of each.

:class:`ProductionCluster` extends the system tests' :class:`~tests.system.cluster.AirflowCluster`
(its process handling, readiness waits and REST helpers) with what a production deployment has:

* the metadata database on PostgreSQL (a fresh one per run) and the Celery result backend in it;
* the CeleryExecutor with a Redis broker under the run's own database number and key prefix;
* two API servers, two schedulers, two triggerers, two Celery workers and one DAG processor,
  the workers split over the API servers for the execution API (triggerers run it in-process);
* three DAG bundles: the example DAGs, the system tests' webhook DAGs and this suite's DAGs;
* the measuring plugin of ``tests/production/plugins`` (statements per webhook delivery).

Every component is its own process group; :meth:`stop` also kills what a group does not hold
(Airflow puts each task process in a group of its own), so nothing outlives the cluster.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
import psutil
from celery import Celery

from tests.production.processes import descendants, kill_leftovers, kill_tree, owner
from tests.production.services import MetadataDatabase, RedisNamespace
from tests.system.cluster import AirflowCluster, Component, wait_until

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUNDLES = {
    "examples": REPO / "dags",
    "system": REPO / "tests" / "system" / "dags",
    "production": HERE / "dags",
}
PLUGINS = HERE / "plugins"

#: Airflow settings of the suite's cluster (see docs/deployment.md for why each one)
SUITE_SETTINGS = {
    # every scheduler may run this many task instances at once (queued + running)
    "CORE__PARALLELISM": "64",
    # a task whose worker died is failed (and retried) after 30 s without a heartbeat, not 300 s
    "SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
    "SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    # the DAG files do not change during a run: re-parse them rarely (CPU for the tasks)
    "DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "120",
    "DAG_PROCESSOR__PARSING_PROCESSES": "1",
}


class ProductionCluster(AirflowCluster):
    """The deployment under test; use as a context manager.

    :param home: an empty directory: AIRFLOW_HOME and every component's log (kept)
    :param database: the run's PostgreSQL database (metadata and Celery results)
    :param broker: the run's Redis namespace (Celery broker)
    :param connections: ``AIRFLOW_CONN_<ID>`` JSON connections given to every component
    :param worker_concurrency: task slots of each Celery worker
    :param settings: more ``SECTION__KEY`` Airflow settings, over :data:`SUITE_SETTINGS`
    """

    def __init__(
        self,
        home: Path,
        database: MetadataDatabase,
        broker: RedisNamespace,
        *,
        api_servers: int = 2,
        schedulers: int = 2,
        triggerers: int = 2,
        workers: int = 2,
        worker_concurrency: int = 4,
        connections: Mapping[str, Mapping[str, Any]] | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.database = database
        self.broker = broker
        self.scheduler_count = schedulers
        self.worker_count = workers
        self.worker_concurrency = worker_concurrency
        self.connections = dict(connections or {})
        #: component name -> its latest process (a revived one replaces a killed one)
        self.latest: dict[str, Component] = {}
        self._celery: Celery | None = None
        merged = {**SUITE_SETTINGS, **(settings or {})}
        super().__init__(
            home,
            api_servers=api_servers,
            triggerers=triggerers,
            settings={f"AIRFLOW__{key}": value for key, value in merged.items()},
        )

    # -- configuration ------------------------------------------------------------------------
    def _environment(self, settings: Mapping[str, str]) -> dict[str, str]:
        """The system cluster's environment, moved to PostgreSQL, Celery and this suite's bundles."""
        env = super()._environment({})
        bundles = [
            {
                "name": name,
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(path)},
            }
            for name, path in BUNDLES.items()
        ]
        options = self.broker.transport_options
        env.update(
            {
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database.url,
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CELERY__BROKER_URL": self.broker.broker_url,
                "AIRFLOW__CELERY__RESULT_BACKEND": self.database.celery_result_backend,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
                "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": options["global_keyprefix"],
                "AIRFLOW__CORE__DAGS_FOLDER": str(BUNDLES["examples"]),
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
            }
        )
        for conn_id, fields in self.connections.items():
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(dict(fields))
        env.update(settings)
        return env

    # -- start ----------------------------------------------------------------------------------
    def start(self) -> ProductionCluster:
        """Migrate the database, start every component at once, wait until each one is ready."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self._migrate()
            for index, port in enumerate(self.api_ports):
                self._spawn(f"api-server-{index}", "api-server", "--port", str(port), port=port)
            for index in range(self.scheduler_count):
                self._spawn(f"scheduler-{index}", "scheduler", env=self._log_server("WORKER"))
            self._spawn("dag-processor", "dag-processor")
            for index in range(self.worker_count):
                self._launch_worker(index)
            triggerers = {
                name: self._spawn_triggerer(name)
                for name in (f"triggerer-{index}" for index in range(self.triggerer_count))
            }
            for index, port in enumerate(self.api_ports):
                wait_until(f"API server {index}", functools.partial(self._healthy, port, index == 0), 300)
            self._wait_for_jobs("SchedulerJob", self.scheduler_count)
            self._wait_for_jobs("DagProcessorJob", 1)
            self._register_triggerers(triggerers, timeout=180)
            self.wait_for_workers()
            return self
        except BaseException:
            self.stop()
            raise

    def _spawn(
        self, name: str, *args: str, port: int | None = None, env: Mapping[str, str] | None = None
    ) -> Component:
        """The system cluster's spawn, remembering the component as ``name``'s latest process."""
        component = super()._spawn(name, *args, port=port, env=env)
        self.latest[name] = component
        return component

    def _execution_api(self, index: int) -> dict[str, str]:
        """Point a worker at API server ``index % count`` for the execution API."""
        url = f"{self.api_url(index % len(self.api_ports))}/execution/"
        return {"AIRFLOW__CORE__EXECUTION_API_SERVER_URL": url}

    def _wait_for_jobs(self, job_type: str, count: int) -> None:
        def alive() -> bool:
            self._check_alive()
            return len(self.get("/jobs", job_type=job_type, is_alive=True, limit=100)["jobs"]) >= count

        wait_until(f"{count} alive {job_type}(s)", alive, 180)

    # -- Celery workers -------------------------------------------------------------------------
    def worker_name(self, index: int) -> str:
        """The Celery node name of worker ``index``."""
        return f"worker-{index}@clipgen"

    def _launch_worker(self, index: int) -> Component:
        env = {**self._log_server("WORKER"), **self._execution_api(index)}
        args = ("--celery-hostname", self.worker_name(index), "--without-mingle", "--without-gossip")
        return self._spawn(f"worker-{index}", "celery", "worker", *args, env=env)

    @property
    def celery(self) -> Celery:
        """A Celery client on the run's broker namespace (to ping the workers)."""
        if self._celery is None:
            self._celery = Celery("clipgen-probe", broker=self.broker.broker_url)
            self._celery.conf.broker_transport_options = self.broker.transport_options
        return self._celery

    def wait_for_workers(self, indexes: Iterable[int] | None = None, timeout: float = 180) -> None:
        """Wait until every worker (or those of ``indexes``) answers a ping over the broker."""
        wanted = {self.worker_name(i) for i in (range(self.worker_count) if indexes is None else indexes)}

        def answered() -> bool:
            self._check_alive()
            replies = self.celery.control.ping(destination=sorted(wanted), timeout=2.0)
            return wanted <= {name for reply in replies for name in reply}

        wait_until(f"Celery workers {sorted(wanted)} to answer a ping", answered, timeout, interval=0.5)

    def worker_running(self, pid: int) -> Component | None:
        """The alive worker component whose process tree holds ``pid`` (a task process)."""
        workers = {c.process.pid: c for c in self.components if c.name.startswith("worker-") and c.alive}
        return owner(pid, workers)

    # -- crashes and recovery ---------------------------------------------------------------------
    def crash(self, component: Component) -> list[int]:
        """SIGKILL ``component`` and every process under it (tasks included), as a machine crash would."""
        component.killed = True
        killed = kill_tree(component.process.pid)
        component.process.wait()
        return killed

    def revive(self) -> list[str]:
        """Start again every worker and triggerer the tests killed; return their names."""
        revived = []
        for name, component in list(self.latest.items()):
            if component.alive or not component.killed:
                continue
            index = int(name.rsplit("-", 1)[1])
            if name.startswith("worker-"):
                self._launch_worker(index)
                self.wait_for_workers([index])
            elif name.startswith("triggerer-"):
                self.replace_triggerer(component, timeout=180)
            else:
                raise RuntimeError(f"cannot revive {name}")
            revived.append(name)
        return revived

    # -- stop -------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every component (see the system cluster), then kill whatever they left running."""
        tree: list[psutil.Process] = []
        for component in self.components:
            if component.alive:
                tree.extend(descendants(component.process.pid))
        try:
            super().stop()
        finally:
            kill_leftovers(tree)
            if self._celery is not None:
                self._celery.close()
                self._celery = None

    # -- what the tests read ----------------------------------------------------------------------
    def probe_stats(self) -> list[dict[str, Any]]:
        """The delivery probe's counters of every API server (see the plugin's docstring)."""
        return [
            httpx.get(f"{self.api_url(index)}/clipgen-probe/stats", timeout=10).json()
            for index in range(len(self.api_ports))
        ]

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of ``dag_id`` (up to 100)."""
        return list(self.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> dict[str, Any]:
        """Wait until the DAG run ended; return it (whatever its state)."""

        def ended() -> dict[str, Any] | None:
            self._check_alive()
            run = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in ("success", "failed") else None

        return wait_until(f"run {dag_id}/{run_id} to end", ended, timeout, interval=1.0)

    def worker_log_lines(self, index: int, needle: str) -> int:
        """How many lines of worker ``index``'s log (all its lives) contain ``needle``."""
        text = (self.home / f"worker-{index}.log").read_text(errors="replace")
        return sum(needle in line for line in text.splitlines())
