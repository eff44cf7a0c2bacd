"""The Airflow internals the webhook receiver relies on, checked against a real metadata database.

If a new Airflow version renames, moves or changes one of them, these tests fail, and
``clipgen_provider/webhooks/_airflow_internals.py`` is the one file to fix. The database is a
real SQLite Airflow database (migrated once per session); task instances are made by the same
code paths the scheduler uses (serialized DAG, ``create_dagrun``).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clipgen_provider.webhooks import _airflow_internals as db
from tests.airflow_compat import decoded_next_kwargs, raw_xcom_set_kwargs

DAG_ID = "clipgen_webhook_unit"
TASK_ID = "wait"
KEY = "clipia_webhook"
RAW_XCOM = raw_xcom_set_kwargs()


def _database_path() -> Path:
    url = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    return Path(url.removeprefix("sqlite:///"))


def _is_migrated(path: Path) -> bool:
    if not path.exists():
        return False
    with sqlite3.connect(path) as conn:
        found = conn.execute("SELECT name FROM sqlite_master WHERE name = 'task_instance'").fetchone()
    return found is not None


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tests' SQLite metadata database, migrated, with one DAG (one task) serialized into it."""
    if not _is_migrated(_database_path()):
        airflow = str(Path(sys.executable).with_name("airflow"))
        subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True)
    folder = tmp_path_factory.mktemp("webhook_dags")
    (folder / "webhook_unit_dag.py").write_text(
        textwrap.dedent(
            f"""
            from datetime import datetime
            from airflow.sdk import DAG
            from airflow.providers.standard.operators.empty import EmptyOperator
            with DAG({DAG_ID!r}, schedule=None, start_date=datetime(2026, 1, 1)):
                EmptyOperator(task_id={TASK_ID!r})
            """
        )
    )
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.utils.session import create_session

    from tests.airflow_compat import bundle_dag_bag, sync_bag_to_db

    manager = DagBundlesManager()
    with create_session() as session:
        manager.sync_bundles_to_db(session=session)
    bundle = next(iter(manager.get_all_dag_bundles())).name  # the DAG row must name a known bundle
    sync_bag_to_db(bundle_dag_bag(folder, bundle), bundle, None)
    return _database_path()


@pytest.fixture
def make_ti(airflow_db: Path) -> Callable[..., uuid.UUID]:
    """Create a new DAG run; return the id of its task instance, put in ``state``.

    A DEFERRED one also gets a trigger (created ``deferred_ago`` seconds ago) and ``next_method``,
    as ``self.defer()`` would give it.
    ``mailbox`` (a value, or a function of the new task instance id) is stored as its
    ``clipia_webhook`` XCom the way the Execution API stores it.
    """
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.trigger import Trigger
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    def make(state: str = "running", *, mailbox: Any = None, deferred_ago: float = 60.0) -> uuid.UUID:
        from datetime import datetime, timedelta, timezone

        with create_session() as session:
            dag = SerializedDagModel.get_dag(DAG_ID, session=session)
            assert dag is not None
            run = dag.create_dagrun(
                run_id=f"run_{uuid.uuid4().hex}",
                logical_date=None,
                data_interval=None,
                run_after=datetime.now(tz=timezone.utc),
                run_type=DagRunType.MANUAL,
                triggered_by=DagRunTriggeredByType.TEST,
                state=DagRunState.RUNNING,
                session=session,
            )
            (ti,) = run.get_task_instances(session=session)
            ti.try_number = 1
            ti.state = state
            if state == TaskInstanceState.DEFERRED:
                trigger = Trigger(
                    classpath="clipgen_provider.triggers.clipia.ClipiaRequestTrigger",
                    kwargs={},
                    created_date=datetime.now(tz=timezone.utc) - timedelta(seconds=deferred_ago),
                )
                session.add(trigger)
                session.flush()
                ti.trigger_id = trigger.id
                ti.next_method = "execute_complete"
                ti.next_kwargs = {}
            if mailbox is not None:
                XComModel.set(
                    KEY,
                    mailbox(ti.id) if callable(mailbox) else mailbox,
                    dag_id=ti.dag_id,
                    task_id=ti.task_id,
                    run_id=ti.run_id,
                    map_index=ti.map_index,
                    session=session,
                    **RAW_XCOM,
                )
            return ti.id

    return make


def start_next_try(ti_id: uuid.UUID) -> uuid.UUID:
    """Move a task instance to its next try the way the scheduler does; return the new try's id."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = session.get(TaskInstance, ti_id)
        assert ti is not None
        ti.prepare_db_for_next_try(session)
        ti.try_number += 1
        return ti.id


def ti_row(ti_id: uuid.UUID) -> Any:
    """A fresh, detached look at a task instance."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = session.get(TaskInstance, ti_id)
        assert ti is not None
        session.expunge(ti)
        return ti


def current_try(session: db.Session, ti_id: uuid.UUID, *, lock: bool = False) -> db.TaskInstance:
    """``db.task_instance`` of a try the test made and knows to be current."""
    ti = db.task_instance(session, ti_id, lock=lock)
    assert ti is not None
    return ti


def test_task_instance_finds_the_current_try_only(make_ti) -> None:
    first = make_ti()
    with db.session_scope() as session:
        found = db.task_instance(session, first)
        assert found is not None
        assert found.id == first
        assert db.task_instance(session, uuid.uuid4()) is None
    second = start_next_try(first)
    assert second != first, "Airflow must give every try its own id: the delivery URL relies on it"
    with db.session_scope() as session:
        assert db.task_instance(session, first) is None
        found = db.task_instance(session, second, lock=True)
        assert found is not None
        assert found.id == second


def test_read_xcom_returns_the_stored_json_or_none(make_ti) -> None:
    with_box = make_ti(mailbox={"v": 1, "state": "waiting", "ti_id": "x", "conn_id": "c"})
    without = make_ti()
    with db.session_scope() as session:
        snapshot = db.read_xcom(session, current_try(session, with_box), KEY)
        assert snapshot is not None
        assert snapshot.value == {"v": 1, "state": "waiting", "ti_id": "x", "conn_id": "c"}
        assert snapshot.timestamp is not None
        assert db.read_xcom(session, current_try(session, without), KEY) is None


def test_compare_and_set_lets_exactly_one_writer_win(make_ti) -> None:
    ti_id = make_ti(mailbox={"state": "waiting"})
    with db.session_scope() as session:
        ti = current_try(session, ti_id)
        seen_by_both = db.read_xcom(session, ti, KEY)
    assert seen_by_both is not None
    with db.session_scope() as session:
        ti = current_try(session, ti_id, lock=True)
        assert db.compare_and_set_xcom(session, ti, KEY, seen_by_both, {"state": "first"})
    with db.session_scope() as session:
        ti = current_try(session, ti_id, lock=True)
        assert not db.compare_and_set_xcom(session, ti, KEY, seen_by_both, {"state": "second"})
        final = db.read_xcom(session, ti, KEY)
        assert final is not None
        assert final.value == {"state": "first"}


def test_session_scope_rolls_back_on_error(make_ti) -> None:
    ti_id = make_ti(mailbox={"state": "waiting"})

    def write_then_fail() -> None:
        with db.session_scope() as session:
            ti = current_try(session, ti_id)
            seen = db.read_xcom(session, ti, KEY)
            assert seen is not None
            assert db.compare_and_set_xcom(session, ti, KEY, seen, {"state": "lost"})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_then_fail()
    with db.session_scope() as session:
        kept = db.read_xcom(session, current_try(session, ti_id), KEY)
        assert kept is not None
        assert kept.value == {"state": "waiting"}


def test_deferred_since_is_when_the_trigger_was_created(make_ti) -> None:
    import time

    deferred = make_ti("deferred", deferred_ago=30)
    running = make_ti("running")
    with db.session_scope() as session:
        since = db.deferred_since(session, current_try(session, deferred))
        assert since is not None
        assert abs(time.time() - 30 - since) < 5
        assert db.deferred_since(session, current_try(session, running)) is None


def test_resume_if_deferred_schedules_the_task_with_the_event(make_ti) -> None:
    ti_id = make_ti("deferred")
    assert ti_row(ti_id).trigger_id is not None
    payload = {"status": "success", "job_id": "req_1", "remote_status": "COMPLETED", "message": "m"}
    with db.session_scope() as session:
        assert db.resume_if_deferred(session, current_try(session, ti_id, lock=True), payload)
    ti = ti_row(ti_id)
    assert ti.state == "scheduled"
    assert ti.trigger_id is None
    assert ti.next_method == "execute_complete"
    assert decoded_next_kwargs(ti.next_kwargs) == {"event": payload}


@pytest.mark.parametrize("state", ["running", "success", "scheduled"])
def test_resume_if_deferred_leaves_other_states_alone(make_ti, state: str) -> None:
    ti_id = make_ti(state)
    with db.session_scope() as session:
        assert not db.resume_if_deferred(session, current_try(session, ti_id), {"status": "success"})
    ti = ti_row(ti_id)
    assert ti.state == state
    assert not ti.next_kwargs


def test_database_error_is_sqlalchemys_base_error() -> None:
    from sqlalchemy.exc import OperationalError

    assert issubclass(OperationalError, db.DatabaseError)
