"""The mailbox format: placeholder, delivered digest, the event it stands for, and the SDK read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from clipgen_provider.jobs import EVENT_STATUSES
from clipgen_provider.webhooks import mailbox

TI = "0195f0a0-0000-7000-8000-000000000001"


def body(**fields: Any) -> bytes:
    return json.dumps(
        {"request_id": "req_1", "status": "OK", "payload": {}, "error": None, **fields}
    ).encode()


def test_placeholder_waits_for_its_own_try_only() -> None:
    box = mailbox.placeholder(TI, "clipia_default")
    assert box == {"v": 1, "state": "waiting", "ti_id": TI, "conn_id": "clipia_default"}
    assert mailbox.is_waiting_for(box, TI)
    assert not mailbox.is_waiting_for(box, "another-try")
    assert not mailbox.is_waiting_for(mailbox.delivered(box, body()), TI)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "not json",
        42,
        [],
        {"state": "waiting", "ti_id": TI},
        {"v": 2, "state": "waiting", "ti_id": TI},
    ],
)
def test_foreign_values_are_not_mailboxes(value: Any) -> None:
    assert mailbox.load(value) is None
    assert not mailbox.is_waiting_for(value, TI)


def test_json_text_is_read_like_a_dict() -> None:
    assert mailbox.load(json.dumps(mailbox.placeholder(TI, "c"))) == mailbox.placeholder(TI, "c")


def test_delivered_keeps_a_short_typed_digest_only() -> None:
    waiting = mailbox.placeholder(TI, "clipia_default")
    box = mailbox.delivered(
        waiting,
        body(status="ERROR", error={"code": "x", "message": "m" * 5000}, payload={"huge": "y" * 9000}),
        received_at=12.5,
    )
    assert box == {
        **waiting,
        "state": "delivered",
        "request_id": "req_1",
        "status": "ERROR",
        "error": "m" * 500,
        "received_at": 12.5,
    }
    assert mailbox.delivered(waiting, body())["error"] is None


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'"text"',
        b'{"status": "OK"}',
        b'{"request_id": "", "status": "OK"}',
        b'{"request_id": 7, "status": "OK"}',
        b'{"request_id": "r", "status": "COMPLETED"}',
        json.dumps({"request_id": "r" * 201, "status": "OK"}).encode(),
    ],
)
def test_malformed_deliveries_are_refused(raw: bytes) -> None:
    with pytest.raises(mailbox.DeliveryError):
        mailbox.delivered(mailbox.placeholder(TI, "c"), raw)


@pytest.mark.parametrize(
    ("status", "event_status", "remote"), [("OK", "success", "COMPLETED"), ("ERROR", "failed", "ERROR")]
)
def test_event_follows_the_provider_event_schema(status: str, event_status: str, remote: str) -> None:
    box = mailbox.delivered(mailbox.placeholder(TI, "c"), body(status=status, error="no"))
    event = mailbox.event_from_delivery(box, "push")
    assert event["status"] in EVENT_STATUSES
    assert (event["status"], event["job_id"], event["remote_status"], event["via"]) == (
        event_status,
        "req_1",
        remote,
        "push",
    )
    assert "req_1" in event["message"]


@pytest.mark.parametrize("airflow_has_aget_one", [True, False], ids=["3.3", "before-3.3"])
async def test_aread_returns_only_this_tries_mailbox(
    monkeypatch: pytest.MonkeyPatch, airflow_has_aget_one: bool
) -> None:
    from airflow.sdk.bases.xcom import BaseXCom

    ref = mailbox.MailboxRef("dag", "task", "run", 3, TI).as_dict()
    stored: dict[str, Any] = {}
    asked: list[dict[str, Any]] = []

    def get_one(**kwargs: Any) -> Any:
        asked.append(kwargs)
        return stored.get("value")

    async def aget_one(**kwargs: Any) -> Any:
        return get_one(**kwargs)

    if airflow_has_aget_one:
        monkeypatch.setattr(BaseXCom, "aget_one", aget_one, raising=False)
    else:  # Airflow 3.1 and 3.2: only the sync read exists
        monkeypatch.delattr(BaseXCom, "aget_one", raising=False)
        monkeypatch.setattr(BaseXCom, "get_one", get_one)
    assert await mailbox.aread(ref) is None
    stored["value"] = mailbox.placeholder("an-earlier-try", "c")
    assert await mailbox.aread(ref) is None
    stored["value"] = mailbox.placeholder(TI, "c")
    assert await mailbox.aread(ref) == mailbox.placeholder(TI, "c")
    assert asked[0] == {
        "key": "clipia_webhook",
        "dag_id": "dag",
        "task_id": "task",
        "run_id": "run",
        "map_index": 3,
    }


def test_push_placeholder_writes_through_base_xcom(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from airflow.sdk.bases.xcom import BaseXCom

    written: list[tuple[Any, ...]] = []
    monkeypatch.setattr(BaseXCom, "set", lambda key, value, **where: written.append((key, value, where)))
    ti = SimpleNamespace(id=TI, dag_id="dag", task_id="task", run_id="run", map_index=0)
    ref = mailbox.push_placeholder(ti, "clipia_default")  # type: ignore[arg-type]
    assert ref == mailbox.MailboxRef("dag", "task", "run", 0, TI)
    assert written == [
        (
            "clipia_webhook",
            mailbox.placeholder(TI, "clipia_default"),
            {"dag_id": "dag", "task_id": "task", "run_id": "run", "map_index": 0},
        )
    ]
