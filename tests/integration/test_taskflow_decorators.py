"""``@task.clipia`` and ``@task.clipwise`` run as a DAG author writes them, against the sandbox.

The example DAG ``dags/clipgen_taskflow.py`` (mapped over products, files stored, run cost) and the
retry scenarios of ``tests/integration/dags/taskflow_scenarios.py``, each run with ``dag.test()``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from clipgen_provider.hooks.clipia import ClipiaHook
from clipgen_provider.operators._ledger import task_identity_key
from clipgen_provider.sandbox.server import SandboxServer
from tests.airflow_compat import HAS_TASK_STATE_STORE
from tests.integration.dagrun import run_dag
from tests.integration.test_clipwise_operators import API, GENERATIONS
from tests.scenarios.media_checks import local_path, media_kind

pytestmark = pytest.mark.usefixtures("airflow_db")

PRODUCTS = ["ceramic mug", "linen tote", "bamboo toothbrush"]


def usage(sandbox: SandboxServer, key: str) -> dict[str, Any]:
    """The Clipia account's usage over the last 30 days: ``{requests, credits_spent}``."""
    response = httpx.get(f"{sandbox.url}/v1/account", headers={"Authorization": f"Bearer {key}"})
    return dict(response.json()["usage_30d"])


def latest_run_id(dag_id: str) -> str:
    """The run id of ``dag_id``'s latest run."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        latest = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
        assert latest is not None, f"{dag_id} has not run"
        return str(latest.run_id)


def rendered_inputs(dag_id: str, run_id: str, task_id: str, map_index: int) -> Any:
    """The ``inputs`` a task instance's *Rendered Template* view shows."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as Rendered
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(Rendered)
            .filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index)
            .one()
        )
        return row.rendered_fields["inputs"]


def clipia_submits(sandbox: SandboxServer, key: str) -> list[dict[str, Any]]:
    """The generation submits this key sent (estimates are POSTs too; they are left out)."""
    calls = sandbox.calls(api_key=key, method="POST", path="/v1/models/")
    return [call for call in calls if not call["path"].endswith("/estimate")]


def test_example_dag_maps_generates_stores_and_totals(
    sandbox: SandboxServer,
    clipia_conn: str,
    clipwise_conn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLIPGEN_MEDIA_ROOT", tmp_path.as_uri())
    outcome = run_dag("clipgen_taskflow")
    assert outcome.state == "success", outcome.task_states

    shots = [outcome.mapped_xcoms["product_shot", "return_value", index] for index in range(3)]
    videos = [outcome.mapped_xcoms["ugc_video", "return_value", index] for index in range(3)]

    # @task.clipia: one submit per mapped product, the prompt built by the function (with .partial's style)
    submits = clipia_submits(sandbox, clipia_conn)
    assert len(submits) == 3
    run_id = latest_run_id("clipgen_taskflow")
    images: list[bytes] = []
    assert len({call["idempotency_key"] for call in submits}) == 3
    estimates = sandbox.calls(api_key=clipia_conn, method="POST", path="/v1/models/nano-banana-2/estimate")
    assert len(estimates) == 3, "max_credits is checked per item before its submit"
    for index, shot in enumerate(shots):
        assert shot["status"] == "COMPLETED"
        assert shot["model"] == "nano-banana-2"
        assert outcome.mapped_xcoms["product_shot", "request_id", index] == shot["request_id"]
        # the body was what the function returned: Clipia gives the same request back for that body
        # under the task instance's key (another body would be refused with 409)
        expected = {"prompt": f"Studio product photo of a {PRODUCTS[index]}, soft daylight, white background"}
        ti: Any = SimpleNamespace(
            dag_id="clipgen_taskflow", task_id="product_shot", run_id=run_id, map_index=index
        )
        key = task_identity_key({"ti": ti}, "clipia_request")
        assert (
            ClipiaHook().submit("nano-banana-2", expected, idempotency_key=key)["request_id"]
            == shot["request_id"]
        )
        (stored,) = shot["stored_paths"]
        assert "/shots/" in stored
        image = local_path(stored).read_bytes()
        assert media_kind(image) == "png"
        assert image == httpx.get(shot["media_urls"][0]).content
        images.append(image)

    # @task.clipwise: one generation per product, each showing that product's stored shot
    assert len(sandbox.calls(api_key=clipwise_conn, method="POST", path=GENERATIONS, status=201)) == 3
    uploaded = httpx.get(
        f"{sandbox.url}{API}/resources/product_images/",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {clipwise_conn}"},
    ).json()["items"]
    assert sorted(item["sha256"] for item in uploaded if item.get("source_kind") != "catalog") == sorted(
        hashlib.sha256(image).hexdigest() for image in images
    ), "each product's stored shot reached Clipwise byte for byte, once"
    for index, video in enumerate(videos):
        assert video["status"] == "completed"
        assert video["format"] == "ugc_video"
        assert outcome.mapped_xcoms["ugc_video", "generation_id", index] == video["generation_id"]
        (stored,) = video["stored_paths"]
        assert "/videos/" in stored
        assert media_kind(local_path(stored).read_bytes()) == "mp4"

    # the task's rendered fields show what the function returned, also after the deferral (3.3)
    if HAS_TASK_STATE_STORE:
        assert rendered_inputs("clipgen_taskflow", run_id, "product_shot", 0) == {
            "prompt": f"Studio product photo of a {PRODUCTS[0]}, soft daylight, white background"
        }

    # the run's cost is what the Clipia account was charged
    report = outcome.value("run_cost")
    account = usage(sandbox, clipia_conn)
    assert account["requests"] == 3
    assert report["total_credits"] == account["credits_spent"] == sum(shot["cost"] for shot in shots) > 0
    assert report["by_task"] == {f"product_shot[{index}]": shots[index]["cost"] for index in range(3)}


def test_a_retry_runs_the_function_again_and_reattaches_without_paying_twice(
    sandbox: SandboxServer, clipia_conn: str, tmp_path: Path
) -> None:
    """Try 1 submits, then cannot read the result (API errors) and fails; try 2 calls the function
    again, gets the same inputs, finds the request in the ledger and uses its result."""
    sandbox.add_fault(
        method="GET", path_regex=r"^/v1/requests/[^/]+$", api_key=clipia_conn, status=500, times=5
    )
    trace = tmp_path / "tries.txt"
    outcome = run_dag("taskflow_clipia_retry_same_inputs", trace=str(trace))
    assert outcome.state == "success", outcome.task_states
    assert outcome.tries["same_inputs"] == 2
    assert trace.read_text().split() == ["1", "2"], "the function ran once per try, not on resume"
    submits = clipia_submits(sandbox, clipia_conn)
    assert {call["idempotency_key"] for call in submits} == {submits[0]["idempotency_key"]}
    # Airflow 3.3: the ledger has the request, try 2 sends nothing; before 3.3 try 2 resubmits the
    # same body under the same key and Clipia answers with the same request
    assert len(submits) == (1 if HAS_TASK_STATE_STORE else 2)
    result = outcome.value("same_inputs")
    assert result["status"] == "COMPLETED"
    assert usage(sandbox, clipia_conn) == {"requests": 1, "credits_spent": result["cost"]}


def test_a_changed_return_after_a_lost_submit_gets_a_try_scoped_key(
    sandbox: SandboxServer, clipia_conn: str, tmp_path: Path
) -> None:
    """Try 1's submit created a request but every answer was lost, so the ledger has the key and no
    request id. Try 2's function returns other inputs: Clipia refuses the key (409) and the task
    submits with a try-scoped key. Both requests are charged: the case docs/taskflow.md warns of."""
    sandbox.add_fault(
        method="POST", path="/v1/models/", api_key=clipia_conn, status=503, after_handler=True, times=5
    )
    trace = tmp_path / "tries.txt"
    outcome = run_dag("taskflow_clipia_retry_changed_inputs", trace=str(trace))
    assert outcome.state == "success", outcome.task_states
    assert trace.read_text().split() == ["1", "2"]

    statuses = [call["status"] for call in clipia_submits(sandbox, clipia_conn)]
    keys = [call["idempotency_key"] for call in clipia_submits(sandbox, clipia_conn)]
    refused = statuses.index(409)
    assert set(statuses[:refused]) == {503}
    assert len(set(keys[: refused + 1])) == 1, "try 2 first asks with the recorded key"
    assert statuses[refused + 1 :] == [200]
    assert keys[-1] == f"{keys[0]}:try2"
    assert usage(sandbox, clipia_conn)["requests"] == 2


def test_a_return_that_is_not_a_dict_fails_at_once_and_sends_nothing(
    sandbox: SandboxServer, clipia_conn: str
) -> None:
    outcome = run_dag("taskflow_clipia_not_a_dict")
    assert outcome.task_states["prompt_only"] == "failed"
    assert outcome.tries["prompt_only"] == 1, "a permanent error: no retry"
    assert sandbox.calls(api_key=clipia_conn) == []
