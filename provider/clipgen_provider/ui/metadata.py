"""Every read of Airflow's metadata database about ONE task instance (the Media tab, the media route).

Read through Airflow's models the way Airflow's own UI routes do (like the webhook receiver, see
:mod:`clipgen_provider.webhooks._airflow_internals`), by the task instance's key, which Airflow
indexes (``ti_state_lkp``, ``idx_xcom_task_instance`` and the primary key of
``rendered_task_instance_fields``). XComs are read from the database as stored, never through a
custom XCom backend (whose objects the API server may not be able to reach).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from airflow.models.renderedtifields import RenderedTaskInstanceFields
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from sqlalchemy import select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class TaskInstanceKey:
    """Which task instance a request is about: ``map_index`` -1 for an unmapped task."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int


@dataclass(frozen=True)
class TaskInstanceFacts:
    """What the Media tab needs of the task instance row (its latest try)."""

    state: str | None
    try_number: int
    operator: str | None


def task_instance_facts(session: Session, key: TaskInstanceKey) -> TaskInstanceFacts | None:
    """The state, try number and operator name of the task instance, or None if there is none."""
    row = session.execute(
        select(
            TaskInstance.state,
            TaskInstance.try_number,
            TaskInstance.operator,
            TaskInstance.custom_operator_name,
        ).where(
            TaskInstance.dag_id == key.dag_id,
            TaskInstance.run_id == key.run_id,
            TaskInstance.task_id == key.task_id,
            TaskInstance.map_index == key.map_index,
        )
    ).first()
    if row is None:
        return None
    state = None if row.state is None else str(getattr(row.state, "value", row.state))
    return TaskInstanceFacts(state, int(row.try_number or 0), row.custom_operator_name or row.operator)


def xcoms(session: Session, key: TaskInstanceKey, keys: Iterable[str]) -> dict[str, Any]:
    """The task instance's XComs among ``keys`` (those it has). Airflow clears a task instance's
    XComs when a new try starts, so these are always the latest try's. A task's XComs reach the
    database through the Task SDK, which stores the value itself on every supported Airflow
    (3.1 keeps JSON text only for values written with ``XComModel.set``, as the webhook receiver
    does: see :func:`clipgen_provider.webhooks._airflow_internals.decode_xcom_value`)."""
    rows = session.execute(
        select(XComModel.key, XComModel.value).where(
            XComModel.dag_id == key.dag_id,
            XComModel.task_id == key.task_id,
            XComModel.run_id == key.run_id,
            XComModel.map_index == key.map_index,
            XComModel.key.in_(list(keys)),
        )
    )
    return {row.key: row.value for row in rows}


def rendered_fields(session: Session, key: TaskInstanceKey) -> dict[str, Any] | None:
    """The task instance's template fields as rendered for its latest try, or None if not stored."""
    value = session.scalar(
        select(RenderedTaskInstanceFields.rendered_fields).where(
            RenderedTaskInstanceFields.dag_id == key.dag_id,
            RenderedTaskInstanceFields.run_id == key.run_id,
            RenderedTaskInstanceFields.task_id == key.task_id,
            RenderedTaskInstanceFields.map_index == key.map_index,
        )
    )
    return dict(value) if isinstance(value, dict) else None
