"""Every example DAG of ``dags/`` runs green on the production cluster, against the sandbox.

``clipia_default`` and ``clipwise_default`` reach every component as ``AIRFLOW_CONN_*``
variables. Each example DAG that is not Asset-scheduled gets a run with a logical date (as a
schedule or the UI's trigger form gives it); with ``dags_are_paused_at_creation`` off, the
daily ones may also get their scheduled run, and the Asset-scheduled ones are started by the
Asset events of the generations, across processes. Every run of every example DAG must succeed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.production.cluster import REPO, ProductionCluster
from tests.system.cluster import wait_until

pytestmark = pytest.mark.timeout(1200)


def example_dags(cluster: ProductionCluster) -> list[dict[str, Any]]:
    return list(cluster.get("/dags", bundle_name="examples", limit=100)["dags"])


def runs_if_all_ended(
    cluster: ProductionCluster, dag_ids: list[str]
) -> dict[str, list[dict[str, Any]]] | None:
    """Every run of each DAG, once each DAG has at least one and none is still going."""
    cluster._check_alive()
    runs = {dag_id: cluster.dag_runs(dag_id) for dag_id in dag_ids}
    if all(runs.values()) and all(r["state"] in ("success", "failed") for rs in runs.values() for r in rs):
        return runs
    return None


def failed_tasks(cluster: ProductionCluster, dag_id: str, run_id: str) -> list[tuple[str, str]]:
    tis = cluster.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]
    return [(ti["task_id"], ti["state"]) for ti in tis if ti["state"] != "success"]


def test_every_example_dag_succeeds(full_strength: ProductionCluster) -> None:
    cluster = full_strength
    files = sorted(path.name for path in (REPO / "dags").glob("*.py") if not path.name.startswith("_"))
    wait_until(
        "every example DAG file to be parsed",
        lambda: sorted({d["relative_fileloc"] for d in example_dags(cluster)}) == files,
        180,
    )
    assert cluster.get("/importErrors")["total_entries"] == 0
    dags = example_dags(cluster)
    triggered = {d["dag_id"]: cluster.trigger(d["dag_id"]) for d in dags if d["timetable_summary"] != "Asset"}
    assert triggered, "no example DAG to trigger"

    runs = wait_until(
        "every example DAG run to end", lambda: runs_if_all_ended(cluster, sorted(triggered)), 900
    )
    asset_scheduled = [d["dag_id"] for d in dags if d["dag_id"] not in triggered]
    if asset_scheduled:  # started by the Asset events of the runs above, once those succeeded
        runs.update(
            wait_until("the Asset-scheduled runs", lambda: runs_if_all_ended(cluster, asset_scheduled), 300)
        )

    failures = {
        (dag_id, run["dag_run_id"]): failed_tasks(cluster, dag_id, run["dag_run_id"])
        for dag_id, dag_runs in runs.items()
        for run in dag_runs
        if run["state"] != "success"
    }
    assert not failures, f"example DAG runs that did not succeed (task, state): {failures}"
    for dag_id, run_id in triggered.items():
        assert any(run["dag_run_id"] == run_id for run in runs[dag_id]), f"{dag_id}: our run is missing"


def test_example_generations_returned_media(full_strength: ProductionCluster) -> None:
    """The chained Clipia example produced a video from the image it generated first."""
    cluster = full_strength
    (run,) = [r for r in cluster.dag_runs("clipia_image_to_video") if r["run_type"] == "manual"]
    image = cluster.xcom("clipia_image_to_video", run["dag_run_id"], "generate_image", "return_value")
    video = cluster.xcom("clipia_image_to_video", run["dag_run_id"], "animate_image", "return_value")
    assert image["media_urls"]
    assert video["media_urls"]
    assert image["request_id"] != video["request_id"]
