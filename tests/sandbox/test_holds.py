"""Holds: a test stops a key's jobs in progress and lets them run on when it is ready.

A system test must see a job ``IN_PROGRESS`` however late its first poll comes on a loaded
machine; a hold keeps the job there (progress, no charge, no webhook) until the release, after
which the job runs the rest of its time, is charged once and its webhook goes out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from clipgen_provider.sandbox.server import SandboxServer

from .conftest import FAST_SETTINGS, WebhookReceiver
from .test_clipia_sandbox import Api, error_of, new_key, parse_iso, wait_until


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    """The session sandbox; its fast settings restored after the test."""
    yield sandbox_server
    sandbox_server.update_settings(**FAST_SETTINGS)


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[Api]:
    """A client with a fresh key (a fresh account)."""
    client = Api(sandbox.url, new_key())
    yield client
    client.http.close()


def _hold(sandbox: SandboxServer, key: str, progress: Any) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/_sandbox/holds", json={"api_key": key, "progress": progress})


def _release(sandbox: SandboxServer, key: str) -> list[str]:
    response = httpx.post(f"{sandbox.url}/_sandbox/holds/release", json={"api_key": key})
    assert response.status_code == 200, response.text
    return list(response.json()["released"])


def test_a_held_job_stays_in_progress_until_released_then_finishes_and_is_charged_once(
    sandbox: SandboxServer, api: Api, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.update_settings(queue_seconds=0.0, run_seconds=0.4)
    held = _hold(sandbox, api.key, 50)
    assert held.status_code == 201
    assert held.json()["hold"]["progress"] == 50
    assert api.key not in held.text
    url, path = webhook_receiver.endpoint()
    submitted = api.submit_ok("nano-banana-2", {"prompt": "held"}, webhook_url=url)
    request_id = submitted["request_id"]
    other = Api(sandbox.url, new_key())  # another key's job is not held
    free = other.submit_ok("nano-banana-2", {"prompt": "free"})["request_id"]
    assert other.wait_terminal(free)["status"] == "COMPLETED"
    other.http.close()

    paused = wait_until(lambda: api.status(request_id)["progress"] == 50 and api.status(request_id))
    natural_end = parse_iso(paused["logs"][-1]["timestamp"]).timestamp() + 0.4
    while time.time() < natural_end + 0.3:  # past the end of its run: still held
        status = api.status(request_id)
        assert (status["status"], status["progress"]) == ("IN_PROGRESS", 50), status
    assert paused["logs"][-1]["message"].startswith("Generation started")
    assert api.http.get(f"/v1/requests/{request_id}").status_code == 202
    assert api.account()["usage_30d"]["credits_spent"] == 0
    assert webhook_receiver.received(path) == []

    released_at = time.time()
    assert _release(sandbox, api.key) == [request_id]
    result = api.wait_terminal(request_id)
    assert result["status"] == "COMPLETED"
    ran_after_release = parse_iso(result["completed_at"]).timestamp() - released_at
    assert 0.15 < ran_after_release < 5, "the job ran the other half of its run after the release"
    assert api.account()["usage_30d"]["credits_spent"] == submitted["cost"]
    assert len(webhook_receiver.wait_for(path, 1)) == 1

    again = api.submit_ok("nano-banana-2", {"prompt": "after the release"})["request_id"]
    assert api.wait_terminal(again)["status"] == "COMPLETED", "the release lifted the hold"
    assert _release(sandbox, api.key) == []


def test_a_held_job_can_be_canceled_and_its_release_changes_nothing(sandbox: SandboxServer, api: Api) -> None:
    sandbox.update_settings(queue_seconds=0.0, run_seconds=0.2)
    assert _hold(sandbox, api.key, 0).status_code == 201
    before = api.balance()
    request_id = api.submit_ok("nano-banana-2", {"prompt": "held, then canceled"})["request_id"]
    assert api.status(request_id)["status"] == "IN_PROGRESS"
    assert sandbox.cancel(api.key, request_id)["status"] == "CANCELED"
    assert _release(sandbox, api.key) == [request_id]
    assert api.status(request_id)["status"] == "CANCELED"
    assert api.balance() == before, "refunded once, never charged"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"progress": 50}, "api_key"),
        ({"api_key": "clipia_test_x", "progress": 100}, "0 to 99"),
        ({"api_key": "clipia_test_x", "progress": -1}, "0 to 99"),
        ({"api_key": "clipia_test_x", "progress": "50"}, "0 to 99"),
        ({"api_key": "clipia_test_x", "progress": True}, "0 to 99"),
    ],
)
def test_bad_hold_requests_are_400(sandbox: SandboxServer, body: dict[str, Any], message: str) -> None:
    response = httpx.post(f"{sandbox.url}/_sandbox/holds", json=body)
    assert response.status_code == 400
    assert message in error_of(response)["message"]
