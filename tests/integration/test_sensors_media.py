"""The job sensors against the sandbox, as DAG runs: media kept, Asset events, link, and
``BaseSensorOperator``'s ``soft_fail`` / ``timeout`` / ``exponential_backoff`` in deferrable mode.

Each scenario (``tests/integration/dags/sensor_scenarios.py``) submits its own job with
``wait_for_completion=False`` and senses it, so the sandbox's call log shows who called what.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from clipgen_provider.hooks.clipia import ClipiaHook
from clipgen_provider.hooks.clipwise import ClipwiseHook
from clipgen_provider.sandbox.server import SandboxServer
from clipgen_provider.sensors.clipia import ClipiaRequestSensor
from clipgen_provider.sensors.clipwise import ClipwiseGenerationSensor
from tests.integration.dagrun import run_dag
from tests.integration.test_clipwise_operators import GENERATIONS

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.fixture
def held_jobs(sandbox: SandboxServer, clipia_conn: str) -> Iterator[None]:
    """The test's Clipia jobs never end: longer than any sensor timeout, however slow the machine."""
    sandbox.hold(clipia_conn, progress=0)
    try:
        yield
    finally:
        sandbox.release(clipia_conn)


@contextmanager
def running_when_first_read(sandbox: SandboxServer, key: str) -> Iterator[None]:
    """Hold each Clipia job ``key`` submits until a sensor first reads it, then let it run its whole
    time: the sensor meets it running (and defers) however long its task took to start on a loaded
    machine, and sees it end a full run later."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def release_each_on_its_first_read() -> None:
        read: set[str] = set()
        try:
            while not stop.wait(0.05):
                try:
                    calls = sandbox.calls(api_key=key, method="GET", path="/v1/requests/")
                except httpx.TransportError:  # a kept-alive connection the server closed: ask again
                    continue
                fresh = {call["path"].split("/")[3] for call in calls} - read
                if fresh:
                    sandbox.release(key)
                    sandbox.hold(key, progress=0)  # the jobs submitted later wait for their own first read
                    read |= fresh
        except BaseException as err:  # reported by the test, not lost in the thread
            errors.append(err)

    sandbox.hold(key, progress=0)
    thread = threading.Thread(target=release_each_on_its_first_read, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        sandbox.release(key)
    assert not errors, errors


def latest_asset_event(name: str) -> dict[str, Any]:
    """The ``extra`` of the newest event of the Asset ``name``."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        asset = session.query(AssetModel).filter(AssetModel.name == name).one()
        event = (
            session.query(AssetEvent)
            .filter(AssetEvent.asset_id == asset.id)
            .order_by(AssetEvent.id.desc())
            .first()
        )
        assert event is not None
        return dict(event.extra)


def local(path: str) -> Path:
    assert path.startswith("file://"), path
    return Path(path.removeprefix("file://"))


def test_clipia_sensor_keeps_the_media_of_a_request_submitted_elsewhere(
    sandbox: SandboxServer, clipia_conn: str, tmp_path: Path
) -> None:
    with running_when_first_read(sandbox, clipia_conn):
        outcome = run_dag("sensors_clipia_keep_media", out=f"file://{tmp_path}")
    assert outcome.state == "success", outcome.task_states
    request_id = outcome.value("submit", "request_id")
    assert outcome.value("submit") == {
        "request_id": request_id,
        "status": "submitted",
        "model": "nano-banana-2",
    }

    for task_id in ("deferred", "poke"):
        result = outcome.value(task_id)
        assert result["request_id"] == request_id
        assert result["status"] == "COMPLETED"
        (stored,) = result["stored_paths"]
        assert stored == f"file://{tmp_path}/{task_id}/{request_id}-0.png"
        data = local(stored).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert data == httpx.get(result["media_urls"][0]).content
        assert outcome.value(task_id, "_link_ClipgenMediaLink") == result["media_urls"][0]

    extra = latest_asset_event("sensor_scenario_images")
    assert extra["request_id"] == request_id
    assert extra["model"] == "nano-banana-2"
    assert extra["stored_paths"] == outcome.value("deferred")["stored_paths"]
    assert extra["cost"] == outcome.value("deferred")["cost"] > 0
    # one submit; the sensors only read (the deferred one polled while the request ran)
    assert len(sandbox.calls(api_key=clipia_conn, method="POST")) == 1
    polls = sandbox.calls(api_key=clipia_conn, method="GET", path=f"/v1/requests/{request_id}/status")
    assert len(polls) >= 3


def test_clipwise_sensor_keeps_the_media_of_a_generation_started_elsewhere(
    sandbox: SandboxServer, clipwise_conn: str, tmp_path: Path
) -> None:
    outcome = run_dag("sensors_clipwise_keep_media", out=f"file://{tmp_path}")
    assert outcome.state == "success", outcome.task_states
    generation_id = outcome.value("submit", "generation_id")
    assert outcome.value("submit") == {
        "generation_id": generation_id,
        "status": "submitted",
        "format": "smart",
    }

    for task_id in ("deferred", "poke"):
        result = outcome.value(task_id)
        assert result["generation_id"] == generation_id
        (stored,) = result["stored_paths"]
        assert stored == f"file://{tmp_path}/{task_id}/{generation_id}-0.mp4"
        data = local(stored).read_bytes()
        assert data[4:8] == b"ftyp"  # an MP4 file
        assert data == httpx.get(result["video_url"]).content
        assert outcome.value(task_id, "_link_ClipgenMediaLink") == result["video_url"]

    extra = latest_asset_event("sensor_scenario_videos")
    assert extra["generation_id"] == generation_id
    assert extra["format"] == "smart"
    assert extra["stored_paths"] == outcome.value("deferred")["stored_paths"]
    assert len(sandbox.calls(api_key=clipwise_conn, method="POST", path=GENERATIONS)) == 1


def test_soft_fail_skips_on_a_failed_request_deferred_or_on_the_first_poke(
    sandbox: SandboxServer, clipia_conn: str
) -> None:
    outcome = run_dag("sensors_soft_fail")
    assert outcome.task_states == {
        "submit": "success",
        "soft_while_deferred": "skipped",
        "soft_on_first_poke": "skipped",
        "hard": "failed",
    }
    assert outcome.tries["hard"] == 1, "a failed job is permanent: no retries burned"
    request_id = outcome.value("submit", "request_id")
    assert ClipiaHook().get_status(request_id)["status"] == "FAILED"
    assert usage_requests(sandbox, clipia_conn) == 1


def test_a_sensor_timeout_skips_with_soft_fail_and_fails_without_retries_otherwise(
    sandbox: SandboxServer, clipia_conn: str, held_jobs: None
) -> None:
    outcome = run_dag("sensors_timeout")
    assert outcome.task_states == {"submit": "success", "soft": "skipped", "hard": "failed"}
    assert outcome.tries["hard"] == 1, "AirflowSensorTimeout is not retried"
    request_id = outcome.value("submit", "request_id")
    assert ClipiaHook().get_status(request_id)["status"] in {"IN_QUEUE", "IN_PROGRESS"}


def test_exponential_backoff_spaces_out_the_triggers_polls(sandbox: SandboxServer, clipia_conn: str) -> None:
    sandbox.update_settings(run_seconds=4)
    try:
        with running_when_first_read(sandbox, clipia_conn):  # each sensor watches the whole 4 s run
            outcome = run_dag("sensors_backoff")
    finally:
        sandbox.update_settings(run_seconds=0.8)
    assert outcome.state == "success", outcome.task_states

    def polls(task_id: str) -> list[dict[str, Any]]:
        request_id = outcome.value(f"submit_{task_id}", "request_id")
        return sandbox.calls(api_key=clipia_conn, method="GET", path=f"/v1/requests/{request_id}/status")

    steady, backoff = polls("steady"), polls("backoff")
    # the same 4 s job from the first poke on: polled every 0.2 s (about 20 polls), or at 0.2, 0.4,
    # 0.8, 1.6 … s intervals (about 6), plus one poke on the worker before deferring and one after
    # resuming
    assert len(backoff) * 2 <= len(steady), (len(backoff), len(steady))


def test_a_failed_clipia_request_is_reported_in_clipias_words(clipia_conn: str) -> None:
    request_id = ClipiaHook().submit("nano-banana-2", {"prompt": "a mug [sandbox:fail]"})["request_id"]
    wait_until(lambda: ClipiaHook().get_status(request_id)["status"] == "FAILED")
    sensor = ClipiaRequestSensor(task_id="sense", request_id=request_id)
    expected = rf"^Clipia request {request_id} ended FAILED: The prompt contains \[sandbox:fail\] \(generation_failed\)$"
    with pytest.raises(AirflowFailException, match=expected):
        sensor.poke({})


def test_a_failed_clipwise_generation_is_reported_in_clipwises_words(clipwise_conn: str) -> None:
    generation_id = ClipwiseHook().create_generation("smart", prompt="a video [sandbox:fail]")["id"]
    wait_until(lambda: ClipwiseHook().get_generation(generation_id)["status"] == "failed")
    sensor = ClipwiseGenerationSensor(task_id="sense", generation_id=generation_id)
    expected = (
        rf"^Clipwise generation {generation_id} ended failed: the sandbox failed this job "
        r"\(\[sandbox:fail\]\) \(generation_failed\)$"
    )
    with pytest.raises(AirflowFailException, match=expected):
        sensor.poke({})


def wait_until(condition: Callable[[], bool], attempts: int = 100) -> None:
    """Poll ``condition`` (a sandbox job's state) until it holds; jobs end within about a second."""
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("the sandbox job did not end")


def usage_requests(sandbox: SandboxServer, key: str) -> int:
    response = httpx.get(f"{sandbox.url}/v1/account", headers={"Authorization": f"Bearer {key}"})
    return int(response.json()["usage_30d"]["requests"])
