"""ClipgenRunCostOperator at the end of a run where every kind of task instance occurs, against the
sandbox: a mapped Clipia generate with one item completed, one whose job fails and one refused over
budget; an unmapped one; one charged on a second connection whose task failed storing its media; a
Clipwise generation; an upstream-failed and a skipped task. The DAG is
``tests/integration/dags/run_cost_scenarios.py``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from clipgen_provider.hooks.clipia import ClipiaHook
from clipgen_provider.sandbox.server import SandboxServer
from tests.integration.dagrun import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

DAG_ID = "clipgen_run_cost_mixed"


def credits_spent(conn_id: str) -> float:
    """What the sandbox account behind ``conn_id`` was charged."""
    return float(ClipiaHook(conn_id).get_account()["usage_30d"]["credits_spent"])


def task_instances(dag_id: str) -> set[tuple[str, int, str]]:
    """(task id, map index, state) of every task instance of the DAG's latest run, as Airflow records them."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
        assert run is not None
        return {(ti.task_id, ti.map_index, str(ti.state)) for ti in run.get_task_instances(session=session)}


def test_one_line_per_task_instance_and_the_total_is_what_the_accounts_were_charged(
    monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer, clipia_conn: str, tmp_path: Path
) -> None:
    second_key = f"clipia_test_{uuid.uuid4().hex}"
    for name, conn_type, key in (
        ("clipia_second", "clipia", second_key),
        ("clipwise_default", "clipwise", f"cw_test_{uuid.uuid4().hex}"),
    ):
        value = {"conn_type": conn_type, "host": sandbox.url, "password": key}
        monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}", json.dumps(value))
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the media folder should be")

    outcome = run_dag(DAG_ID, blocked_output=f"file://{blocker}/media")

    assert (outcome.task_states["run_cost"], outcome.tries["run_cost"]) == ("success", 1)
    report = outcome.value("run_cost")
    recorded = task_instances(DAG_ID) - {("run_cost", -1, "success")}
    assert {(x["task_id"], x["map_index"], x["state"]) for x in report["lines"]} == recorded
    assert len(report["lines"]) == len(recorded) == 8
    lines = {(x["task_id"], x["map_index"]): x for x in report["lines"]}

    completed, failed_job, over_budget = (lines["shots", index] for index in range(3))
    assert (completed["state"], completed["credits"], completed["job_status"]) == ("success", 4, "COMPLETED")
    assert (failed_job["state"], failed_job["credits"], failed_job["job_status"]) == ("failed", 0, "FAILED")
    assert failed_job["job_id"]
    assert (over_budget["state"], over_budget["credits"], over_budget["job_id"]) == ("failed", 0, None)
    assert "nothing submitted" in over_budget["note"]
    submits = sandbox.calls(api_key=clipia_conn, method="POST", path="/v1/models/nano-banana-2")
    assert len([call for call in submits if not call["path"].endswith("/estimate")]) == 2

    music, unstored = lines["music", -1], lines["unstored", -1]
    assert music["state"] == "success"
    assert music["credits"] > 0
    # read with the task's own connection: under clipia_default's key the request is unknown
    assert (unstored["state"], unstored["job_status"]) == ("failed", "COMPLETED")
    assert unstored["credits"] == credits_spent("clipia_second") > 0
    assert "COMPLETED and was charged" in unstored["note"]

    voice_over = lines["voice_over", -1]
    assert (voice_over["state"], voice_over["api"], voice_over["credits"]) == ("success", "clipwise", None)
    assert voice_over["job_id"] == outcome.value("voice_over")["generation_id"]
    assert "reports no price" in voice_over["note"]
    assert (lines["publish", -1]["state"], lines["publish", -1]["credits"]) == ("upstream_failed", 0)
    assert (lines["not_today", -1]["state"], lines["not_today", -1]["credits"]) == ("skipped", 0)

    assert report["total_credits"] == credits_spent("clipia_default") + credits_spent("clipia_second")
    assert report["total_credits"] == completed["credits"] + music["credits"] + unstored["credits"]
    assert report["uncounted"] == ["voice_over"]
    assert set(report["by_task"]) == {
        "shots[0]",
        "shots[1]",
        "shots[2]",
        "music",
        "unstored",
        "publish",
        "not_today",
    }
