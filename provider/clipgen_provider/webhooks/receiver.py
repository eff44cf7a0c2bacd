"""The webhook receiver: a FastAPI app the provider's plugin mounts on every Airflow API server.

``POST {prefix}/clipia/deliveries/{ti_id}`` takes one Clipia delivery for the task instance *try*
``ti_id`` (Airflow 3 gives every try its own UUID). Airflow applies no authentication to plugin
apps, so the HMAC signature is the only gate. In order, the receiver:

1. reads the body, refusing (413) as soon as it grows past ``max_body_bytes``, before it is all
   read, and refuses (401) a request without a well-formed signature header, before any lookup;
2. finds the try and its mailbox; an unknown id, an earlier try, or a try not waiting for a
   webhook is answered 2xx ``ignored`` (retrying could never help);
3. verifies the signature over the raw bytes with every ``webhook_secrets`` of the connection
   named in the mailbox (rotation), within the tolerance window: 401 ``rejected`` otherwise;
4. in ONE transaction, locks the task instance, replaces the placeholder by the delivery's digest
   only if it is still the placeholder (first write wins) and, if the task is DEFERRED, resumes
   it; commits; only then answers 2xx ``accepted`` (a second copy: 2xx ``duplicate``);
5. answers 503 on any database failure, so the sender retries and nothing is lost.

A task that deferred less than :func:`~clipgen_provider.webhooks.mailbox.resume_settle_seconds`
ago is resumed when that time is up, by a background task of this API server (should the server
stop first, the trigger finds the stored delivery in the mailbox).

Answers carry only ``{"result": ...}``: no secret, signature or internal detail ever leaves,
and none is logged. Each one is counted in the metric ``clipgen.webhook.deliveries.<result>``.
The app has no docs or OpenAPI pages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal
from uuid import UUID

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from clipgen_provider.metrics import count_webhook_delivery
from clipgen_provider.webhooks import _airflow_internals as db
from clipgen_provider.webhooks import mailbox
from clipgen_provider.webhooks.addressing import DELIVERY_PATH
from clipgen_provider.webhooks.signature import (
    DEFAULT_TOLERANCE_SECONDS,
    SIGNATURE_HEADER,
    parse_header,
    verify,
)

log = logging.getLogger(__name__)

#: largest delivery body accepted; Clipia deliveries carry a digest and media URLs, a few KB
DEFAULT_MAX_BODY_BYTES = 256 * 1024

Result = Literal["accepted", "duplicate", "ignored", "rejected", "too_large", "invalid", "unavailable"]
_STATUS: dict[Result, int] = {
    "accepted": 200,
    "duplicate": 200,
    "ignored": 200,
    "rejected": 401,
    "too_large": 413,
    "invalid": 400,
    "unavailable": 503,
}


def connection_secrets(conn_id: str) -> list[str]:
    """The ``webhook_secrets`` of the ``clipia`` connection ``conn_id`` (every one is accepted)."""
    from clipgen_provider.hooks.clipia import ClipiaHook

    return ClipiaHook(conn_id).webhook_secrets


class _TooLarge(Exception):
    """The body grew past the limit."""


async def _read_body(request: Request, limit: int) -> bytes:
    """Read the raw body, stopping as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(result: Result) -> JSONResponse:
    count_webhook_delivery(result)
    return JSONResponse({"result": result}, status_code=_STATUS[result])


def _standing(value: Any, ti_id: str) -> Literal["waiting", "delivered", "ignored"]:
    """Where the mailbox of try ``ti_id`` stands: waiting, already delivered, or not this try's."""
    box = mailbox.load(value)
    if box is None or box["ti_id"] != ti_id:
        return "ignored"
    return "waiting" if box["state"] == mailbox.WAITING else "delivered"


class DeliveryDesk:
    """Verifies and stores deliveries, and resumes the tasks waiting for them.

    Its database work blocks, so the app calls it in worker threads.
    """

    def __init__(
        self, secrets_for: Callable[[str], Sequence[str]], tolerance_seconds: int, settle_seconds: float
    ) -> None:
        self.secrets_for = secrets_for
        self.tolerance_seconds = tolerance_seconds
        self.settle_seconds = settle_seconds

    def handle(self, ti_id: UUID, body: bytes, header: str) -> tuple[Result, float | None]:
        """Verify and store one delivery; return the answer and, if due later, when to resume."""
        try:
            with db.session_scope() as session:
                ti = db.task_instance(session, ti_id)
                snapshot = db.read_xcom(session, ti, mailbox.MAILBOX_KEY) if ti is not None else None
            box = mailbox.load(snapshot.value) if snapshot is not None else None
            standing = _standing(box, str(ti_id))
            if box is None or standing == "ignored":
                log.info("Clipia delivery for task instance try %s ignored: it waits for none.", ti_id)
                return "ignored", None
            if not self._verified(body, header, str(box.get("conn_id"))):
                log.warning("Clipia delivery for task instance try %s rejected: bad signature.", ti_id)
                return "rejected", None
            if standing == "delivered":
                return "duplicate", None
            try:
                digest = mailbox.delivered(box, body)
            except mailbox.DeliveryError as err:
                log.warning("Signed Clipia delivery for try %s is malformed: %s", ti_id, err)
                return "invalid", None
            return self._store(ti_id, digest)
        except db.DatabaseError:
            log.exception("Clipia delivery for task instance try %s not stored; the sender retries.", ti_id)
            return "unavailable", None

    def _verified(self, body: bytes, header: str, conn_id: str) -> bool:
        try:
            secrets = list(self.secrets_for(conn_id))
        except Exception as err:  # a missing or broken connection must reject, not crash
            log.error("Cannot read webhook secrets of connection %r: %s", conn_id, type(err).__name__)
            return False
        if not secrets:
            log.error("Connection %r has no webhook_secrets: every Clipia delivery is rejected.", conn_id)
            return False
        return verify(body, header, secrets, tolerance_seconds=self.tolerance_seconds)

    def _store(self, ti_id: UUID, digest: dict[str, Any]) -> tuple[Result, float | None]:
        """Write the digest if the placeholder is still there; resume a settled deferred task."""
        resume_at: float | None = None
        with db.session_scope() as session:
            ti = db.task_instance(session, ti_id, lock=True)
            snapshot = db.read_xcom(session, ti, mailbox.MAILBOX_KEY) if ti is not None else None
            if ti is None or snapshot is None:
                return "ignored", None
            standing = _standing(snapshot.value, str(ti_id))
            if standing != "waiting":
                return ("duplicate" if standing == "delivered" else "ignored"), None
            if not db.compare_and_set_xcom(session, ti, mailbox.MAILBOX_KEY, snapshot, digest):
                return "duplicate", None
            deferred_at = db.deferred_since(session, ti)
            if deferred_at is not None:
                resume_at = deferred_at + self.settle_seconds
                if time.time() >= resume_at:
                    db.resume_if_deferred(session, ti, mailbox.event_from_delivery(digest, "push"))
                    resume_at = None
        log.info(
            "Clipia delivery for request %s stored for task instance try %s (%s).",
            digest["request_id"],
            ti_id,
            "not deferred yet" if deferred_at is None else "resumed" if resume_at is None else "resume due",
        )
        return "accepted", resume_at

    def resume_stored(self, ti_id: UUID) -> bool:
        """Resume the try with the delivery stored in its mailbox, if it still waits; True if so."""
        with db.session_scope() as session:
            ti = db.task_instance(session, ti_id, lock=True)
            snapshot = db.read_xcom(session, ti, mailbox.MAILBOX_KEY) if ti is not None else None
            box = mailbox.load(snapshot.value) if snapshot is not None else None
            if ti is None or box is None or _standing(box, str(ti_id)) != "delivered":
                return False
            return db.resume_if_deferred(session, ti, mailbox.event_from_delivery(box, "push"))


class _LaterResumes:
    """Background tasks resuming tasks that deferred too recently to be resumed at once."""

    def __init__(self, desk: DeliveryDesk) -> None:
        self.desk = desk
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, ti_id: UUID, resume_at: float) -> None:
        task = asyncio.get_running_loop().create_task(self._resume(ti_id, resume_at))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resume(self, ti_id: UUID, resume_at: float) -> None:
        await asyncio.sleep(max(resume_at - time.time(), 0.0))
        try:
            resumed = await run_in_threadpool(self.desk.resume_stored, ti_id)
        except db.DatabaseError:
            log.exception("Could not resume task instance try %s; its trigger will.", ti_id)
            return
        if resumed:
            log.info("Task instance try %s resumed with its stored Clipia delivery.", ti_id)


def create_receiver_app(
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    settle_seconds: float | None = None,
    secrets_for: Callable[[str], Sequence[str]] = connection_secrets,
) -> FastAPI:
    """Build the receiver app (the plugin mounts it at ``addressing.URL_PREFIX``).

    ``settle_seconds`` defaults to :func:`~clipgen_provider.webhooks.mailbox.resume_settle_seconds`.
    """
    app = FastAPI(title="Clipgen webhook receiver", docs_url=None, redoc_url=None, openapi_url=None)
    settle = mailbox.resume_settle_seconds() if settle_seconds is None else settle_seconds
    desk = DeliveryDesk(secrets_for, tolerance_seconds, settle)
    later = _LaterResumes(desk)

    @app.post(DELIVERY_PATH, include_in_schema=False)
    async def receive_clipia_delivery(ti_id: str, request: Request) -> JSONResponse:
        try:
            body = await _read_body(request, max_body_bytes)
        except _TooLarge:
            return _answer("too_large")
        header = request.headers.get(SIGNATURE_HEADER)
        if header is None or parse_header(header) is None:
            return _answer("rejected")
        try:
            try_id = UUID(ti_id)
        except ValueError:
            return _answer("ignored")
        result, resume_at = await run_in_threadpool(desk.handle, try_id, body, header)
        if resume_at is not None:
            later.schedule(try_id, resume_at)
        return _answer(result)

    return app
