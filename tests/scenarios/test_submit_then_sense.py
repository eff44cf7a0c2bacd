"""Scenario 4: submit-only in one DAG (``wait_for_completion=False``), sensors in another."""

from __future__ import annotations

from tests.scenarios.harness import Scenario
from tests.scenarios.media_checks import media_kind, png_size, read_local


def test_one_dag_submits_and_another_waits_and_keeps_the_media(scenario: Scenario) -> None:
    submitted = scenario.run("scenario_submit_renders")
    submitted.assert_succeeded()
    request_id = submitted.value("submit_poster", key="request_id")
    generation_id = submitted.value("submit_teaser", key="generation_id")
    assert request_id, submitted.tail()
    assert generation_id, submitted.tail()
    assert submitted.value("submit_poster")["request_id"] == request_id
    assert submitted.value("submit_teaser")["generation_id"] == generation_id

    # submitted once each, then returned: no status poll, no result read, no download, no file
    assert len(scenario.clipia_calls("POST", "/v1/models/nano-banana-2")) == 2
    assert len(scenario.clipwise_calls("POST", "generations/")) == 1
    assert scenario.clipia_calls("GET", f"/v1/requests/{request_id}/status") == []
    assert scenario.clipia_calls("GET", f"/v1/requests/{request_id}") == []
    assert scenario.clipwise_calls("GET", f"generations/{generation_id}/") == []
    assert scenario.sandbox.calls(path=f"/media/{request_id}") == []
    assert list(scenario.media_dir.iterdir()) == []

    banner_id = submitted.value("submit_banner", key="request_id")
    conf = {"request_id": request_id, "banner_request_id": banner_id, "generation_id": generation_id}
    collected = scenario.run("scenario_collect_renders", conf=conf)
    assert collected.state == "failed", collected.tail()  # the banner failed at the API
    assert collected.ti("collect_poster").state == "success", collected.tail()
    assert collected.ti("collect_teaser").state == "success", collected.tail()

    # the failed request fails its sensor at once (no retry), in the API's words
    banner = collected.ti("collect_banner")
    assert (banner.state, banner.try_number) == ("failed", 1), collected.tail()
    reasons = [line for line in collected.errors() if banner_id in line]
    assert reasons, collected.tail()
    assert all("[sandbox:fail]" in line and "{'" not in line for line in reasons), reasons

    poster = collected.value("collect_poster")
    assert poster["request_id"] == request_id, poster
    assert poster["status"] == "COMPLETED", poster
    [poster_path] = poster["stored_paths"]
    assert "/collected/" in poster_path, poster_path
    data = read_local(poster_path)
    assert media_kind(data) == "png", poster_path
    assert png_size(data) == (48, 64), poster_path  # the 3:4 the submit asked for

    teaser = collected.value("collect_teaser")
    assert teaser["generation_id"] == generation_id, teaser
    [teaser_path] = teaser["stored_paths"]
    assert media_kind(read_local(teaser_path)) == "mp4", teaser_path

    # the sensors only read: still one submit per job, and one charge (the failed one is free)
    assert len(scenario.clipia_calls("POST", "/v1/models/nano-banana-2")) == 2
    assert len(scenario.clipwise_calls("POST", "generations/")) == 1
    assert poster["cost"] == scenario.credits_spent() == 4
