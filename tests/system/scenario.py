"""What a system test works with: its own connection and sandbox key, and what both sides saw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from tests.system.cluster import AirflowCluster

from clipgen_provider.sandbox.server import SandboxServer

#: what the sandbox signs with; the connections list it after a retired one (rotation)
SECRET = "whsec_system_current_4f9c2a"
RETIRED_SECRET = "whsec_system_retired_71bd05"
#: seconds a sandbox job runs: longer than the resume settle time, so a timely webhook resumes at once
RUN_SECONDS = 9.0
DAG_IDS = ("clipgen_webhook", "clipgen_webhook_lossy", "clipgen_webhook_retry", "clipgen_polled")


@dataclass
class Scenario:
    """One test's world: its connection and key, and what the sandbox and Airflow saw of them."""

    cluster: AirflowCluster
    sandbox: SandboxServer
    conn_id: str
    api_key: str

    def run(self, dag_id: str = "clipgen_webhook", **conf: Any) -> str:
        """Start ``dag_id`` on this test's connection; return the run id."""
        return self.cluster.trigger(dag_id, conn_id=self.conn_id, **conf)

    def finish(self, run_id: str, dag_id: str = "clipgen_webhook", timeout: float = 120) -> dict[str, Any]:
        """Wait until the task succeeded; return its task instance."""
        return self.cluster.wait_for_state(dag_id, run_id, "generate", ["success"], timeout)

    def xcom(self, run_id: str, key: str, dag_id: str = "clipgen_webhook") -> Any:
        return self.cluster.xcom(dag_id, run_id, "generate", key)

    def submits(self) -> list[dict[str, Any]]:
        """The generation submits the sandbox received with this test's key."""
        return self.sandbox.calls(api_key=self.api_key, method="POST", path="/v1/models/")

    def api_calls(self) -> list[dict[str, Any]]:
        """Every Clipia call the sandbox received with this test's key."""
        return self.sandbox.calls(api_key=self.api_key, path="/v1/")

    def deliveries(self, request_id: str) -> list[dict[str, Any]]:
        return self.sandbox.webhook_attempts(request_id)

    def requests_charged(self) -> int:
        """How many generations the sandbox account of this key was asked for (usage)."""
        answer = httpx.get(
            f"{self.sandbox.url}/v1/account", headers={"Authorization": f"Bearer {self.api_key}"}
        )
        return int(answer.json()["usage_30d"]["requests"])

    def fault(self, **rule: Any) -> None:
        """Add a sandbox fault rule that only this test's key triggers."""
        self.sandbox.add_fault(api_key=self.api_key, **rule)
