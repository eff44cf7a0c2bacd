"""Scenario 8: one mapped item over ``max_credits`` fails alone, before any submit; the others run."""

from __future__ import annotations

from tests.scenarios.harness import Scenario
from tests.scenarios.media_checks import media_kind, read_local

DAG_ID = "scenario_over_budget_batch"
SUBMIT = "/v1/models/seedance-2-fast-t2v"


def test_the_over_budget_item_fails_alone_without_a_submit_or_a_retry(scenario: Scenario) -> None:
    run = scenario.run(DAG_ID)
    assert run.state == "failed", run.tail()
    assert run.states("teasers") == {0: "success", 1: "failed", 2: "success"}, run.tail()

    # failed on its first try although three retries were allowed, and said why
    over = run.ti("teasers", 1)
    assert (over.try_number, over.max_tries) == (1, 3), over
    assert any("180" in line and "max_credits=60" in line for line in run.errors()), run.tail()

    # every item was estimated; only the two within budget were submitted
    assert len(scenario.clipia_calls("POST", SUBMIT + "/estimate")) == 3
    submits = scenario.clipia_calls("POST", SUBMIT)
    assert len(submits) == 2, submits
    assert run.value("teasers", 1, key="request_id") is None
    assert run.value("teasers", 1) is None

    costs = []
    for index in (0, 2):
        assert run.ti("teasers", index).try_number == 1
        result = run.value("teasers", index)
        [stored] = result["stored_paths"]
        assert media_kind(read_local(stored)) == "mp4", stored
        costs.append(result["cost"])
    assert costs == [40, 50]
    account = scenario.clipia_account()
    assert account["usage_30d"]["requests"] == 2
    assert sum(costs) == account["usage_30d"]["credits_spent"]
    assert sorted(path.name for path in scenario.media_dir.rglob("*.mp4")) == sorted(
        f"{run.value('teasers', index)['request_id']}-0.mp4" for index in (0, 2)
    )
