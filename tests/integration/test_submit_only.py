"""Submit-only generate tasks (``wait_for_completion=False``) and the example DAG pair that
submits in one DAG and senses in another, against the sandbox."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from clipgen_provider.hooks.clipia import ClipiaHook
from clipgen_provider.sandbox.server import SandboxServer
from tests.airflow_compat import HAS_TASK_STATE_STORE
from tests.integration.dagrun import run_dag
from tests.integration.test_clipwise_operators import GENERATIONS
from tests.integration.test_sensors_media import latest_asset_event

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_clipia_submit_only_submits_once_and_reads_nothing(sandbox: SandboxServer, clipia_conn: str) -> None:
    outcome = run_dag("submit_only_clipia")
    assert outcome.state == "success", outcome.task_states
    request_id = outcome.value("submit", "request_id")
    assert outcome.value("submit") == {
        "request_id": request_id,
        "status": "submitted",
        "model": "nano-banana-2",
    }
    assert len(sandbox.calls(api_key=clipia_conn, method="POST", path="/v1/models/nano-banana-2")) == 1
    assert sandbox.calls(api_key=clipia_conn, method="GET", path="/v1/requests/") == []
    extra = latest_asset_event("submit_only_scenario_requests")
    assert extra == {"request_id": request_id, "status": "submitted", "model": "nano-banana-2"}
    # the request runs on without the task, and is charged once when it completes
    assert ClipiaHook().get_status(request_id)["status"] in {"IN_QUEUE", "IN_PROGRESS", "COMPLETED"}


def test_clipia_submit_only_retry_after_a_lost_answer_gets_the_same_request(
    sandbox: SandboxServer, clipia_conn: str
) -> None:
    """Try 1's submit created the request but every answer was lost; try 2 resubmits with the
    recorded idempotency key and Clipia returns that same request: one request, one charge. Without
    a ledger (Airflow 3.1, 3.2) try 2 reads that request's status once: a failed one would be
    submitted anew with the try-scoped key."""
    sandbox.add_fault(
        method="POST", path="/v1/models/", api_key=clipia_conn, status=503, after_handler=True, times=5
    )
    outcome = run_dag("submit_only_clipia")
    assert outcome.state == "success", outcome.task_states
    assert outcome.tries["submit"] == 2
    submits = sandbox.calls(api_key=clipia_conn, method="POST", path="/v1/models/nano-banana-2")
    assert len({call["idempotency_key"] for call in submits}) == 1
    assert [call["status"] for call in submits][-1] == 200
    account = httpx.get(f"{sandbox.url}/v1/account", headers={"Authorization": f"Bearer {clipia_conn}"})
    assert account.json()["usage_30d"]["requests"] == 1
    reads = sandbox.calls(api_key=clipia_conn, method="GET", path="/v1/requests/")
    if HAS_TASK_STATE_STORE:
        assert reads == []
    else:
        request_id = outcome.value("submit", "request_id")
        assert [call["path"] for call in reads] == [f"/v1/requests/{request_id}/status"]


def test_clipwise_submit_only_starts_once_and_reads_nothing(
    sandbox: SandboxServer, clipwise_conn: str
) -> None:
    outcome = run_dag("submit_only_clipwise")
    assert outcome.state == "success", outcome.task_states
    generation_id = outcome.value("submit", "generation_id")
    assert generation_id.startswith("gen_")
    assert outcome.value("submit") == {
        "generation_id": generation_id,
        "status": "submitted",
        "format": "smart",
    }
    assert len(sandbox.calls(api_key=clipwise_conn, method="POST", path=GENERATIONS)) == 1
    reads = sandbox.calls(api_key=clipwise_conn, method="GET", path=f"{GENERATIONS}{generation_id}")
    assert reads == []


def test_example_pair_submits_here_and_senses_there(
    sandbox: SandboxServer, clipia_conn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLIPGEN_MEDIA_ROOT", f"file://{tmp_path}")
    submitted = run_dag("clipia_submit_only")
    assert submitted.state == "success", submitted.task_states
    request_id = submitted.value("submit_video", "request_id")
    assert submitted.value("submit_video")["status"] == "submitted"

    sensed = run_dag("clipia_submit_then_sense")
    assert sensed.state == "success", sensed.task_states
    assert sensed.value("submitted_request_ids") == [request_id]
    result = sensed.value("keep_media")
    assert result["request_id"] == request_id
    (stored,) = result["stored_paths"]
    assert stored.startswith(f"file://{tmp_path}/")
    assert stored.endswith(f"/{request_id}-0.mp4")
    video = Path(stored.removeprefix("file://")).read_bytes()
    assert video[4:8] == b"ftyp"
    assert video == httpx.get(result["media_urls"][0]).content
    assert len(sandbox.calls(api_key=clipia_conn, method="POST", path="/v1/models/")) == 1
    account = httpx.get(f"{sandbox.url}/v1/account", headers={"Authorization": f"Bearer {clipia_conn}"})
    assert account.json()["usage_30d"]["credits_spent"] == result["cost"] > 0
