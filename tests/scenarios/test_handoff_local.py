"""Scenario 2: Clipia → Clipwise through files stored on a local path (the pipeline of issue 13)."""

from __future__ import annotations

import hashlib
import re

from tests.scenarios.harness import Scenario
from tests.scenarios.media_checks import media_kind, read_local

DAG_ID = "scenario_handoff_local"
DATED = re.compile(r"/\d{4}-\d{2}-\d{2}/shots/[^/]+\.png$")


def test_stored_images_become_ugc_video_inputs_and_the_cost_adds_up(scenario: Scenario) -> None:
    run = scenario.run(DAG_ID)
    run.assert_succeeded()
    assert run.states("product_shots") == {0: "success", 1: "success", 2: "success"}, run.tail()
    assert run.states("ugc_videos") == {0: "success", 1: "success", 2: "success"}, run.tail()

    # two real PNGs per product under the dated folder
    first_images: list[bytes] = []
    for index in range(3):
        stored = run.value("product_shots", index)["stored_paths"]
        assert len(stored) == 2, stored
        for path in stored:
            assert DATED.search(path), path
            assert media_kind(read_local(path)) == "png", path
        first_images.append(read_local(stored[0]))

    # the first image of each product reached Clipwise byte for byte, as a product image
    uploaded = scenario.own_resources("product_images")
    assert sorted(item["sha256"] for item in uploaded) == sorted(
        hashlib.sha256(data).hexdigest() for data in first_images
    ), uploaded
    assert len(scenario.clipwise_calls("POST", "generations/")) == 3

    for index in range(3):
        result = run.value("ugc_videos", index)
        [stored] = result["stored_paths"]
        assert "/videos/" in stored, stored
        assert media_kind(read_local(stored)) == "mp4", stored

    # one cost line per task instance with its real map index; the total is what Clipia charged
    report = run.value("run_cost")
    assert (run.ti("run_cost").state, run.ti("run_cost").try_number) == ("success", 1), run.tail()
    lines = {(line["task_id"], line["map_index"]): line for line in report["lines"]}
    assert set(lines) == {(task, index) for task in ("product_shots", "ugc_videos") for index in range(3)}
    for index in range(3):
        shot = lines["product_shots", index]
        assert (shot["state"], shot["credits"]) == ("success", 8), shot
        assert shot["job_id"] == run.value("product_shots", index)["request_id"], shot
        video = lines["ugc_videos", index]
        assert video["credits"] is None, video
        assert "no price" in video["note"], video
    assert report["by_task"] == {f"product_shots[{index}]": 8 for index in range(3)}
    assert report["total_credits"] == scenario.credits_spent() == 24
