"""The review gate on a real Airflow 3.3 deployment: the example DAG ``dags/clipgen_review.py``.

Each test runs the example on its own Clipia connection (its own sandbox key), waits until the
review asks, checks that no worker slot is held while it waits, answers through Airflow's REST API
(the human-in-the-loop endpoint the Required Actions page uses, with a JWT from the API server),
and checks what followed: exactly the selected files published, byte for byte; a rejection that
skips everything and spends nothing more; a regeneration whose prompts carry the note all the way
to the sandbox and stay within ``max_credits``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from tests.system.cluster import AirflowCluster, wait_until

from clipgen_provider.sandbox.server import SandboxServer

# the first test also waits for the shared deployment to start (minutes on a loaded 2-core machine)
pytestmark = pytest.mark.timeout(900)
DAG_ID = "clipgen_review"
#: credits of one nano-banana-2 image in the sandbox, and the example's cap per generation
IMAGE_CREDITS = 4
MAX_CREDITS = 10


@pytest.fixture(scope="module")
def review_sandbox() -> Iterator[SandboxServer]:
    """A sandbox with quick jobs (the review, not the generation, is under test here)."""
    with SandboxServer("--queue-seconds", "0.2", "--run-seconds", "0.5") as server:
        yield server


@pytest.fixture(scope="module")
def review_cluster(cluster: AirflowCluster) -> AirflowCluster:
    cluster.wait_for_dags([DAG_ID])
    return cluster


@dataclass
class ReviewRun:
    """One run of the example on its own connection and folders."""

    cluster: AirflowCluster
    sandbox: SandboxServer
    api_key: str
    media_root: Path
    publish_to: Path
    run_id: str = ""

    @property
    def hitl_path(self) -> str:
        return f"/api/v2/dags/{DAG_ID}/dagRuns/{self.run_id}/taskInstances/review/-1/hitlDetails"

    def token(self) -> str:
        """A JWT from the API server (its simple auth manager hands one out in this deployment)."""
        answer = httpx.get(f"{self.cluster.api_url(0)}/auth/token", timeout=30)
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def hitl(self, method: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token()}"}
        return httpx.request(
            method, self.cluster.api_url(0) + self.hitl_path, headers=headers, timeout=30, **kwargs
        )

    def wait_for_question(self) -> dict[str, Any]:
        """Wait until the review awaits input and the scheduler has taken in that its worker is done;
        return its task instance.

        Airflow 3.3.2 fails a task answered before the scheduler has handled the executor's report
        of the parking run ("finished with state success, but the task instance's state attribute
        is queued"): a person never answers that fast, a test must wait for it.
        """
        ti = self.cluster.wait_for_state(DAG_ID, self.run_id, "review", {"awaiting_input"}, timeout=240)
        scheduler = next(c for c in self.cluster.components if c.name == "scheduler")
        handled = f"TaskInstance Finished: dag_id={DAG_ID}, task_id=review, run_id={self.run_id}"
        wait_until(
            "the scheduler to handle the parked review's report",
            lambda: handled in scheduler.tail(10**7),
            120,
        )
        return ti

    def answer(
        self, option: str, *, selected: list[str] | None = None, note: str | None = None
    ) -> dict[str, Any]:
        body = {"chosen_options": [option], "params_input": {"selected": selected or [], "note": note}}
        response = self.hitl("PATCH", json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def state(self, task_id: str, map_index: int | None = None) -> str:
        path = f"/dags/{DAG_ID}/dagRuns/{self.run_id}/taskInstances/{task_id}"
        if map_index is not None:
            path += f"/{map_index}"
        return str(self.cluster.get(path)["state"])

    def wait_for_run(self) -> str:
        def ended() -> str | None:
            state = str(self.cluster.get(f"/dags/{DAG_ID}/dagRuns/{self.run_id}")["state"])
            return state if state in ("success", "failed") else None

        return wait_until(f"{DAG_ID} run {self.run_id} to end", ended, 240, interval=0.5)

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        return self.cluster.xcom(DAG_ID, self.run_id, task_id, key)

    def account(self) -> dict[str, Any]:
        answer = httpx.get(
            f"{self.sandbox.url}/v1/account", headers={"Authorization": f"Bearer {self.api_key}"}
        )
        return dict(answer.json()["usage_30d"])

    def generation_submits(self) -> list[dict[str, Any]]:
        calls = self.sandbox.calls(api_key=self.api_key, method="POST", path="/v1/models/")
        return [call for call in calls if not call["path"].endswith("/estimate")]


@pytest.fixture
def review_run(review_cluster: AirflowCluster, review_sandbox: SandboxServer, tmp_path: Path) -> ReviewRun:
    """The example DAG started on a fresh connection, storing under and publishing to ``tmp_path``."""
    api_key = f"clipia_test_{uuid.uuid4().hex}"
    conn_id = f"clipia_review_{uuid.uuid4().hex[:8]}"
    review_cluster.set_connection(
        conn_id, conn_type="clipia", host=review_sandbox.url, password=api_key, extra={}
    )
    run = ReviewRun(review_cluster, review_sandbox, api_key, tmp_path / "media", tmp_path / "published")
    run.run_id = review_cluster.trigger(
        DAG_ID,
        clipia_conn_id=conn_id,
        media_root=f"file://{run.media_root}",
        publish_to=f"file://{run.publish_to}",
    )
    return run


def _processes_running(ti_id: str) -> list[tuple[int, str]]:
    """The processes titled with the task instance's id (``airflow worker -- LocalExecutor: <id>``)."""
    running = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if ti_id in cmdline:
            running.append((process.info["pid"], cmdline))
    return running


def _assert_no_worker_slot_held(ti: dict[str, Any]) -> None:
    """The waiting review is parked (no trigger) and, once its worker has handed the parked task
    back (the worker retitles itself ``<idle>`` a moment after), no process runs it."""
    assert ti["state"] == "awaiting_input"
    assert ti.get("trigger") is None, f"a trigger waits for the review: {ti.get('trigger')}"
    wait_until("no process to run the waiting review", lambda: not _processes_running(ti["id"]), 60)


def _local(path: str) -> Path:
    return Path(path.removeprefix("file://"))


def test_approve_a_selection_publishes_exactly_those_files(review_run: ReviewRun) -> None:
    ti = review_run.wait_for_question()
    _assert_no_worker_slot_held(ti)

    detail = review_run.hitl("GET").json()
    assert detail["options"] == ["Approve all", "Approve selected", "Regenerate", "Reject"]
    assert detail["defaults"] == ["Reject"]
    assert set(detail["params"]) == {"selected", "note"}
    assert detail["params"]["selected"]["schema"]["examples"] == ["item 1", "item 2", "item 3"]
    shown = review_run.xcom("review", "review_items")
    for item in shown:
        assert f"[![{item['label']}]({item['url']})]({item['url']})" in detail["body"]
        assert f"Prompt: {item['prompt']}" in detail["body"]
    assert "Check the mug is in focus" in detail["body"]

    answered = review_run.answer("Approve selected", selected=["item 1", "item 3"])
    assert answered["chosen_options"] == ["Approve selected"]
    assert review_run.wait_for_run() == "success"

    result = review_run.xcom("review")
    assert result["decision"] == "approved"
    assert [item["label"] for item in result["approved"]] == ["item 1", "item 3"]
    assert [item["map_index"] for item in result["approved"]] == [0, 2]
    chosen = [shown[0]["stored_path"], shown[2]["stored_path"]]
    assert result["stored_paths"] == chosen
    published = review_run.xcom("publish")
    assert sorted(Path(p).name for p in map(str, published)) == sorted(_local(p).name for p in chosen)
    assert sorted(path.name for path in review_run.publish_to.iterdir()) == sorted(
        _local(p).name for p in chosen
    )
    for stored in chosen:
        source = _local(stored)
        assert (review_run.publish_to / source.name).read_bytes() == source.read_bytes()
    assert review_run.state("regenerate", 0) == "skipped"


def test_reject_skips_what_follows_and_spends_nothing_more(review_run: ReviewRun) -> None:
    review_run.wait_for_question()
    spent_before = review_run.account()
    review_run.answer("Reject")
    assert review_run.wait_for_run() == "success"

    assert review_run.state("review") == "success"
    assert review_run.state("publish") == "skipped"
    assert review_run.xcom("review")["decision"] == "rejected"
    assert review_run.account() == spent_before == {"requests": 3, "credits_spent": 3 * IMAGE_CREDITS}
    assert len(review_run.generation_submits()) == 3
    assert not review_run.publish_to.exists()


def test_regenerate_adds_the_note_to_every_prompt_within_max_credits(review_run: ReviewRun) -> None:
    review_run.wait_for_question()
    # the sandbox makes every file of a prompt carrying this marker exactly that size: the files
    # prove the note reached the prompt the sandbox was sent
    note = "warmer light [sandbox:size=4321]"
    review_run.answer("Regenerate", note=note)
    assert review_run.wait_for_run() == "success"

    assert review_run.state("publish") == "skipped"
    assert review_run.xcom("review")["note"] == note
    base = f"/dags/{DAG_ID}/dagRuns/{review_run.run_id}/taskInstances/regenerate"
    for map_index in range(3):
        ti = review_run.cluster.get(f"{base}/{map_index}")
        assert ti["state"] == "success"
        prompt = ti["rendered_fields"]["inputs"]["prompt"]
        assert prompt.endswith(f". Reviewer note: {note}"), prompt
        result = review_run.cluster.get(
            f"{base}/xcomEntries/return_value", map_index=map_index, deserialize=True
        )
        assert 0 < result["value"]["cost"] <= MAX_CREDITS
        for stored in result["value"]["stored_paths"]:
            assert _local(stored).stat().st_size == 4321, (
                "the regenerated file was not made from the noted prompt"
            )
    usage = review_run.account()
    assert usage["requests"] == 6
    assert usage["credits_spent"] - 3 * IMAGE_CREDITS <= 3 * MAX_CREDITS
    estimates = review_run.sandbox.calls(
        api_key=review_run.api_key, method="POST", path="/v1/models/nano-banana-2/estimate"
    )
    assert len(estimates) == 6, "each generation is estimated against max_credits before it is sent"
