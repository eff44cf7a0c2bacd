"""The run-cost report: reading task instances (mapped or not, any state), one line each, a total.

The pure functions are tested on the values the Task SDK hands over; the operator on a stand-in
task instance answering ``get_task_states`` and ``xcom_pull`` the way Airflow's does, with the
Clipia API mocked by respx for the reads of failed tasks' requests.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import pytest
import respx
from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator
from clipgen_provider.operators.cost import (
    ClipgenRunCostOperator,
    describe,
    instance_states,
    request_line,
    result_line,
    state_line,
    summarize,
)
from clipgen_provider.results import RunCostReport

BASE = "https://api.clipia.ai"


# -- pure functions ---------------------------------------------------------------------------
def test_instance_states_reads_airflow_keys_for_one_task():
    assert instance_states("shots", {"shots_0": "success", "shots_2": "failed", "shots_10": None}) == {
        0: "success",
        2: "failed",
        10: None,
    }
    assert instance_states("single", {"single": "skipped"}) == {-1: "skipped"}
    # a task id ending in _<digits> is its own unmapped instance, not map index 1 of "gen"
    assert instance_states("gen_1", {"gen_1": "success"}) == {-1: "success"}
    assert instance_states("gen", {"gen_1": "success"}) == {1: "success"}
    assert instance_states("gen", {"gen_x": "success", "other": "failed"}) == {}


def test_instance_states_takes_enum_members():
    from airflow.utils.state import TaskInstanceState

    assert instance_states("t", {"t_3": TaskInstanceState.UPSTREAM_FAILED}) == {3: "upstream_failed"}


def test_result_lines_of_both_apis():
    clipia = result_line("img", 2, "success", {"request_id": "r1", "status": "COMPLETED", "cost": 4})
    assert clipia is not None
    assert (clipia["api"], clipia["job_id"], clipia["credits"], clipia["map_index"]) == (
        "clipia",
        "r1",
        4.0,
        2,
    )
    clipwise = result_line("ugc", -1, "success", {"generation_id": "gen_1", "status": "completed"})
    assert clipwise is not None
    assert (clipwise["api"], clipwise["job_id"], clipwise["credits"]) == ("clipwise", "gen_1", None)
    assert "reports no price" in clipwise["note"]


@pytest.mark.parametrize("value", [None, "r1", ["r1"], {"credits": 3, "warnings": []}, 10_000])
def test_values_that_are_not_generate_results_give_no_result_line(value):
    assert result_line("t", -1, "success", value) is None


@pytest.mark.parametrize("cost", ["4", True, None, {"credits": 4}])
def test_an_unexpected_cost_is_reported_not_counted(cost):
    line = result_line("img", -1, "success", {"request_id": "r1", "status": "COMPLETED", "cost": cost})
    assert line is not None
    assert line["credits"] is None
    assert "unexpected cost" in line["note"]


def test_a_failed_tasks_request_is_priced_from_clipias_answer():
    failed = request_line("img", 1, "failed", "r1", {"request_id": "r1", "status": "FAILED", "cost": 0})
    assert (failed["credits"], failed["job_status"]) == (0.0, "FAILED")
    assert "not charged" in failed["note"]
    stored_badly = request_line("img", 0, "failed", "r2", {"status": "COMPLETED", "cost": 4})
    assert (stored_badly["credits"], stored_badly["job_id"]) == (4.0, "r2")
    assert "COMPLETED and was charged; the task failed after it" in stored_badly["note"]
    running = request_line(
        "img", -1, "failed", "r3", {"request_id": "r3", "status": "IN_PROGRESS", "cost": 12}
    )
    assert running["credits"] == 12.0
    assert "12 credits reserved, charged when it completes" in running["note"]
    unreadable = request_line("img", -1, "failed", "r4", "Clipia HTTP 503: try later")
    assert unreadable["credits"] is None
    assert "could not read Clipia request r4 (Clipia HTTP 503: try later)" in unreadable["note"]


def test_state_lines():
    assert state_line("img", 2, "failed")["credits"] == 0.0
    assert "nothing submitted" in state_line("img", 2, "failed")["note"]
    for state in ("skipped", "upstream_failed", "removed"):
        line = state_line("img", -1, state)
        assert (line["credits"], line["state"]) == (0.0, state)
    assert state_line("img", -1, "running")["credits"] is None
    odd = state_line("pick", -1, "success", ["a.png"])
    assert odd["credits"] is None
    assert "a list" in odd["note"]


def test_summary_labels_totals_and_uncounted():
    lines = [
        result_line("shots", 0, "success", {"request_id": "a", "status": "COMPLETED", "cost": 4}),
        state_line("shots", 1, "failed"),
        result_line("shots", 3, "success", {"request_id": "b", "status": "COMPLETED", "cost": 2.5}),
        result_line("single", -1, "success", {"request_id": "c", "status": "COMPLETED", "cost": 8}),
        result_line("ugc", -1, "success", {"generation_id": "g"}),
    ]
    report = summarize([line for line in lines if line is not None])
    assert report["total_credits"] == 14.5
    assert report["by_task"] == {"shots[0]": 4.0, "shots[1]": 0.0, "shots[3]": 2.5, "single": 8.0}
    assert report["uncounted"] == ["ugc"]
    assert [(x["task_id"], x["map_index"]) for x in report["lines"]] == [
        ("shots", 0),
        ("shots", 1),
        ("shots", 3),
        ("single", -1),
        ("ugc", -1),
    ]


def test_a_request_two_tasks_name_is_counted_once_at_its_finished_read():
    submitted = result_line("submit", -1, "success", {"request_id": "r", "status": "IN_QUEUE", "cost": 6})
    sensed = result_line("sense", -1, "success", {"request_id": "r", "status": "COMPLETED", "cost": 5})
    assert submitted is not None
    assert sensed is not None
    report = summarize([submitted, sensed])
    assert report["total_credits"] == 5.0
    assert report["by_task"] == {"submit": 0.0, "sense": 5.0}
    assert "the same request as sense, counted there" in report["lines"][0]["note"]


def test_log_line():
    line = request_line("shots", 1, "failed", "r1", {"status": "FAILED", "cost": 0})
    assert describe(line) == "shots[1]: failed, 0 credits (Clipia request r1 ended FAILED: not charged)"
    assert describe(state_line("x", -1, "running")).startswith("x: running, cost unknown (")


# -- the operator over a stand-in task instance ----------------------------------------------
class FakeTaskInstance:
    """Answers the two Task SDK calls the operator makes, the way ``RuntimeTaskInstance`` does."""

    dag_id = "costs"
    run_id = "run_1"

    def __init__(self, states: dict[tuple[str, int], str | None], xcoms: dict[tuple[str, int, str], Any]):
        self.states = states
        self.xcoms = xcoms
        self.fail_xcom_for: set[str] = set()
        self.pulled: list[tuple[str, int, str]] = []
        self.states_error: Exception | None = None

    def get_task_states(self, dag_id: str, task_ids: list[str], run_ids: list[str]) -> dict[str, Any]:
        assert (dag_id, run_ids) == (self.dag_id, [self.run_id])
        if self.states_error is not None:
            raise self.states_error
        found = {
            task_id if index < 0 else f"{task_id}_{index}": state
            for (task_id, index), state in self.states.items()
            if task_id in task_ids
        }
        return {self.run_id: found} if found else {}

    def xcom_pull(self, task_ids: str, map_indexes: int, key: str) -> Any:
        self.pulled.append((task_ids, map_indexes, key))
        if task_ids in self.fail_xcom_for:
            raise ValueError("cannot deserialize this XCom")
        return self.xcoms.get((task_ids, map_indexes, key))


def pipeline() -> DAG:
    """Mapped and unmapped Clipia generates (one per connection), a Clipwise generate, the cost task."""
    with DAG("costs", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        shots = ClipiaGenerateOperator.partial(
            task_id="shots", model="nano-banana-2", clipia_conn_id="clipia_shots"
        ).expand(inputs=[{"prompt": "a"}, {"prompt": "b"}, {"prompt": "c"}])
        single = ClipiaGenerateOperator(
            task_id="single",
            model="nano-banana-2",
            inputs={"prompt": "d"},
            clipia_conn_id="{{ params.conn }}",
        )
        ugc = ClipwiseGenerateOperator(task_id="ugc", format="smart", prompt="e")
        [shots, single, ugc] >> ClipgenRunCostOperator(task_id="run_cost", trigger_rule="all_done")
    return dag


def cost_task(dag: DAG) -> ClipgenRunCostOperator:
    task = dag.get_task("run_cost")
    assert isinstance(task, ClipgenRunCostOperator)
    return task


def run_cost(dag: DAG, ti: FakeTaskInstance) -> RunCostReport:
    context: Any = {"ti": ti, "dag": dag, "params": {"conn": "clipia_single"}}
    return cost_task(dag).execute(context)


@pytest.fixture
def clipia_api(monkeypatch: pytest.MonkeyPatch):
    """Two Clipia connections to the mocked API, each with its own key."""
    for name in ("clipia_shots", "clipia_single"):
        value = {"conn_type": "clipia", "host": BASE, "password": f"clipia_test_{name}"}
        monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}", json.dumps(value))
    with respx.mock(base_url=BASE, assert_all_called=False, using="httpx") as router:
        yield router


def test_mapped_and_unmapped_upstreams_in_every_state(clipia_api):
    """The issue's crash: a mapped upstream next to others. Now one line per instance, real indexes."""
    clipia_api.get(
        "/v1/requests/r_failed", headers={"Authorization": "Bearer clipia_test_clipia_shots"}
    ).mock(return_value=httpx.Response(200, json={"request_id": "r_failed", "status": "FAILED", "cost": 0}))
    clipia_api.get(
        "/v1/requests/r_single", headers={"Authorization": "Bearer clipia_test_clipia_single"}
    ).mock(
        return_value=httpx.Response(200, json={"request_id": "r_single", "status": "COMPLETED", "cost": 8})
    )
    ti = FakeTaskInstance(
        states={
            ("shots", 0): "failed",
            ("shots", 1): "success",
            ("shots", 2): "failed",
            ("single", -1): "failed",
            ("ugc", -1): "success",
        },
        xcoms={
            ("shots", 0, "request_id"): "r_failed",
            ("shots", 1, "return_value"): {"request_id": "r_ok", "status": "COMPLETED", "cost": 4},
            ("shots", 1, "request_id"): "r_ok",
            ("single", -1, "request_id"): "r_single",
            ("ugc", -1, "return_value"): {"generation_id": "gen_1", "status": "completed"},
        },
    )
    report = run_cost(pipeline(), ti)
    assert [(x["task_id"], x["map_index"], x["state"], x["credits"]) for x in report["lines"]] == [
        ("shots", 0, "failed", 0.0),
        ("shots", 1, "success", 4.0),
        ("shots", 2, "failed", 0.0),
        ("single", -1, "failed", 8.0),
        ("ugc", -1, "success", None),
    ]
    assert report["total_credits"] == 12.0
    assert report["by_task"] == {"shots[0]": 0.0, "shots[1]": 4.0, "shots[2]": 0.0, "single": 8.0}
    assert report["uncounted"] == ["ugc"]
    assert "nothing submitted" in report["lines"][2]["note"]


def test_an_unmapped_expansion_that_never_ran_is_one_line(clipia_api):
    ti = FakeTaskInstance(
        states={("shots", -1): "upstream_failed", ("single", -1): "skipped", ("ugc", -1): "upstream_failed"},
        xcoms={},
    )
    report = run_cost(pipeline(), ti)
    assert [(x["task_id"], x["map_index"], x["state"]) for x in report["lines"]] == [
        ("shots", -1, "upstream_failed"),
        ("single", -1, "skipped"),
        ("ugc", -1, "upstream_failed"),
    ]
    assert report["total_credits"] == 0.0


def test_reads_that_fail_are_reported_and_the_task_does_not_fail(clipia_api):
    clipia_api.get("/v1/requests/r_gone").mock(
        return_value=httpx.Response(404, json={"error": {"code": "not_found", "message": "no such request"}})
    )
    ti = FakeTaskInstance(
        states={("shots", 0): "failed", ("single", -1): "success", ("ugc", -1): "success"},
        xcoms={("shots", 0, "request_id"): "r_gone", ("ugc", -1, "return_value"): ["not", "a", "result"]},
    )
    ti.fail_xcom_for.add("single")
    report = run_cost(pipeline(), ti)
    notes = {f"{x['task_id']}[{x['map_index']}]": x["note"] for x in report["lines"]}
    assert "could not read Clipia request r_gone" in notes["shots[0]"]
    assert "HTTP 404" in notes["shots[0]"]
    assert notes["single[-1]"] == "cost unknown: could not read its XCom (cannot deserialize this XCom)"
    assert "its XCom holds a list" in notes["ugc[-1]"]
    assert report["uncounted"] == ["shots[0]", "single", "ugc"]
    assert report["total_credits"] == 0.0


def test_task_states_that_cannot_be_read_are_reported(clipia_api):
    ti = FakeTaskInstance(states={}, xcoms={})
    ti.states_error = ConnectionError("supervisor went away")
    report = run_cost(pipeline(), ti)
    assert [x["note"] for x in report["lines"]] == [
        "cost unknown: could not read its task instances (supervisor went away)"
    ] * 3


def test_the_cost_connection_overrides_each_tasks_own(clipia_api):
    route = clipia_api.get(
        "/v1/requests/r1", headers={"Authorization": "Bearer clipia_test_clipia_single"}
    ).mock(return_value=httpx.Response(200, json={"request_id": "r1", "status": "COMPLETED", "cost": 3}))
    dag = pipeline()
    cost_task(dag).clipia_conn_id = "clipia_single"
    ti = FakeTaskInstance(states={("shots", 0): "failed"}, xcoms={("shots", 0, "request_id"): "r1"})
    report = run_cost(dag, ti)
    assert route.called
    assert report["by_task"] == {"shots[0]": 3.0}


def test_task_ids_naming_no_task_of_the_dag_fail_before_reading():
    dag = pipeline()
    cost_task(dag).task_ids = ["shots", "shot"]
    ti = FakeTaskInstance(states={}, xcoms={})
    with pytest.raises(AirflowFailException, match=r"\['shot'\] are not such tasks"):
        run_cost(dag, ti)


def test_only_keys_that_can_exist_are_read():
    """Tasks that never ran are not read; another kind of task is not asked for a job id."""
    from airflow.providers.standard.operators.empty import EmptyOperator

    dag = pipeline()
    with dag:
        EmptyOperator(task_id="notify") >> dag.get_task("run_cost")
    ti = FakeTaskInstance(
        states={
            ("notify", -1): "failed",
            ("shots", -1): "upstream_failed",
            ("single", -1): "skipped",
            ("ugc", -1): "removed",
        },
        xcoms={},
    )
    report = run_cost(dag, ti)
    assert ti.pulled == []
    assert [(x["task_id"], x["credits"]) for x in report["lines"]] == [
        ("notify", 0.0),
        ("shots", 0.0),
        ("single", 0.0),
        ("ugc", 0.0),
    ]


def test_without_the_dag_at_hand_both_job_id_keys_are_read(clipia_api):
    ti = FakeTaskInstance(states={("ugc", -1): "failed"}, xcoms={("ugc", -1, "generation_id"): "gen_7"})
    cost = ClipgenRunCostOperator(task_id="run_cost", task_ids=["ugc"])
    context: Any = {"ti": ti}
    report = cost.execute(context)
    assert ti.pulled == [("ugc", -1, "request_id"), ("ugc", -1, "generation_id")]
    (line,) = report["lines"]
    assert (line["api"], line["job_id"], line["credits"]) == ("clipwise", "gen_7", None)
