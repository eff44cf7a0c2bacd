"""Every Airflow-internal API the webhook receiver uses, and nothing else.

The receiver runs inside Airflow's API server and must reach the metadata database the way
Airflow's own human-in-the-loop route does (``api_fastapi/core_api/routes/public/hitl.py`` in
3.3): lock the task instance row, change the waiting record, and resume the deferred task with
``airflow.models.trigger.handle_event_submit``. None of that is public API, so it is gathered
here, checked against Airflow 3.3.2 by ``tests/unit/test_webhook_airflow_internals.py``: when a
new Airflow version moves or changes one of these, this module (and its tests) break, loudly,
and nothing else does.

Used, and why:

* ``airflow.utils.session.create_session``: one transaction per step, committed before the
  receiver answers (so a 2xx means the delivery is durable).
* ``airflow.models.taskinstance.TaskInstance``: find a task instance *try* by its ``id`` (a new
  UUID per try since Airflow 3) and lock its row (``with_for_update(of=TaskInstance)``) before
  touching its mailbox, in the same order as the HITL route, so a resume racing the scheduler or
  a task clear cannot deadlock or be overwritten.
* ``airflow.models.xcom.XComModel``: read the mailbox row and replace it with a compare-and-set
  on its ``timestamp``, so of two concurrent deliveries (two API servers, SQLite without row
  locks) exactly one wins.
* ``airflow.models.trigger.Trigger.created_date``: when the task deferred (the execution API
  creates the trigger row in the deferral's transaction), to hold a resume back until the
  deferring worker is surely gone (see ``mailbox.resume_settle_seconds``).
* ``airflow.models.trigger.handle_event_submit`` and ``airflow.triggers.base.TriggerEvent``:
  what the HITL route calls to resume a DEFERRED task at once: it stores the event in
  ``next_kwargs``, clears ``trigger_id`` and sets the state to SCHEDULED; the triggerer then
  drops the now-unused trigger and a later trigger event for it is a no-op.
* ``XComModel.set``'s signature: only Airflow 3.1's lacks ``serialize``; 3.1 keeps each XCom
  value as JSON text inside the JSON column, so this module decodes on read and encodes on write
  there.
* ``TaskInstance.id``'s column type: a UUID since Airflow 3.2, a 36-character string in 3.1.
* ``sqlalchemy.exc.SQLAlchemyError``: any database failure, answered 503 so the sender retries.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from airflow.models.taskinstance import TaskInstance
from airflow.models.trigger import Trigger, handle_event_submit
from airflow.models.xcom import XComModel
from airflow.triggers.base import TriggerEvent
from airflow.utils.session import create_session
from airflow.utils.state import TaskInstanceState
from sqlalchemy import Uuid, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

#: any failure of the metadata database
DatabaseError = SQLAlchemyError

__all__ = [
    "DatabaseError",
    "Session",
    "TaskInstance",
    "XComSnapshot",
    "compare_and_set_xcom",
    "deferred_since",
    "read_xcom",
    "resume_if_deferred",
    "session_scope",
    "task_instance",
]


#: Airflow 3.1 keys task instances by the text of their UUID, 3.2 and later by the UUID itself
_TI_ID_IS_UUID = isinstance(TaskInstance.__table__.c.id.type, Uuid)
#: Airflow 3.1 stores an XCom value as its JSON text; 3.2 and later store the value itself
_XCOM_VALUE_IS_TEXT = "serialize" not in inspect.signature(XComModel.set).parameters


def decode_xcom_value(value: Any) -> Any:
    """An XCom value as its row holds it: the value itself (3.2+), or the JSON text 3.1 stores."""
    return json.loads(value) if _XCOM_VALUE_IS_TEXT and isinstance(value, str) else value


@contextmanager
def session_scope() -> Iterator[Session]:
    """One metadata-database transaction: committed when the block ends, rolled back on error."""
    with create_session() as session:
        yield session


def task_instance(session: Session, ti_id: UUID, *, lock: bool = False) -> TaskInstance | None:
    """The *current* try of a task instance with this id, or None (unknown, or an earlier try).

    With ``lock``, its row stays locked until the transaction ends (where the database has row
    locks; SQLite serialises writers instead).
    """
    key: UUID | str = ti_id if _TI_ID_IS_UUID else str(ti_id)
    if lock:
        return session.get(TaskInstance, key, with_for_update={"of": TaskInstance})
    return session.get(TaskInstance, key)


@dataclass(frozen=True)
class XComSnapshot:
    """An XCom row as read: its value and the timestamp a compare-and-set is conditioned on."""

    value: Any
    timestamp: datetime


def _xcom_row(ti: TaskInstance, key: str) -> Any:
    return (
        XComModel.dag_id == ti.dag_id,
        XComModel.task_id == ti.task_id,
        XComModel.run_id == ti.run_id,
        XComModel.map_index == ti.map_index,
        XComModel.key == key,
    )


def read_xcom(session: Session, ti: TaskInstance, key: str) -> XComSnapshot | None:
    """The XCom ``key`` of ``ti`` as stored in the database (not via any custom backend)."""
    row = session.execute(select(XComModel.value, XComModel.timestamp).where(*_xcom_row(ti, key))).first()
    if row is None:
        return None
    return XComSnapshot(decode_xcom_value(row.value), row.timestamp)


def compare_and_set_xcom(
    session: Session, ti: TaskInstance, key: str, expected: XComSnapshot, value: Any
) -> bool:
    """Replace the XCom's value only if it is still the row ``expected`` was read from.

    True when this call won; False when someone else changed (or removed) it in between.
    """
    result = session.execute(
        update(XComModel)
        .where(*_xcom_row(ti, key), XComModel.timestamp == expected.timestamp)
        .values(
            value=json.dumps(value) if _XCOM_VALUE_IS_TEXT else value,
            timestamp=datetime.now(tz=timezone.utc),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def deferred_since(session: Session, ti: TaskInstance) -> float | None:
    """UNIX time at which ``ti`` deferred, or None when it is not DEFERRED."""
    if ti.state != TaskInstanceState.DEFERRED:
        return None
    created = session.scalar(select(Trigger.created_date).where(Trigger.id == ti.trigger_id))
    return created.timestamp() if created is not None else 0.0


def resume_if_deferred(session: Session, ti: TaskInstance, payload: dict[str, Any]) -> bool:
    """Resume ``ti`` with the trigger event ``payload`` if it is DEFERRED; True if it was.

    Exactly what Airflow's HITL route does for a parked task: ``execute_complete`` then runs with
    ``event=payload`` as soon as the scheduler queues the task, without waiting for the trigger.
    """
    if ti.state != TaskInstanceState.DEFERRED:
        return False
    handle_event_submit(TriggerEvent(payload), task_instance=ti, session=session)
    return True
