"""The mailbox through which a Clipia webhook reaches the task instance waiting for it.

A mailbox is one XCom, :data:`MAILBOX_KEY`, on the waiting task instance. The operator writes a
*waiting* placeholder for its try before it submits; the receiver (on an API server) turns it
into a *delivered* digest, first write wins; the trigger reads it. Its values are plain JSON:

``{"v": 1, "state": "waiting", "ti_id": "<task instance try id>", "conn_id": "clipia_default"}``

``{"v": 1, "state": "delivered", "ti_id": ..., "conn_id": ..., "request_id": "...",
"status": "OK" | "ERROR", "error": "<message>" | None, "received_at": <unix seconds>}``

Only a digest of the delivery is kept: the outputs are fetched by ``execute_complete``'s result
GET, so nothing an outsider could shape ends up in XCom beyond short, typed fields.

The mailbox is always read and written with :class:`airflow.sdk.BaseXCom` (never a configured
custom XCom backend): the receiver reads the row in the metadata database, so it must be there.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clipgen_provider.jobs import JobState, trigger_event

if TYPE_CHECKING:
    from airflow.sdk.types import RuntimeTaskInstanceProtocol

#: XCom key of the mailbox
MAILBOX_KEY = "clipia_webhook"
#: version of the value format
_VERSION = 1
WAITING = "waiting"
DELIVERED = "delivered"
#: longest error message kept from a delivery
_MAX_ERROR_CHARS = 500
#: longest request id accepted from a delivery
_MAX_ID_CHARS = 200
#: a scheduler loop or two, on top of the worker's exit detection (see :func:`resume_settle_seconds`)
_SCHEDULER_MARGIN_SECONDS = 3.0


class DeliveryError(ValueError):
    """A signed body that is not a Clipia delivery (no ``request_id``, unknown ``status``...)."""


@dataclass(frozen=True)
class MailboxRef:
    """Where a task instance's mailbox lives, plus the try it belongs to (plain JSON for triggers)."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int
    ti_id: str

    @classmethod
    def of(cls, ti: RuntimeTaskInstanceProtocol) -> MailboxRef:
        """The mailbox of the running try ``ti``."""
        map_index = -1 if ti.map_index is None else ti.map_index
        return cls(ti.dag_id, ti.task_id, ti.run_id, map_index, str(ti.id))

    def as_dict(self) -> dict[str, Any]:
        """The trigger-serializable form."""
        return {
            "dag_id": self.dag_id,
            "task_id": self.task_id,
            "run_id": self.run_id,
            "map_index": self.map_index,
            "ti_id": self.ti_id,
        }


def placeholder(ti_id: str, conn_id: str) -> dict[str, Any]:
    """The value a try writes before it submits: "waiting for a delivery addressed to ``ti_id``"."""
    return {"v": _VERSION, "state": WAITING, "ti_id": ti_id, "conn_id": conn_id}


def load(value: Any) -> dict[str, Any] | None:
    """Return a mailbox value as a dict, or None when ``value`` is not one (absent, foreign, garbled)."""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict) or value.get("v") != _VERSION:
        return None
    if value.get("state") not in (WAITING, DELIVERED) or not isinstance(value.get("ti_id"), str):
        return None
    return value


def is_waiting_for(value: Any, ti_id: str) -> bool:
    """True when ``value`` is the placeholder of the try ``ti_id``: the only state that accepts a write."""
    mailbox = load(value)
    return mailbox is not None and mailbox["state"] == WAITING and mailbox["ti_id"] == ti_id


def delivered(waiting: dict[str, Any], body: bytes, *, received_at: float | None = None) -> dict[str, Any]:
    """The mailbox value once ``body`` (a verified delivery) arrived; raise :class:`DeliveryError`.

    Keeps ``request_id``, ``status`` (``OK`` or ``ERROR``) and a bounded error message; unknown
    fields are ignored, as the contract asks of receivers.
    """
    try:
        data = json.loads(body)
    except ValueError as err:
        raise DeliveryError("the body is not JSON") from err
    if not isinstance(data, dict):
        raise DeliveryError("the body is not a JSON object")
    request_id = data.get("request_id")
    if not isinstance(request_id, str) or not 0 < len(request_id) <= _MAX_ID_CHARS:
        raise DeliveryError("the body has no usable request_id")
    status = data.get("status")
    if status not in ("OK", "ERROR"):
        raise DeliveryError("the body's status is neither OK nor ERROR")
    return {
        **waiting,
        "state": DELIVERED,
        "request_id": request_id,
        "status": status,
        "error": _error_text(data.get("error")) if status == "ERROR" else None,
        "received_at": time.time() if received_at is None else received_at,
    }


def _error_text(error: Any) -> str | None:
    """A short message from a delivery's ``error`` (a string or ``{code, message}``)."""
    if isinstance(error, dict):
        error = error.get("message") or error.get("code")
    if error is None:
        return None
    return str(error)[:_MAX_ERROR_CHARS]


def event_from_delivery(mailbox: dict[str, Any], via: str) -> dict[str, Any]:
    """The trigger event a delivered mailbox stands for, in the provider's one event schema.

    ``via`` says who noticed it (``push``: the receiver resumed the task; ``mailbox``: the trigger
    read it). ``remote_status`` is the delivery's own word (``COMPLETED`` for ``OK``, ``ERROR``
    otherwise: a webhook does not tell FAILED from CANCELED; the operator's result GET does).
    """
    ok = mailbox["status"] == "OK"
    request_id = str(mailbox["request_id"])
    state = JobState(
        job_id=request_id,
        status="COMPLETED" if ok else "ERROR",
        terminal=True,
        succeeded=ok,
        error=mailbox.get("error"),
    )
    message = f"Clipia request {request_id} ended {state.describe()} (webhook delivery, via {via})"
    return {**trigger_event(state, "success" if ok else "failed", request_id, message), "via": via}


def resume_settle_seconds() -> float:
    """How long after a task defers it is safe to resume it (receiver and trigger alike).

    The worker that ran ``defer()`` notices its task process has exited only at its next check,
    up to ``[workers] min_heartbeat_interval`` later, and the scheduler reads that exit one loop
    after. Resume the task before then and Airflow 3.3.2's scheduler takes that stale exit for
    the resumed run's and fails it ("task state changed externally"). So no resume happens
    earlier than this many seconds after the deferral (``docs/webhooks.md``, "Resume timing").
    """
    from airflow.providers.common.compat.sdk import conf

    return conf.getfloat("workers", "min_heartbeat_interval", fallback=5.0) + _SCHEDULER_MARGIN_SECONDS


# -- Task SDK side: the operator writes, the trigger reads ---------------------------------------
def push_placeholder(ti: RuntimeTaskInstanceProtocol, conn_id: str) -> MailboxRef:
    """Write this try's waiting placeholder (worker side, before the submit); return its address."""
    from airflow.sdk.bases.xcom import BaseXCom

    ref = MailboxRef.of(ti)
    BaseXCom.set(
        MAILBOX_KEY,
        placeholder(ref.ti_id, conn_id),
        dag_id=ref.dag_id,
        task_id=ref.task_id,
        run_id=ref.run_id,
        map_index=ref.map_index,
    )
    return ref


async def aread(ref: dict[str, Any]) -> dict[str, Any] | None:
    """Read a mailbox through the Task SDK (triggerer or worker); None when absent or foreign."""
    from airflow.sdk.bases.xcom import BaseXCom

    where = {
        "key": MAILBOX_KEY,
        "dag_id": ref["dag_id"],
        "task_id": ref["task_id"],
        "run_id": ref["run_id"],
        "map_index": ref["map_index"],
    }
    if hasattr(BaseXCom, "aget_one"):
        value = await BaseXCom.aget_one(**where)
    else:  # Airflow before 3.3: the sync read, off the event loop, as Airflow's own async lookups do
        from asgiref.sync import sync_to_async

        value = await sync_to_async(BaseXCom.get_one)(**where)
    mailbox = load(value)
    if mailbox is None or mailbox["ti_id"] != ref["ti_id"]:
        return None
    return mailbox
