"""Scenario 1: mapped fan-out over both APIs with ``partial().expand()``."""

from __future__ import annotations

from tests.scenarios.harness import Scenario
from tests.scenarios.media_checks import media_kind, png_size, read_local

DAG_ID = "scenario_fanout_both_apis"
#: the aspect ratio each mapped product shot asked for, by map index (as in the DAG)
RATIOS = {0: (1, 1), 1: (16, 9), 2: (9, 16)}


def test_each_mapped_instance_generates_its_own_item_once(scenario: Scenario) -> None:
    run = scenario.run(DAG_ID)
    run.assert_succeeded()

    assert run.states("product_shots") == {0: "success", 1: "success", 2: "success"}, run.tail()
    assert run.states("explainers") == {0: "success", 1: "success"}, run.tail()
    assert all(row.try_number == 1 for row in run.task_instances), run.task_instances

    # one submit per mapped instance, each with its own idempotency key
    submits = scenario.clipia_calls("POST", "/v1/models/nano-banana-2")
    assert len({call["idempotency_key"] for call in submits}) == len(submits) == 3, submits
    starts = scenario.clipwise_calls("POST", "generations/")
    assert len({call["idempotency_key"] for call in starts}) == len(starts) == 2, starts

    # each shot is a real PNG in the dated folder, shaped by its own instance's input
    request_ids = set()
    for index, (wide, high) in RATIOS.items():
        result = run.value("product_shots", index)
        request_ids.add(result["request_id"])
        [stored] = result["stored_paths"]
        assert stored.startswith(scenario.media_dir.as_uri()), stored
        assert "/shots/" in stored, stored
        data = read_local(stored)
        assert media_kind(data) == "png", stored
        width, height = png_size(data)
        assert width * high == height * wide, (index, width, height)
    assert len(request_ids) == 3

    for index in (0, 1):
        result = run.value("explainers", index)
        assert result["status"] == "completed", result
        assert result["video_url"], result
        [stored] = result["stored_paths"]
        assert "/explainers/" in stored, stored
        assert media_kind(read_local(stored)) == "mp4", stored

    # what the tasks say they cost is what the account was charged
    costs = [run.value("product_shots", index)["cost"] for index in RATIOS]
    account = scenario.clipia_account()
    assert account["usage_30d"]["requests"] == 3
    assert sum(costs) == account["usage_30d"]["credits_spent"] == 12
