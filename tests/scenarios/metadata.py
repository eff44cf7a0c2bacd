"""Read what a DAG run left in a scenario's SQLite metadata database, without importing Airflow.

``airflow dags test`` runs in a child process; afterwards the test opens that process's database
read-only and reads task instances, XComs (stored as JSON) and asset events. Plain SQL keeps the
test process free of Airflow's import cost, and these few columns are stable across 3.x.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TaskInstanceRow:
    """One task instance of a run: ``map_index`` is -1 for an unmapped task."""

    task_id: str
    map_index: int
    state: str | None
    try_number: int
    max_tries: int


@dataclass(frozen=True)
class AssetEventRow:
    """One asset event: the asset's name, the event's extra, and the task instance that emitted it."""

    asset_name: str
    extra: dict[str, Any]
    source_dag_id: str | None
    source_task_id: str | None
    source_map_index: int | None


class MetadataDb:
    """Queries over one metadata database file (opened read-only for each query)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
            return list(db.execute(sql, args))

    def latest_run(self, dag_id: str) -> tuple[str, str] | None:
        """``(run_id, state)`` of the DAG's newest run, or None if it has none."""
        rows = self._rows(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", dag_id
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstanceRow]:
        """Every task instance of the run, ordered by task and map index."""
        rows = self._rows(
            "SELECT task_id, map_index, state, try_number, max_tries FROM task_instance "
            "WHERE dag_id = ? AND run_id = ? ORDER BY task_id, map_index",
            dag_id,
            run_id,
        )
        return [TaskInstanceRow(*row) for row in rows]

    def xcoms(self, dag_id: str, run_id: str) -> dict[tuple[str, int, str], Any]:
        """``(task_id, map_index, key)`` → decoded value, for every XCom of the run."""
        rows = self._rows(
            "SELECT task_id, map_index, key, value FROM xcom WHERE dag_id = ? AND run_id = ?", dag_id, run_id
        )
        return {(task_id, map_index, key): _decode(value) for task_id, map_index, key, value in rows}

    def asset_events(self, asset_name: str) -> list[AssetEventRow]:
        """Every event on the asset named ``asset_name``, oldest first."""
        rows = self._rows(
            "SELECT asset.name, asset_event.extra, source_dag_id, source_task_id, source_map_index "
            "FROM asset_event JOIN asset ON asset.id = asset_event.asset_id "
            "WHERE asset.name = ? ORDER BY asset_event.id",
            asset_name,
        )
        return [AssetEventRow(name, _decode(extra) or {}, *source) for name, extra, *source in rows]

    def queued_asset_runs(self, target_dag_id: str) -> list[str]:
        """Names of the assets whose events queued a run of ``target_dag_id`` for the scheduler."""
        rows = self._rows(
            "SELECT asset.name FROM asset_dag_run_queue JOIN asset ON asset.id = asset_dag_run_queue.asset_id "
            "WHERE target_dag_id = ?",
            target_dag_id,
        )
        return [name for (name,) in rows]


def _decode(value: Any) -> Any:
    """A JSON column's value (SQLite hands JSON columns over as text)."""
    if isinstance(value, bytes | str):
        return json.loads(value)
    return value
