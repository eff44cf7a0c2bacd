"""Scenario 5: run cost over mapped, failed, upstream-failed and Clipwise task instances."""

from __future__ import annotations

from tests.scenarios.harness import Scenario

DAG_ID = "scenario_run_cost_mixed"


def test_one_line_per_task_instance_and_the_total_is_what_was_charged(scenario: Scenario) -> None:
    run = scenario.run(DAG_ID)
    run.assert_succeeded()  # Airflow judges a run by its leaves: here run_cost, which ran all_done
    assert run.states("product_shots") == {0: "success", 1: "failed", 2: "success"}, run.tail()
    assert run.ti("animate_shots").state == "upstream_failed", run.tail()
    cost_task = run.ti("run_cost")
    assert (cost_task.state, cost_task.try_number) == ("success", 1), run.tail()

    report = run.value("run_cost")
    lines = {(line["task_id"], line["map_index"]): line for line in report["lines"]}
    expected_instances = {
        (row.task_id, row.map_index): row.state for row in run.task_instances if row.task_id != "run_cost"
    }
    assert {key: line["state"] for key, line in lines.items()} == expected_instances, report["lines"]

    credits = {key: line["credits"] for key, line in lines.items()}
    assert credits == {
        ("product_shots", 0): 4,
        ("product_shots", 1): 0,  # FAILED requests are refunded
        ("product_shots", 2): 8,  # two images
        ("voice_over", -1): 2,
        ("explainer", -1): None,  # Clipwise reports no price
        ("animate_shots", -1): 0,  # never ran
    }, report["lines"]
    failed = lines["product_shots", 1]
    assert failed["job_id"] == run.value("product_shots", 1, key="request_id"), failed
    assert failed["job_status"] == "FAILED", failed
    assert "no price" in lines["explainer", -1]["note"], lines["explainer", -1]
    assert report["uncounted"] == ["explainer"], report

    # the failed shot was retried once (a new request, also failed): five requests, 14 credits
    account = scenario.clipia_account()
    assert account["usage_30d"]["requests"] == 5
    assert report["total_credits"] == account["usage_30d"]["credits_spent"] == 14
