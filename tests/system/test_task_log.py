"""What a DAG author reads in the task log of a deferred generation, served by the API server.

The trigger's lines (written by the triggerer while the task is deferred) and the worker's lines
(submit, then ``execute_complete``) come back merged from the log route the UI uses. The sandbox
holds the job in progress until the log shows a progress line: on a loaded machine the trigger's
first poll may come later than the job's whole run, and would then only ever see it completed.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.system.cluster import AirflowCluster, wait_until
from tests.system.scenario import Scenario

from clipgen_provider.sandbox.server import SandboxServer

pytestmark = pytest.mark.timeout(300)
_PROGRESS = re.compile(r"\bIN_PROGRESS \d+%")


def _log_lines(cluster: AirflowCluster, scenario: Scenario) -> list[str]:
    """Every event of the generate task's first try, as the UI's log view receives them."""
    path = f"/dags/{scenario.dag_id}/dagRuns/{scenario.run_id}/taskInstances/generate/logs/1"
    answer: dict[str, Any] = cluster.get(path, full_content=True)
    return [str(entry.get("event", "")) for entry in answer["content"] if isinstance(entry, dict)]


def _progress_lines(lines: list[str]) -> list[str]:
    """The trigger's ``IN_PROGRESS n%`` lines."""
    return [line for line in lines if _PROGRESS.search(line)]


def test_deferred_task_log_shows_changes_cost_media_and_the_link(
    cluster: AirflowCluster, webhook_sandbox: SandboxServer
) -> None:
    scenario = Scenario.create(cluster, webhook_sandbox, "task_log").hold(progress=90)
    try:
        scenario.start("clipgen_polled")
        wait_until(
            "a progress line in the deferred task's log",
            lambda: _progress_lines(_log_lines(cluster, scenario)),
            180,
            interval=1.0,
        )
    finally:
        scenario.release()
    scenario.finish()

    lines = _log_lines(cluster, scenario)
    text = "\n".join(lines)
    (request_id,) = scenario.requests_read()
    assert request_id in text
    progress = _progress_lines(lines)
    assert progress, f"no progress line in the task log:\n{text[-3000:]}"
    polls = [call for call in scenario.api_calls() if call["path"].endswith("/status")]
    assert len(progress) <= len(polls)
    assert len(set(progress)) == len(progress), "a status line was repeated: one line per poll?"
    assert re.search(r"COMPLETED: [\d.]+ credits charged", text)
    media = re.search(rf"Media: ({re.escape(webhook_sandbox.url)}/\S+)", text)
    assert media
    assert scenario.api_key not in text
    assert not [line for line in lines if "XCom not found" in line], "the media link read a missing XCom"

    links = cluster.get(f"/dags/{scenario.dag_id}/dagRuns/{scenario.run_id}/taskInstances/generate/links")
    assert links["extra_links"] == {"Generated media": media.group(1)}, (
        "the button opens the first media file"
    )
