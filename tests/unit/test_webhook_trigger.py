"""ClipiaWebhookTrigger: the mailbox against the fallback status poll, whichever sees the end first.

The status API is mocked with respx; the mailbox read (a Task SDK call in the triggerer) is
replaced by a scripted one. The real SDK path runs in the system tests.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import respx

from clipgen_provider.triggers.clipia import ClipiaRequestTrigger
from clipgen_provider.triggers.clipia_webhook import ClipiaWebhookTrigger
from clipgen_provider.webhooks import mailbox

BASE = "https://api.clipia.ai"
TI = "0195f0a0-0000-7000-8000-000000000002"
REF = mailbox.MailboxRef("dag", "task", "run", -1, TI).as_dict()


@pytest.fixture(autouse=True)
def connection(monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"conn_type": "clipia", "host": BASE, "password": "clipia_test_trigger"}
    monkeypatch.setenv("AIRFLOW_CONN_CLIPIA_DEFAULT", json.dumps(value))


@pytest.fixture
def api():
    with respx.mock(base_url=BASE, assert_all_called=False, using="httpx") as router:
        yield router


def status_route(api: respx.MockRouter, *statuses: str) -> respx.Route:
    answers = [httpx.Response(200, json={"request_id": "req_1", "status": s}) for s in statuses]
    return api.get("/v1/requests/req_1/status").mock(side_effect=answers + [answers[-1]] * 50)


def script_mailbox(monkeypatch: pytest.MonkeyPatch, *reads: Any) -> list[dict[str, Any]]:
    """Make the mailbox answer ``reads`` in turn (the last one forever); an exception is raised."""
    asked: list[dict[str, Any]] = []
    queue = list(reads)

    async def aread(ref: dict[str, Any]) -> Any:
        asked.append(ref)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(mailbox, "aread", aread)
    return asked


def delivered(request_id: str = "req_1", status: str = "OK") -> dict[str, Any]:
    body = json.dumps({"request_id": request_id, "status": status}).encode()
    return mailbox.delivered(mailbox.placeholder(TI, "clipia_default"), body)


def trigger(**overrides: Any) -> ClipiaWebhookTrigger:
    kwargs: dict[str, Any] = {
        "job_id": "req_1",
        "conn_id": "clipia_default",
        "poll_interval": 30.0,
        "mailbox": REF,
        "check_interval": 0.01,
        **overrides,
    }
    return ClipiaWebhookTrigger(**kwargs)


async def first_event(t: ClipiaRequestTrigger, timeout: float = 5.0) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async for event in t.run():
            return dict(event.payload)
        raise AssertionError("no event")

    return await asyncio.wait_for(run(), timeout)


async def test_a_delivery_already_in_the_mailbox_wins_without_any_api_call(monkeypatch, api) -> None:
    asked = script_mailbox(monkeypatch, delivered())
    route = status_route(api, "COMPLETED")
    event = await first_event(trigger())
    assert (event["status"], event["job_id"], event["via"]) == ("success", "req_1", "mailbox")
    assert asked == [REF]
    assert route.call_count == 0


async def test_no_event_before_the_deferring_worker_has_surely_exited(monkeypatch, api) -> None:
    script_mailbox(monkeypatch, delivered())
    status_route(api, "COMPLETED")
    not_before = time.time() + 0.5
    event = await first_event(trigger(not_before=not_before))
    assert time.time() >= not_before
    assert event["via"] == "mailbox"


async def test_a_delivery_arriving_later_is_seen_at_the_next_check(monkeypatch, api) -> None:
    waiting = mailbox.placeholder(TI, "clipia_default")
    asked = script_mailbox(monkeypatch, waiting, waiting, waiting, delivered(status="ERROR"))
    route = status_route(api, "IN_PROGRESS")
    event = await first_event(trigger())
    assert (event["status"], event["remote_status"], event["via"]) == ("failed", "ERROR", "mailbox")
    assert len(asked) == 4
    assert route.call_count == 0


async def test_no_delivery_falls_back_to_the_status_poll_after_one_interval(monkeypatch, api) -> None:
    script_mailbox(monkeypatch, mailbox.placeholder(TI, "clipia_default"))
    route = status_route(api, "IN_PROGRESS", "COMPLETED")
    started = time.monotonic()
    event = await first_event(trigger(poll_interval=0.2))
    assert (event["status"], event["remote_status"], event["via"]) == ("success", "COMPLETED", "poll")
    assert route.call_count == 2
    assert time.monotonic() - started >= 0.2 * 1.8, "the first poll waits one interval, not zero"


async def test_the_safety_net_poll_backs_off_to_its_ceiling(monkeypatch, api) -> None:
    route = status_route(api, *["IN_PROGRESS"] * 6, "COMPLETED")
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def record(seconds: float) -> None:
        pauses.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", record)
    polling = ClipiaRequestTrigger(
        job_id="req_1",
        conn_id="clipia_default",
        poll_interval=10,
        max_poll_interval=50,
        poll_schedule="backoff",
    )
    event = await first_event(polling)
    assert event["status"] == "success"
    assert route.call_count == 7
    expected = [10, 20, 40, 50, 50, 50]
    assert len(pauses) == len(expected)
    for pause, nominal in zip(pauses, expected, strict=True):
        assert pause == pytest.approx(nominal, rel=0.11), pauses  # within the poll jitter


@pytest.mark.parametrize(
    "reads",
    [
        pytest.param([RuntimeError("supervisor gone")], id="mailbox-unreadable"),
        pytest.param([delivered(request_id="req_other")], id="delivery-for-another-request"),
        pytest.param([None], id="mailbox-missing"),
    ],
)
async def test_the_poll_still_finishes_when_the_mailbox_cannot_help(
    monkeypatch, api, reads: list[Any]
) -> None:
    script_mailbox(monkeypatch, *reads)
    status_route(api, "FAILED")
    event = await first_event(trigger(poll_interval=0.05))
    assert (event["status"], event["remote_status"], event["via"]) == ("failed", "FAILED", "poll")


async def test_a_foreign_delivery_is_reported_once(monkeypatch, api, capfd: pytest.CaptureFixture) -> None:
    script_mailbox(monkeypatch, delivered(request_id="req_other"))
    status_route(api, "COMPLETED")
    await first_event(trigger(poll_interval=0.2))  # about 20 mailbox reads in that time
    assert capfd.readouterr().out.count("holds a delivery for request req_other") == 1


async def test_without_a_mailbox_it_polls_from_the_start(monkeypatch, api) -> None:
    asked = script_mailbox(monkeypatch, delivered())
    route = status_route(api, "COMPLETED")
    event = await first_event(trigger(mailbox=None, poll_interval=30.0))
    assert (event["status"], event["via"]) == ("success", "poll")
    assert (asked, route.call_count) == ([], 1)


async def test_the_deadline_still_yields_a_timeout_event(monkeypatch, api) -> None:
    script_mailbox(monkeypatch, mailbox.placeholder(TI, "clipia_default"))
    status_route(api, "IN_PROGRESS")
    event = await first_event(trigger(poll_interval=60.0, deadline=time.time() + 0.1))
    assert event["status"] == "timeout"


async def test_cancelling_the_trigger_stops_both_watchers(monkeypatch, api) -> None:
    script_mailbox(monkeypatch, mailbox.placeholder(TI, "clipia_default"))
    status_route(api, "IN_PROGRESS")
    before = set(asyncio.all_tasks())
    runner = asyncio.ensure_future(first_event(trigger(poll_interval=0.01)))
    await asyncio.sleep(0.1)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    await asyncio.sleep(0)
    assert set(asyncio.all_tasks()) - before == set()


def test_serializes_to_plain_kwargs_and_back() -> None:
    original = trigger(deadline=1234.5, not_before=1000.0)
    classpath, kwargs = original.serialize()
    assert classpath == "clipgen_provider.triggers.clipia_webhook.ClipiaWebhookTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    rebuilt = ClipiaWebhookTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert isinstance(rebuilt, ClipiaRequestTrigger)
    assert (rebuilt.mailbox, rebuilt.check_interval, rebuilt.deadline, rebuilt.not_before) == (
        REF,
        0.01,
        1234.5,
        1000.0,
    )
