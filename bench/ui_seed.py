"""Seed Airflow's metadata database with generation task instances, as a busy deployment has them.

Used by the UI benchmark (:mod:`bench.ui_gallery`, 100,000 generations) and the UI tests (a few):
rows are inserted with SQLAlchemy Core through Airflow's own tables, exactly the rows a run of
the provider's generate operators leaves (task instance, ``request_id``, ``return_value``,
``media_urls``, ``stored_paths`` XComs, rendered template fields), plus a plain task per run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Uuid, insert, select
from sqlalchemy.orm import Session

#: the models seeded: one generate task (mapped) and one plain task per run
GENERATE_TASK = "generate"
PLAIN_TASK = "publish"
MODELS = ("nano-banana-2", "seedance-2-fast-t2v", "suno-music")
_EXT = {
    "nano-banana-2": ("png", "image/png"),
    "seedance-2-fast-t2v": ("mp4", "video/mp4"),
    "suno-music": ("mp3", "audio/mpeg"),
}
_BATCH = 5_000


@dataclass(frozen=True)
class SeedPlan:
    """How many DAGs, runs per DAG and generations (map indexes) per run, spread over ``days``."""

    dags: int
    runs_per_dag: int
    generations_per_run: int
    days: int = 60
    prefix: str = "ui_seed"
    stored_every: int = 2  #: every n-th generation kept a stored copy (``output_path``)
    cost: float = 4.0

    @property
    def generations(self) -> int:
        """Generation task instances in all."""
        return self.dags * self.runs_per_dag * self.generations_per_run

    def dag_ids(self) -> list[str]:
        """The seeded DAGs' ids."""
        return [f"{self.prefix}_{index:03d}" for index in range(self.dags)]


def _batched(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _bundle(session: Session) -> str:
    from airflow.models.dagbundle import DagBundleModel

    name = session.scalar(select(DagBundleModel.name).limit(1))
    if name is None:
        session.add(DagBundleModel(name="ui_seed"))
        session.flush()
        name = "ui_seed"
    return str(name)


def seed(
    session: Session, plan: SeedPlan, *, now: datetime | None = None, bundle: str | None = None
) -> list[str]:
    """Insert ``plan``'s DAGs (in ``bundle``, default: any known bundle), runs, task instances and
    XComs; return the DAG ids. Generations end from ``now`` back over ``plan.days`` days."""
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel

    now = now or datetime.now(tz=timezone.utc)
    bundle = bundle or _bundle(session)
    # Airflow 3.1 keys task instances by the text of their UUID, 3.2 and later by the UUID itself
    ti_id: Any = (
        uuid.uuid4 if isinstance(TaskInstance.__table__.c.id.type, Uuid) else lambda: str(uuid.uuid4())
    )
    dag_ids = plan.dag_ids()
    session.execute(
        insert(DagModel.__table__),
        [
            {
                "dag_id": dag_id,
                "bundle_name": bundle,
                "max_active_tasks": 16,
                "max_consecutive_failed_dag_runs": 0,
                "has_task_concurrency_limits": False,
                "is_stale": False,
            }
            for dag_id in dag_ids
        ],
    )
    step = timedelta(days=plan.days) / max(plan.runs_per_dag, 1)
    runs: list[tuple[str, str, datetime]] = []
    for dag_id in dag_ids:
        for run in range(plan.runs_per_dag):
            ended = now - step * (plan.runs_per_dag - 1 - run) - timedelta(seconds=dag_ids.index(dag_id))
            runs.append((dag_id, f"seed__{run:06d}", ended))
    for batch in _batched(
        {"dag_id": d, "run_id": r, "run_type": "manual", "state": "success", "run_after": t, "start_date": t}
        for d, r, t in runs
    ):
        session.execute(insert(DagRun.__table__), batch)
    run_pk = {
        (d, r): pk
        for pk, d, r in session.execute(
            select(DagRun.id, DagRun.dag_id, DagRun.run_id).where(DagRun.dag_id.in_(dag_ids))
        )
    }

    def task_instances() -> Iterator[dict[str, Any]]:
        for dag_id, run_id, ended in runs:
            common = {
                "dag_id": dag_id,
                "run_id": run_id,
                "state": "success",
                "try_number": 1,
                "pool": "default_pool",
                "start_date": ended,
                "end_date": ended,
            }
            for index in range(plan.generations_per_run):
                yield {
                    **common,
                    "id": ti_id(),
                    "task_id": GENERATE_TASK,
                    "map_index": index,
                    "operator": "ClipiaGenerateOperator",
                    "custom_operator_name": "ClipiaGenerateOperator",
                }
            yield {
                **common,
                "id": ti_id(),
                "task_id": PLAIN_TASK,
                "map_index": -1,
                "operator": "PythonOperator",
                "custom_operator_name": "@task",
            }

    for batch in _batched(task_instances()):
        session.execute(insert(TaskInstance.__table__), batch)

    def xcoms_and_fields() -> Iterator[tuple[str, dict[str, Any]]]:
        number = 0
        for dag_id, run_id, ended in runs:
            for index in range(plan.generations_per_run):
                number += 1
                model = MODELS[number % len(MODELS)]
                ext, content_type = _EXT[model]
                job = f"{dag_id}-{run_id}-{index}"
                url = f"https://media.example/{job}.{ext}"
                key = {
                    "dag_run_id": run_pk[(dag_id, run_id)],
                    "dag_id": dag_id,
                    "run_id": run_id,
                    "task_id": GENERATE_TASK,
                    "map_index": index,
                    "timestamp": ended,
                }
                result = {
                    "request_id": job,
                    "status": "COMPLETED",
                    "model": model,
                    "cost": plan.cost,
                    "output": {"file": {"url": url, "content_type": content_type}},
                    "media_urls": [url],
                }
                stored = number % plan.stored_every == 0
                if stored:
                    result["stored_paths"] = [f"s3://bucket/media/{job}-0.{ext}"]
                yield "xcom", {**key, "key": "request_id", "value": job}
                yield "xcom", {**key, "key": "return_value", "value": result}
                yield "xcom", {**key, "key": "media_urls", "value": [url]}
                if stored:
                    yield "xcom", {**key, "key": "stored_paths", "value": result["stored_paths"]}
                yield (
                    "rtif",
                    {
                        "dag_id": dag_id,
                        "run_id": run_id,
                        "task_id": GENERATE_TASK,
                        "map_index": index,
                        "rendered_fields": {"model": model, "inputs": {"prompt": f"prompt {number}"}},
                    },
                )

    tables = {"xcom": XComModel, "rtif": RenderedTaskInstanceFields}
    pending: dict[str, list[dict[str, Any]]] = {"xcom": [], "rtif": []}
    for table, row in xcoms_and_fields():
        pending[table].append(row)
        if len(pending[table]) >= _BATCH:
            session.execute(insert(tables[table].__table__), pending[table])
            pending[table] = []
    for table, rows in pending.items():
        if rows:
            session.execute(insert(tables[table].__table__), rows)
    return dag_ids


def remove(session: Session, dag_ids: Sequence[str]) -> None:
    """Delete what :func:`seed` inserted for ``dag_ids`` (runs cascade to their rows)."""
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from sqlalchemy import delete

    for model in (XComModel, RenderedTaskInstanceFields, TaskInstance, DagRun, DagModel):
        session.execute(delete(model).where(model.dag_id.in_(list(dag_ids))))
