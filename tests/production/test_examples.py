"""Every example DAG of ``dags/`` runs green on the production cluster, against the sandbox.

``clipia_default`` and ``clipwise_default`` reach every component as ``AIRFLOW_CONN_*``
variables. Each example DAG that is not Asset-scheduled gets a run with a logical date (as a
schedule or the UI's trigger form gives it); with ``dags_are_paused_at_creation`` off, the
daily ones may also get their scheduled run, and the Asset-scheduled ones are started by the
Asset events of the generations, across processes. Every run of every example DAG must succeed.

The review gate of ``clipgen_review`` waits for a person: the test answers it as one would,
through the cluster's REST API (the human-in-the-loop endpoint the Required Actions page calls,
with a JWT from the API server), approving items 1 and 3, and checks that exactly those files
were published.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.production.cluster import REPO, ProductionCluster
from tests.system.cluster import wait_until

pytestmark = pytest.mark.timeout(1200)
REVIEW_DAG = "clipgen_review"
#: the reviewer's answer: approve the first and the third of the three images
REVIEW_ANSWER: dict[str, Any] = {
    "chosen_options": ["Approve selected"],
    "params_input": {"selected": ["item 1", "item 3"], "note": None},
}


def review_folders(cluster: ProductionCluster) -> dict[str, Path]:
    """Where the review example keeps its media and publishes (the cluster's home, so nothing stays)."""
    return {"media_root": cluster.home / "review-media", "publish_to": cluster.home / "review-published"}


def trigger_conf(cluster: ProductionCluster, dag_id: str) -> dict[str, str]:
    """The run's conf: the DAG's defaults, but the review example's folders in the cluster's home."""
    if dag_id != REVIEW_DAG:
        return {}
    return {name: f"file://{path}" for name, path in review_folders(cluster).items()}


def answer_waiting_reviews(cluster: ProductionCluster, run_ids: set[str], answered: set[str]) -> None:
    """Answer, with :data:`REVIEW_ANSWER`, each review of ``run_ids`` that awaits input and is not yet
    in ``answered`` (run ids); add it there."""
    waiting = cluster.get(
        f"/dags/{REVIEW_DAG}/dagRuns/~/hitlDetails", state="awaiting_input", response_received=False
    )["hitl_details"]
    for detail in waiting:
        ti = detail["task_instance"]
        if ti["dag_run_id"] not in run_ids or ti["dag_run_id"] in answered:
            continue
        token = httpx.get(f"{cluster.api_url(0)}/auth/token", timeout=30)
        token.raise_for_status()
        path = f"/dags/{REVIEW_DAG}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}/-1/hitlDetails"
        response = cluster.client.patch(
            f"/api/v2{path}",
            json=REVIEW_ANSWER,
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert response.status_code == 200, response.text
        answered.add(ti["dag_run_id"])


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
    triggered = {
        d["dag_id"]: cluster.trigger(d["dag_id"], **trigger_conf(cluster, d["dag_id"]))
        for d in dags
        if d["timetable_summary"] != "Asset"
    }
    assert triggered, "no example DAG to trigger"
    assert REVIEW_DAG in triggered, "the review example is not among the example DAGs"

    answered: set[str] = set()

    def reviewed_and_ended() -> dict[str, list[dict[str, Any]]] | None:
        answer_waiting_reviews(cluster, {triggered[REVIEW_DAG]}, answered)
        return runs_if_all_ended(cluster, sorted(triggered))

    runs = wait_until("every example DAG run to end", reviewed_and_ended, 900)
    assert answered == {triggered[REVIEW_DAG]}, "the review ended without being answered"
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


def test_example_review_published_the_approved_items(full_strength: ProductionCluster) -> None:
    """The review answered above approved items 1 and 3; ``publish`` copied exactly their files."""
    cluster = full_strength
    (run,) = [r for r in cluster.dag_runs(REVIEW_DAG) if r["run_type"] == "manual"]
    run_id = run["dag_run_id"]
    shown = cluster.xcom(REVIEW_DAG, run_id, "review", "review_items")
    result = cluster.xcom(REVIEW_DAG, run_id, "review", "return_value")
    assert [item["label"] for item in shown] == ["item 1", "item 2", "item 3"]
    assert result["decision"] == "approved"
    assert result["chosen_option"] == "Approve selected"
    assert result["responded_by"] is not None
    assert [item["label"] for item in result["approved"]] == ["item 1", "item 3"]
    chosen = [shown[0]["stored_path"], shown[2]["stored_path"]]
    assert result["stored_paths"] == chosen

    assert cluster.task_instance(REVIEW_DAG, run_id, "publish")["state"] == "success"
    publish_to = review_folders(cluster)["publish_to"]
    sources = [Path(stored.removeprefix("file://")) for stored in chosen]
    published = cluster.xcom(REVIEW_DAG, run_id, "publish", "return_value")
    assert sorted(Path(str(path).removeprefix("file://")).name for path in published) == sorted(
        source.name for source in sources
    )
    assert sorted(path.name for path in publish_to.iterdir()) == sorted(source.name for source in sources)
    for source in sources:
        assert (publish_to / source.name).read_bytes() == source.read_bytes()
