"""The webhook receiver app, over ASGI, against a real SQLite metadata database and real HMAC.

What a delivery may do to a task instance is decided by these answers, so every branch of the
contract is exercised: accepted (and the deferred task resumed), duplicate, ignored (unknown
try, earlier try, not waiting), rejected (forged, stale, missing, no secrets), too large (while
streaming), invalid, and unavailable (a database that cannot take the write).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from clipgen_provider.webhooks import mailbox
from clipgen_provider.webhooks.receiver import create_receiver_app, delivery_path
from clipgen_provider.webhooks.signature import SIGNATURE_HEADER, sign
from tests.unit.test_webhook_airflow_internals import (  # noqa: F401 - fixtures
    airflow_db,
    make_ti,
    start_next_try,
    ti_row,
)

CONN_ID = "clipia_webhook_unit"
OLD_SECRET = "whsec_unit_old_0123456789"
NEW_SECRET = "whsec_unit_new_9876543210"
LIMIT = 4096


@pytest.fixture(autouse=True)
def connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``clipia`` connection the placeholders name, accepting two secrets (rotation)."""
    value = {
        "conn_type": "clipia",
        "host": "http://127.0.0.1:9",
        "password": "clipia_test_unit_key",
        "extra": {"webhook_secrets": f"{NEW_SECRET}, {OLD_SECRET}"},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(value))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_receiver_app(max_body_bytes=LIMIT)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
        yield c


def waiting(ti_id: uuid.UUID, conn_id: str = CONN_ID) -> dict[str, Any]:
    return mailbox.placeholder(str(ti_id), conn_id)


def body_of(request_id: str = "req_1", status: str = "OK", **extra: Any) -> bytes:
    payload = {"request_id": request_id, "status": status, "payload": {"images": []}, "error": None, **extra}
    return json.dumps(payload).encode()


async def deliver(
    client: httpx.AsyncClient,
    ti_id: uuid.UUID | str,
    body: bytes,
    secret: str = OLD_SECRET,
    timestamp: int | None = None,
) -> httpx.Response:
    headers = {SIGNATURE_HEADER: sign(body, secret, timestamp), "Content-Type": "application/json"}
    return await client.post(delivery_path(str(ti_id)), content=body, headers=headers)


def stored(ti_id: uuid.UUID) -> dict[str, Any] | None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    ti = ti_row(ti_id)
    with create_session() as session:
        row = session.query(XComModel).filter_by(
            dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index, key="clipia_webhook"
        )
        return mailbox.load(row.one().value)


async def test_delivery_to_a_deferred_task_is_stored_and_resumes_it(client, make_ti) -> None:
    from airflow.sdk.serde import deserialize

    ti_id = make_ti("deferred", mailbox=waiting(make_ti_id := None) if make_ti_id else None)
    await _set_mailbox(ti_id)
    answer = await deliver(client, ti_id, body_of("req_ok"))
    assert (answer.status_code, answer.json()) == (200, {"result": "accepted"})
    box = stored(ti_id)
    assert box is not None
    assert (box["state"], box["request_id"], box["status"]) == ("delivered", "req_ok", "OK")
    ti = ti_row(ti_id)
    assert (ti.state, ti.trigger_id) == ("scheduled", None)
    event = deserialize(ti.next_kwargs)["event"]
    assert event["status"] == "success"
    assert event["job_id"] == "req_ok"
    assert event["via"] == "push"


async def _set_mailbox(ti_id: uuid.UUID, value: dict[str, Any] | None = None) -> None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    ti = ti_row(ti_id)
    with create_session() as session:
        XComModel.set(
            "clipia_webhook",
            value or waiting(ti_id),
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            map_index=ti.map_index,
            serialize=False,
            session=session,
        )
