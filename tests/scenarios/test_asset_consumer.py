"""Scenario 6: an Asset-scheduled consumer of generated media."""

from __future__ import annotations

from tests.scenarios.harness import Scenario
from tests.scenarios.media_checks import media_kind, read_local

ASSET = "clipgen_scenario_hero_images"


def test_generated_media_reach_the_asset_scheduled_dag(scenario: Scenario) -> None:
    produced = scenario.run("scenario_asset_producer")
    produced.assert_succeeded()
    assert produced.states("hero_images") == {0: "success", 1: "success"}, produced.tail()

    # one event per mapped instance, its extra describing that instance's generation
    events = scenario.db.asset_events(ASSET)
    by_index = {event.source_map_index: event for event in events}
    assert set(by_index) == {0, 1}, events
    assert len(events) == 2, events
    for index, event in by_index.items():
        assert index is not None
        result = produced.value("hero_images", index)
        assert (event.source_dag_id, event.source_task_id) == ("scenario_asset_producer", "hero_images")
        assert event.extra["request_id"] == result["request_id"], event
        assert event.extra["model"] == "nano-banana-2", event
        assert event.extra["cost"] == result["cost"] == 4, event
        assert event.extra["media_urls"] == result["media_urls"], event
        assert event.extra["stored_paths"] == result["stored_paths"], event
    # ... and the scheduler would now start the consumer
    assert scenario.db.queued_asset_runs("scenario_asset_publisher") == [ASSET]

    published = scenario.run("scenario_asset_publisher")
    published.assert_succeeded()
    copies = published.value("publish")
    assert sorted(copy["request_id"] for copy in copies) == sorted(e.extra["request_id"] for e in events)
    for copy in copies:
        data = read_local(copy["published"])
        assert "/published/" in copy["published"], copy
        assert media_kind(data) == "png", copy
        assert data == read_local(copy["source"]), copy
