"""The webhook receiver app, over ASGI, against a real SQLite metadata database and real HMAC.

What a delivery may do to a task instance is decided by these answers, so every branch of the
contract is exercised: accepted (and the deferred task resumed), duplicate, ignored (unknown try,
earlier try, not waiting), rejected (forged, stale, missing, no secrets), too large (while
streaming), invalid, and unavailable (a database that cannot take the write).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from clipgen_provider.webhooks import mailbox
from clipgen_provider.webhooks.addressing import URL_PREFIX, delivery_path
from clipgen_provider.webhooks.receiver import create_receiver_app
from clipgen_provider.webhooks.signature import SIGNATURE_HEADER, sign
from tests.airflow_compat import decoded_next_kwargs
from tests.unit import test_webhook_airflow_internals as metadata_db
from tests.unit.test_webhook_airflow_internals import start_next_try, ti_row

#: the real metadata database and task instance factory of the internals' tests
airflow_db = metadata_db.airflow_db
make_ti = metadata_db.make_ti

CONN_ID = "clipia_webhook_unit"
OLD_SECRET = "whsec_unit_old_0123456789"
NEW_SECRET = "whsec_unit_new_9876543210"
LIMIT = 4096


@pytest.fixture(autouse=True)
def connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``clipia`` connections the placeholders name: one with two secrets, one with none."""
    value: dict[str, Any] = {"conn_type": "clipia", "host": "http://127.0.0.1:9", "password": "k"}
    secrets = {"extra": {"webhook_secrets": f"{NEW_SECRET}, {OLD_SECRET}"}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps({**value, **secrets}))
    monkeypatch.setenv("AIRFLOW_CONN_CLIPIA_NO_SECRETS", json.dumps(value))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A client of the receiver mounted at its prefix, as the plugin mounts it on the API server."""
    api = Starlette(routes=[Mount(URL_PREFIX, create_receiver_app(max_body_bytes=LIMIT))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://api") as c:
        yield c


def waiting(ti_id: uuid.UUID) -> dict[str, Any]:
    return mailbox.placeholder(str(ti_id), CONN_ID)


def delivery(request_id: str = "req_1", status: str = "OK", **extra: Any) -> bytes:
    body = {"request_id": request_id, "status": status, "payload": {"images": []}, "error": None, **extra}
    return json.dumps(body).encode()


async def post(
    client: httpx.AsyncClient,
    ti_id: uuid.UUID | str,
    body: bytes,
    secret: str = OLD_SECRET,
    timestamp: int | None = None,
) -> tuple[int, Any]:
    headers = {SIGNATURE_HEADER: sign(body, secret, timestamp), "Content-Type": "application/json"}
    answer = await client.post(delivery_path(str(ti_id)), content=body, headers=headers)
    return answer.status_code, answer.json()


def stored(ti_id: uuid.UUID) -> dict[str, Any] | None:
    """The task instance's mailbox as it is in the database."""
    from clipgen_provider.webhooks import _airflow_internals as db

    with db.session_scope() as session:
        ti = db.task_instance(session, ti_id)
        snapshot = db.read_xcom(session, ti, mailbox.MAILBOX_KEY) if ti is not None else None
        return mailbox.load(snapshot.value) if snapshot is not None else None


# -- accepted -------------------------------------------------------------------------------------
async def test_delivery_to_a_deferred_task_is_stored_and_resumes_it(client, make_ti) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    assert await post(client, ti_id, delivery("req_ok")) == (200, {"result": "accepted"})
    box = stored(ti_id)
    assert box is not None
    assert (box["state"], box["request_id"], box["status"], box["conn_id"]) == (
        "delivered",
        "req_ok",
        "OK",
        CONN_ID,
    )
    ti = ti_row(ti_id)
    assert (ti.state, ti.trigger_id) == ("scheduled", None)
    event = cast("dict[str, Any]", decoded_next_kwargs(ti.next_kwargs))["event"]
    assert (event["status"], event["job_id"], event["remote_status"], event["via"]) == (
        "success",
        "req_ok",
        "COMPLETED",
        "push",
    )


async def test_error_delivery_resumes_with_a_failed_event(client, make_ti) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    body = delivery("req_bad", "ERROR", error={"code": "generation_failed", "message": "the model gave up"})
    assert await post(client, ti_id, body) == (200, {"result": "accepted"})
    event = cast("dict[str, Any]", decoded_next_kwargs(ti_row(ti_id).next_kwargs))["event"]
    assert (event["status"], event["job_id"], event["remote_status"]) == ("failed", "req_bad", "ERROR")
    box = stored(ti_id)
    assert box is not None
    assert box["error"] == "the model gave up"


async def test_a_task_that_just_deferred_is_resumed_once_settled(make_ti) -> None:
    from clipgen_provider.webhooks import _airflow_internals as db

    settle = 1.5
    api = Starlette(routes=[Mount(URL_PREFIX, create_receiver_app(settle_seconds=settle))])
    ti_id = make_ti("deferred", mailbox=waiting, deferred_ago=0)
    with db.session_scope() as session:
        deferred_ti = db.task_instance(session, ti_id)
        assert deferred_ti is not None
        deferred_at = db.deferred_since(session, deferred_ti)
    assert deferred_at is not None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://api") as client:
        assert await post(client, ti_id, delivery("req_fresh")) == (200, {"result": "accepted"})
        assert ti_row(ti_id).state == "deferred", "not resumed while the deferring worker may still exit"
        deadline = time.monotonic() + 10
        while ti_row(ti_id).state == "deferred" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    ti = ti_row(ti_id)
    assert ti.state == "scheduled"
    assert ti.scheduled_dttm.timestamp() >= deferred_at + settle - 0.05
    box = stored(ti_id)
    assert box is not None
    assert box["request_id"] == "req_fresh"


async def test_delivery_before_the_task_defers_is_kept_for_the_trigger(client, make_ti) -> None:
    ti_id = make_ti("running", mailbox=waiting)
    assert await post(client, ti_id, delivery("req_early")) == (200, {"result": "accepted"})
    box = stored(ti_id)
    assert box is not None
    assert box["request_id"] == "req_early"
    ti = ti_row(ti_id)
    assert ti.state == "running", "a running task is left alone: its trigger reads the mailbox"
    assert not ti.next_kwargs


@pytest.mark.parametrize("secret", [NEW_SECRET, OLD_SECRET])
async def test_every_listed_secret_is_accepted(client, make_ti, secret: str) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    assert await post(client, ti_id, delivery(), secret=secret) == (200, {"result": "accepted"})


async def test_unknown_fields_are_ignored_and_the_raw_bytes_are_verified(client, make_ti) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    raw = b'{ "status" : "OK",\n  "request_id":"req_raw", "new_field": [1, 2] }'
    assert await post(client, ti_id, raw) == (200, {"result": "accepted"})
    box = stored(ti_id)
    assert box is not None
    assert box["request_id"] == "req_raw"


# -- duplicate and ignored ------------------------------------------------------------------------
async def test_second_copy_is_a_duplicate_and_changes_nothing(client, make_ti) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    assert await post(client, ti_id, delivery("req_1")) == (200, {"result": "accepted"})
    first = stored(ti_id)
    next_kwargs = ti_row(ti_id).next_kwargs
    assert await post(client, ti_id, delivery("req_1")) == (200, {"result": "duplicate"})
    assert stored(ti_id) == first
    assert ti_row(ti_id).next_kwargs == next_kwargs


async def test_delivery_for_an_earlier_try_is_ignored(client, make_ti) -> None:
    first_try = make_ti("deferred", mailbox=waiting)
    second_try = start_next_try(first_try)
    assert await post(client, first_try, delivery()) == (200, {"result": "ignored"})
    box = stored(second_try)
    assert box is not None
    assert box["state"] == "waiting"


async def test_mailbox_of_another_try_is_not_touched(client, make_ti) -> None:
    ti_id = make_ti("deferred", mailbox=mailbox.placeholder(str(uuid.uuid4()), CONN_ID))
    assert await post(client, ti_id, delivery()) == (200, {"result": "ignored"})
    assert ti_row(ti_id).state == "deferred"


@pytest.mark.parametrize("ti_id", ["not-a-uuid", "0b5e6a8e-3c1d-4f7a-9a2b-6d4c8e1f2a3b"])
async def test_unknown_task_instance_is_ignored(client, airflow_db, ti_id: str) -> None:
    assert await post(client, ti_id, delivery()) == (200, {"result": "ignored"})


async def test_task_not_waiting_for_a_webhook_is_ignored(client, make_ti) -> None:
    ti_id = make_ti("deferred")
    assert await post(client, ti_id, delivery()) == (200, {"result": "ignored"})
    assert ti_row(ti_id).state == "deferred"


# -- rejected, too large, invalid -----------------------------------------------------------------
async def test_forged_signature_is_rejected_and_nothing_changes(client, make_ti) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    assert await post(client, ti_id, delivery(), secret="whsec_attacker") == (401, {"result": "rejected"})
    box = stored(ti_id)
    assert box is not None
    assert box["state"] == "waiting"
    assert ti_row(ti_id).state == "deferred"


async def test_stale_signature_is_rejected(client, make_ti) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    old = int(time.time()) - 3600
    assert await post(client, ti_id, delivery(), timestamp=old) == (401, {"result": "rejected"})
    box = stored(ti_id)
    assert box is not None
    assert box["state"] == "waiting"


async def test_body_changed_after_signing_is_rejected(client, make_ti) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    headers = {SIGNATURE_HEADER: sign(delivery("req_1"), OLD_SECRET)}
    answer = await client.post(delivery_path(str(ti_id)), content=delivery("req_2"), headers=headers)
    assert (answer.status_code, answer.json()) == (401, {"result": "rejected"})


@pytest.mark.parametrize("header", [None, "", "t=1", "v1=abc", "garbage"])
async def test_missing_or_malformed_signature_is_rejected(client, make_ti, header: str | None) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    headers = {SIGNATURE_HEADER: header} if header is not None else {}
    answer = await client.post(delivery_path(str(ti_id)), content=delivery(), headers=headers)
    assert (answer.status_code, answer.json()) == (401, {"result": "rejected"})


async def test_connection_without_secrets_rejects_everything(client, make_ti) -> None:
    ti_id = make_ti("deferred", mailbox=lambda ti: mailbox.placeholder(str(ti), "clipia_no_secrets"))
    assert await post(client, ti_id, delivery()) == (401, {"result": "rejected"})


async def test_oversized_body_is_refused_from_its_declared_length(client, make_ti) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    body = delivery(padding="x" * LIMIT)
    assert await post(client, ti_id, body) == (413, {"result": "too_large"})
    box = stored(ti_id)
    assert box is not None
    assert box["state"] == "waiting"


async def test_oversized_streamed_body_is_refused_before_it_is_all_read(client, make_ti) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):
            sent += 1
            yield b"x" * 1024

    headers = {SIGNATURE_HEADER: sign(b"irrelevant", OLD_SECRET)}
    answer = await client.post(delivery_path(str(ti_id)), content=chunks(), headers=headers)
    assert (answer.status_code, answer.json()) == (413, {"result": "too_large"})
    assert sent <= LIMIT // 1024 + 1, f"the receiver read {sent} KiB of a body limited to {LIMIT} bytes"


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"status": "OK"}', b'{"request_id": "r", "status": "MAYBE"}']
)
async def test_signed_body_that_is_not_a_delivery_is_invalid(client, make_ti, body: bytes) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    assert await post(client, ti_id, body) == (400, {"result": "invalid"})
    box = stored(ti_id)
    assert box is not None
    assert box["state"] == "waiting"


# -- database failure, secrecy, no docs -----------------------------------------------------------
async def test_locked_database_answers_503_then_the_retry_is_accepted(
    client, make_ti, airflow_db: Path
) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    blocker = sqlite3.connect(airflow_db, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database: reads work, writes wait
        assert await post(client, ti_id, delivery()) == (503, {"result": "unavailable"})
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    box = stored(ti_id)
    assert box is not None
    assert box["state"] == "waiting"
    assert ti_row(ti_id).state == "deferred"
    assert await post(client, ti_id, delivery()) == (200, {"result": "accepted"})


async def test_secrets_never_reach_answers_or_logs(client, make_ti, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ti_id = make_ti("deferred", mailbox=waiting)
    forged = await client.post(
        delivery_path(str(ti_id)), content=delivery(), headers={SIGNATURE_HEADER: sign(delivery(), "whsec_x")}
    )
    accepted = await client.post(
        delivery_path(str(ti_id)),
        content=delivery(),
        headers={SIGNATURE_HEADER: sign(delivery(), NEW_SECRET)},
    )
    assert (forged.status_code, accepted.status_code) == (401, 200)
    assert "rejected: bad signature" in caplog.text, "the receiver's log lines are captured here"
    assert "stored for task instance try" in caplog.text
    everything = forged.text + accepted.text + str(dict(forged.headers)) + caplog.text
    for secret in (OLD_SECRET, NEW_SECRET):
        assert secret not in everything
    assert "v1=" not in caplog.text, "signatures are not logged either"


@pytest.mark.parametrize("path", [f"{URL_PREFIX}/docs", f"{URL_PREFIX}/redoc", f"{URL_PREFIX}/openapi.json"])
async def test_no_docs_or_openapi_pages(client, path: str) -> None:
    assert (await client.get(path)).status_code == 404


async def test_only_post_is_served(client, make_ti) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    assert (await client.get(delivery_path(str(ti_id)))).status_code == 405
