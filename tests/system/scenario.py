"""What a system test works with: its own connection, sandbox key and DAG run, and what both sides saw."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from tests.system.cluster import AirflowCluster

from clipgen_provider.sandbox.server import SandboxServer

#: what the sandbox signs with; the connections list it after a retired one (rotation)
SECRET = "whsec_system_current_4f9c2a"
RETIRED_SECRET = "whsec_system_retired_71bd05"
#: seconds a sandbox job runs: longer than the resume settle time (8 s with Airflow's defaults),
#: so a timely webhook resumes its task at once
RUN_SECONDS = 9.0
#: how often the sandbox tries a refused delivery, one second apart (outlasts a busy SQLite lock)
WEBHOOK_ATTEMPTS = 10
DAG_IDS = ("clipgen_webhook", "clipgen_webhook_lossy", "clipgen_webhook_retry", "clipgen_polled")


@dataclass
class Scenario:
    """One test's world: a ``clipia`` connection with its own sandbox key, and one DAG run on it.

    Webhook fault rules and call counts are per key, so scenarios running at the same time never
    see each other's.
    """

    cluster: AirflowCluster
    sandbox: SandboxServer
    conn_id: str
    api_key: str
    dag_id: str = "clipgen_webhook"
    run_id: str = ""

    @classmethod
    def create(
        cls, cluster: AirflowCluster, sandbox: SandboxServer, name: str, *, api_server: int = 0
    ) -> Scenario:
        """A new connection whose public webhook base URL is API server ``api_server``."""
        conn_id = f"clipia_{name}"
        api_key = f"clipia_test_{uuid.uuid4().hex}"
        cluster.set_connection(
            conn_id,
            conn_type="clipia",
            host=sandbox.url,
            password=api_key,
            extra={
                "webhook_secrets": f"{RETIRED_SECRET},{SECRET}",
                "webhook_base_url": cluster.api_url(api_server),
            },
        )
        return cls(cluster, sandbox, conn_id, api_key)

    def fault(self, **rule: Any) -> Scenario:
        """Add a sandbox fault rule that only this scenario's key triggers."""
        self.sandbox.add_fault(api_key=self.api_key, **rule)
        return self

    def hold(self, progress: int) -> Scenario:
        """Hold this key's next jobs ``IN_PROGRESS`` at ``progress`` percent until :meth:`release`:
        the test waits for what it must see while the job runs, however late the first poll comes."""
        self.sandbox.hold(self.api_key, progress)
        return self

    def release(self) -> list[str]:
        """Let this key's held jobs run on (the rest of their run time); return their request ids."""
        return self.sandbox.release(self.api_key)

    def start(self, dag_id: str = "clipgen_webhook", **conf: Any) -> Scenario:
        """Start ``dag_id`` on this scenario's connection."""
        self.dag_id = dag_id
        self.run_id = self.cluster.trigger(dag_id, conn_id=self.conn_id, **conf)
        return self

    # -- what Airflow saw ---------------------------------------------------------------------
    def task_instance(self) -> dict[str, Any]:
        return self.cluster.task_instance(self.dag_id, self.run_id, "generate")

    def wait_for(self, *states: str, timeout: float = 180) -> dict[str, Any]:
        """Wait until the task is in one of ``states``; return it."""
        return self.cluster.wait_for_state(self.dag_id, self.run_id, "generate", states, timeout)

    def finish(self, timeout: float = 180) -> dict[str, Any]:
        """Wait until the task succeeded; return its task instance."""
        return self.wait_for("success", timeout=timeout)

    def xcom(self, key: str) -> Any:
        return self.cluster.xcom(self.dag_id, self.run_id, "generate", key)

    # -- what the sandbox saw -----------------------------------------------------------------
    def submits(self) -> list[dict[str, Any]]:
        """The generation submits the sandbox received with this key."""
        return self.sandbox.calls(api_key=self.api_key, method="POST", path="/v1/models/")

    def api_calls(self) -> list[dict[str, Any]]:
        """Every Clipia call the sandbox received with this key."""
        return self.sandbox.calls(api_key=self.api_key, path="/v1/")

    def requests_read(self) -> set[str]:
        """The request ids this key read (status or result)."""
        paths = [call["path"] for call in self.sandbox.calls(api_key=self.api_key, path="/v1/requests/")]
        return {path.split("/")[3] for path in paths}

    def deliveries(self, request_id: str) -> list[dict[str, Any]]:
        return self.sandbox.webhook_attempts(request_id)

    def requests_charged(self) -> int:
        """How many generations this key's sandbox account was asked for (its usage)."""
        answer = httpx.get(
            f"{self.sandbox.url}/v1/account", headers={"Authorization": f"Bearer {self.api_key}"}
        )
        return int(answer.json()["usage_30d"]["requests"])
