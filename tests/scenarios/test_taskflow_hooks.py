"""Scenario 7: TaskFlow tasks using ClipiaHook and ClipwiseHook feed the operators."""

from __future__ import annotations

from tests.scenarios.harness import Scenario
from tests.scenarios.media_checks import media_kind, read_local

DAG_ID = "scenario_taskflow_hooks"
ESTIMATE = "/v1/models/seedance-2-fast-t2v/estimate"


def test_hook_tasks_choose_what_the_operators_generate(scenario: Scenario) -> None:
    run = scenario.run(DAG_ID)
    run.assert_succeeded()

    # 12 s (120 credits) is over the budget of 100, 8 s (80) fits: the operator got that input
    plan = run.value("plan_teaser")
    assert plan == {"prompt": "A cabin in the snow, drone shot", "duration": 8, "resolution": "480p"}
    assert len(scenario.clipia_calls("POST", ESTIMATE)) == 3  # two by the task, one for max_credits
    assert len(scenario.clipia_calls("POST", "/v1/models/seedance-2-fast-t2v")) == 1
    teaser = run.value("teaser")
    [stored] = teaser["stored_paths"]
    assert media_kind(read_local(stored)) == "mp4", stored

    # the presenter the task picked is the first the API offers for ugc_video, and it was accepted
    offered = scenario.clipwise_get("resources/avatars/", video_format="ugc_video")["items"]
    assert run.value("pick_presenter") == offered[0]["id"]
    assert run.value("ugc")["status"] == "completed"

    account = scenario.clipia_account()
    assert teaser["cost"] == account["usage_30d"]["credits_spent"] == 80
    assert run.value("spend_report") == {"charged": 80, "balance": account["balance"]["credits"]}
