"""OpenLineage: what the provider's listener emits for a pipeline run with the real ``airflow dags test``.

The OpenLineage provider's file transport (configured the documented way, through
``AIRFLOW__OPENLINEAGE__TRANSPORT``) writes every event of the run to a file; the test reads the
COMPLETE event of each task and checks its inputs, outputs and ``clipgenJob`` run facet against what
the tasks returned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.scenarios.harness import Scenario
from tests.scenarios.media_checks import local_path

DAG_ID = "scenario_lineage"


def complete_events(log_file: Path) -> dict[str, dict[str, Any]]:
    """Task id → the COMPLETE event of that task (the DAG's own events left out)."""
    events = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    found: dict[str, dict[str, Any]] = {}
    for event in events:
        name = event["job"]["name"]
        if event["eventType"] == "COMPLETE" and name.startswith(f"{DAG_ID}."):
            found[name.removeprefix(f"{DAG_ID}.")] = event
    return found


def datasets(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(namespace, name)`` of each input or output dataset, in order."""
    return [(entry["namespace"], entry["name"]) for entry in entries]


def job_facet(event: dict[str, Any]) -> dict[str, Any]:
    """The ``clipgenJob`` run facet without its ``_producer`` and ``_schemaURL``."""
    facet = event["run"]["facets"]["clipgenJob"]
    assert facet["_schemaURL"].endswith("ClipgenJobRunFacet.json#/$defs/ClipgenJobRunFacet"), facet
    return {key: value for key, value in facet.items() if not key.startswith("_")}


def test_complete_events_name_what_each_task_read_made_and_cost(scenario: Scenario) -> None:
    log_file = scenario.root / "openlineage.jsonl"
    scenario.extra_env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
        {"type": "file", "log_file_path": str(log_file), "append": True}
    )
    run = scenario.run(DAG_ID)
    run.assert_succeeded()
    events = complete_events(log_file)
    assert set(events) == {"poster", "clip", "animated", "submit_teaser", "collect_teaser"}, run.tail()
    sandbox = "http://" + urlsplit(scenario.sandbox.url).netloc

    def media(url: str) -> tuple[str, str]:
        return sandbox, urlsplit(url).path

    def stored(path: str) -> tuple[str, str]:
        return "file", str(local_path(path))

    # Clipia with output_path on a local disk: the media it made and the file it stored
    poster = run.value("poster")
    [poster_url], [poster_file] = poster["media_urls"], poster["stored_paths"]
    assert datasets(events["poster"]["inputs"]) == []
    assert datasets(events["poster"]["outputs"]) == [media(poster_url), stored(poster_file)]
    assert job_facet(events["poster"]) == {
        "jobId": poster["request_id"],
        "api": "clipia",
        "model": "nano-banana-2",
        "cost": 4,
        "status": "COMPLETED",
    }

    # Clipwise whose image is the stored file: that file is its input, the same dataset as the
    # poster's output, so the graph links them
    clip = run.value("clip")
    [clip_url], [clip_file] = clip["media_urls"], clip["stored_paths"]
    assert datasets(events["clip"]["inputs"]) == [stored(poster_file)]
    assert datasets(events["clip"]["outputs"]) == [media(clip_url), stored(clip_file)]
    assert job_facet(events["clip"]) == {
        "jobId": clip["generation_id"],
        "api": "clipwise",
        "format": "image_to_video",
        "status": "completed",
    }

    # Clipia fed the poster's media URL: the URL is its input; no output_path, so only media URLs out
    animated = run.value("animated")
    assert datasets(events["animated"]["inputs"]) == [media(poster_url)]
    assert datasets(events["animated"]["outputs"]) == [media(url) for url in animated["media_urls"]]
    assert job_facet(events["animated"]) == {
        "jobId": animated["request_id"],
        "api": "clipia",
        "model": "seedance-2-fast-i2v",
        "cost": animated["cost"],
        "status": "COMPLETED",
    }
    assert animated["cost"] > 0, animated

    # submit-only: the job and what it asked for. It names no dataset (nothing read, nothing made
    # yet), so the listener falls back to Airflow's hook lineage, which `airflow dags test` shares
    # between all tasks of the run (one process): its datasets are not the provider's to check.
    request_id = run.value("submit_teaser", key="request_id")
    assert job_facet(events["submit_teaser"]) == {
        "jobId": request_id,
        "api": "clipia",
        "model": "nano-banana-2",
        "status": "submitted",
    }

    # the sensor that collected it, with output_path: the same outputs a generate task reports
    teaser = run.value("collect_teaser")
    [teaser_url], [teaser_file] = teaser["media_urls"], teaser["stored_paths"]
    assert datasets(events["collect_teaser"]["inputs"]) == []
    assert datasets(events["collect_teaser"]["outputs"]) == [media(teaser_url), stored(teaser_file)]
    assert job_facet(events["collect_teaser"]) == {
        "jobId": request_id,
        "api": "clipia",
        "model": "nano-banana-2",
        "cost": 4,
        "status": "COMPLETED",
    }

    # what the facets say was charged is what the account was charged; no key in any event
    charged = sum(job_facet(events[task]).get("cost", 0) for task in ("poster", "animated", "collect_teaser"))
    assert charged == scenario.credits_spent()
    text = log_file.read_text()
    assert scenario.clipia_key not in text
    assert scenario.clipwise_key not in text
