"""Clipia operators and sensor driven as a DAG author would, against the sandbox, with deferral.

The DAGs live in ``dags/`` (examples) and ``tests/integration/dags/clipia_scenarios.py``.
"""

from __future__ import annotations

import httpx
import pytest

from clipgen_provider.hooks.clipia import ClipiaHook
from tests.integration.dagrun import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db", "clipia_conn")


def usage(sandbox, key: str) -> dict:
    response = httpx.get(f"{sandbox.url}/v1/account", headers={"Authorization": f"Bearer {key}"})
    return response.json()["usage_30d"]


def test_example_dag_image_to_video(sandbox, clipia_conn):
    outcome = run_dag("clipia_image_to_video")
    assert outcome.state == "success", outcome.task_states
    image = outcome.value("generate_image")
    video = outcome.value("animate_image")
    assert outcome.value("generate_image", "request_id") == image["request_id"]
    assert image["media_urls"][0].endswith(".png")
    png = httpx.get(image["media_urls"][0])
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert video["output"]["video"]["url"] == video["media_urls"][0]
    assert httpx.get(video["media_urls"][0]).headers["content-type"] == "video/mp4"
    # the video step received the image's URL through the templated input
    submit = sandbox.calls(api_key=clipia_conn, method="POST", path="/v1/models/seedance-2-fast-i2v")
    assert len(submit) == 1
    account = usage(sandbox, clipia_conn)
    assert account["requests"] == 2
    assert account["credits_spent"] == image["cost"] + video["cost"]


@pytest.mark.parametrize("mode", ["deferred", "blocking"])
def test_generate_returns_outputs(mode, sandbox, clipia_conn):
    outcome = run_dag(f"clipia_speech_{mode}")
    assert outcome.state == "success", outcome.task_states
    result = outcome.value("speak")
    assert result["status"] == "COMPLETED"
    assert result["output"]["audio"]["format"] == "mp3"
    assert result["media_urls"] == [result["output"]["audio"]["url"]]
    assert result["cost"] == usage(sandbox, clipia_conn)["credits_spent"]


def test_failed_generation_fails_the_task_and_retry_submits_once_more(sandbox, clipia_conn):
    outcome = run_dag("clipia_failed_generation")
    assert outcome.task_states["doomed"] == "failed"
    assert outcome.tries["doomed"] == 2
    # the retry submitted once more (a new key after FAILED); FAILED jobs cost nothing
    assert usage(sandbox, clipia_conn) == {"requests": 2, "credits_spent": 0}


def test_permanent_error_fails_without_burning_retries(sandbox, clipia_conn):
    outcome = run_dag("clipia_bad_input")
    assert outcome.task_states["bad_input"] == "failed"
    assert outcome.tries["bad_input"] == 1
    assert usage(sandbox, clipia_conn)["requests"] == 0


def test_retry_after_a_lost_result_reattaches_without_paying_again(sandbox, clipia_conn):
    """Try 1 submits, then cannot read the result (API errors); try 2 reuses the completed request."""
    sandbox.add_fault(
        method="GET", path_regex=r"^/v1/requests/[^/]+$", api_key=clipia_conn, status=500, times=5
    )
    outcome = run_dag("clipia_flaky_result")
    assert outcome.state == "success", outcome.task_states
    assert outcome.tries["flaky_result"] == 2
    assert usage(sandbox, clipia_conn)["requests"] == 1
    assert outcome.value("flaky_result")["status"] == "COMPLETED"


def test_a_retry_with_a_changed_input_after_a_lost_submit_uses_a_try_scoped_key(sandbox, clipia_conn):
    """Try 1's submit created a job but every answer was lost (5xx after the server acted), so the
    ledger holds the key without a request id; try 2 renders a different prompt under that key:
    Clipia answers 409 ``idempotency_key_reuse`` and the operator submits with a try-scoped key."""
    sandbox.add_fault(
        method="POST", path="/v1/models/", api_key=clipia_conn, status=503, after_handler=True, times=5
    )
    outcome = run_dag("clipia_input_changed_after_a_lost_submit")
    assert outcome.state == "success", outcome.task_states
    assert outcome.tries["changed"] == 2

    submits = sandbox.calls(api_key=clipia_conn, method="POST", path="/v1/models/")
    statuses = [call["status"] for call in submits]
    keys = [call["idempotency_key"] for call in submits]
    refused = statuses.index(409)
    assert set(statuses[:refused]) == {503}, "try 1: the job was created, every answer lost"
    assert len(set(keys[: refused + 1])) == 1, "try 2 first asks with the recorded key"
    assert statuses[refused + 1 :] == [200]
    assert keys[-1] != keys[0], "then with a key scoped to try 2"
    # try 1's job exists and is charged (the warning says so), and try 2's: nothing a third time
    assert usage(sandbox, clipia_conn)["requests"] == 2
    assert outcome.value("changed")["status"] == "COMPLETED"


def test_wait_timeout_fails_the_task_while_the_request_runs_on(sandbox, clipia_conn):
    sandbox.hold(clipia_conn, progress=0)  # the job runs on past the timeout, however slow the machine
    try:
        outcome = run_dag("clipia_wait_timeout")
        # read before the release: the request was left running, not cancelled
        status = ClipiaHook().get_status(outcome.value("slow", "request_id"))["status"]
    finally:
        sandbox.release(clipia_conn)
    assert outcome.task_states["slow"] == "failed"
    assert status == "IN_PROGRESS"


def test_sensors_wait_for_a_request_submitted_elsewhere(clipia_conn):
    request_id = ClipiaHook().submit("suno-music", {"prompt": "lofi beat", "instrumental": True})[
        "request_id"
    ]
    outcome = run_dag("clipia_sensors", request_id=request_id)
    assert outcome.state == "success", outcome.task_states
    assert outcome.value("wait")["request_id"] == request_id
    assert outcome.value("poke")["media_urls"]


def test_estimate_operator_spends_nothing(sandbox, clipia_conn):
    outcome = run_dag("clipia_estimate")
    assert outcome.value("quote")["credits"] > 0
    assert usage(sandbox, clipia_conn)["requests"] == 0


def test_balance_sensor_passes_fails_fast_or_waits(clipia_conn):
    outcome = run_dag("clipia_balance_checks")
    assert outcome.task_states == {
        "enough": "success",
        "short_fails_at_once": "failed",
        "short_waits_deferred": "failed",
    }
    assert outcome.value("enough") == 10_000
    assert outcome.tries["short_fails_at_once"] == 1


def test_run_cost_totals_what_the_account_was_charged(sandbox, clipia_conn):
    outcome = run_dag("clipia_run_cost")
    assert outcome.state == "success", outcome.task_states
    report = outcome.value("run_cost")
    assert set(report["by_task"]) == {"image", "music"}
    assert report["total_credits"] == usage(sandbox, clipia_conn)["credits_spent"] > 0


def test_over_budget_generation_is_refused_before_any_request(sandbox, clipia_conn):
    outcome = run_dag("clipia_over_budget")
    assert outcome.task_states["generate"] == "failed"
    assert outcome.tries["generate"] == 1
    assert sandbox.calls(api_key=clipia_conn, path="/v1/models/seedance-2-fast-t2v/estimate")
    submits = [
        c for c in sandbox.calls(api_key=clipia_conn, method="POST") if not c["path"].endswith("/estimate")
    ]
    assert submits == []


def test_example_budgeted_batch_stores_files_and_emits_asset_events(
    sandbox, clipia_conn, tmp_path, monkeypatch
):
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session

    outcome = run_dag("clipia_budgeted_batch")
    assert outcome.state == "success", outcome.task_states
    report = outcome.value("run_cost")
    assert report["total_credits"] == usage(sandbox, clipia_conn)["credits_spent"] > 0
    assert len(report["by_task"]) == 3
    with create_session() as session:
        asset = session.query(AssetModel).filter(AssetModel.name == "clipgen_product_shots").one()
        events = session.query(AssetEvent).filter(AssetEvent.asset_id == asset.id).all()
        ours = [e for e in events if e.extra.get("request_id")]
        assert len(ours) == 3
        assert len({e.extra["request_id"] for e in ours}) == 3
        for event in ours:
            (path,) = event.extra["stored_paths"]
            stored = path.removeprefix("file://")
            with open(stored, "rb") as handle:
                assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
            assert event.extra["model"] == "nano-banana-2"
            assert event.extra["cost"] > 0
        queued = session.query(AssetDagRunQueue).filter(AssetDagRunQueue.asset_id == asset.id).all()
        assert {q.target_dag_id for q in queued} == {"clipia_publish_product_shots"}
