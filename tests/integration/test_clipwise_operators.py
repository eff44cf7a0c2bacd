"""Clipwise operators, triggers and sensor driven as a DAG author would, against the sandbox.

The DAGs live in ``dags/`` (the example) and ``tests/integration/dags/clipwise_scenarios.py``; each
test runs one with ``dag.test()`` (deferrals included) on a fresh token, so the sandbox's call
log and records are this test's alone.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from clipgen_provider.hooks.clipwise import ClipwiseHook
from clipgen_provider.sandbox.server import SandboxServer
from tests.airflow_compat import HAS_TASK_STATE_STORE
from tests.integration.conftest import use_token
from tests.integration.dagrun import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

API = "/api/sdk/v1"
GENERATIONS = f"{API}/generations/"


def created(sandbox: SandboxServer, token: str) -> list[dict]:
    """The generation creates this token sent that were answered 201: a new generation, or the one
    an earlier create with the same idempotency key made (replayed, no new charge)."""
    return sandbox.calls(api_key=token, method="POST", path=GENERATIONS, status=201)


def media(path: Path, size: int = 2048) -> Path:
    path.write_bytes(b"\x00" * size)
    return path


def test_example_dag_product_ad_pipeline(sandbox: SandboxServer, clipwise_conn: str) -> None:
    outcome = run_dag("clipwise_product_ad_pipeline")
    assert outcome.state == "success", outcome.task_states
    assert set(outcome.task_states.values()) == {"success"}, outcome.task_states

    upload_id = outcome.value("upload_product_image")
    product = outcome.value("create_product")
    assert upload_id.startswith("upl_")
    assert product["product"]["image_ids"] == [upload_id]

    static_ad = outcome.value("render_static_ad")
    assert static_ad["status"] == "completed"
    assert outcome.value("render_static_ad", "generation_id") == static_ad["generation_id"]
    assert len(static_ad["media_urls"]) == 2  # one per variation
    for url in static_ad["media_urls"]:
        png = httpx.get(url)
        assert png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG\r\n\x1a\n")

    video = outcome.value("render_ugc_video")
    assert video["format"] == "ugc_video"
    assert video["media_urls"] == [video["video_url"]]
    assert httpx.get(video["video_url"]).headers["content-type"] == "video/mp4"

    assert outcome.value("collect_outputs") == {
        "product_id": product["product_id"],
        "static_ad_urls": static_ad["media_urls"],
        "ugc_video_url": video["video_url"],
        "generation_ids": [static_ad["generation_id"], video["generation_id"]],
    }
    assert len(created(sandbox, clipwise_conn)) == 2
    # the teardowns removed the day's product and upload
    hook = ClipwiseHook()
    assert product["product_id"] not in {item["id"] for item in hook.iter_products()}
    assert upload_id not in {item["id"] for item in hook.iter_uploads()}


def test_blocking_generation_returns_outputs(clipwise_conn: str) -> None:
    outcome = run_dag("clipwise_speech_blocking")
    assert outcome.state == "success", outcome.task_states
    result = outcome.value("speak")
    assert (result["format"], result["status"]) == ("text_to_audio", "completed")
    assert result["media_urls"] == [result["result_url"]]
    assert httpx.get(result["result_url"]).headers["content-type"] == "audio/mpeg"


def test_missing_required_inputs_fail_before_anything_is_created(
    sandbox: SandboxServer, clipwise_conn: str
) -> None:
    outcome = run_dag("clipwise_missing_inputs")
    assert outcome.task_states["static_ad"] == "failed"
    assert outcome.tries["static_ad"] == 1
    assert sandbox.calls(api_key=clipwise_conn, method="POST", path=GENERATIONS) == []


def test_unknown_format_fails_without_retries(sandbox: SandboxServer, clipwise_conn: str) -> None:
    outcome = run_dag("clipwise_unknown_format")
    assert (outcome.task_states["typo"], outcome.tries["typo"]) == ("failed", 1)
    assert sandbox.calls(api_key=clipwise_conn, method="POST") == []


def test_local_video_is_uploaded_then_transcribed(
    sandbox: SandboxServer, clipwise_conn: str, tmp_path: Path
) -> None:
    outcome = run_dag("clipwise_local_video", video=str(media(tmp_path / "talk.mp4")))
    assert outcome.state == "success", outcome.task_states
    assert outcome.value("transcribe")["transcript"]
    assert len(sandbox.calls(api_key=clipwise_conn, method="POST", path=f"{API}/uploads/")) == 1


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_bad_local_path_fails_before_anything_is_created(
    sandbox: SandboxServer, clipwise_conn: str, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "missing.mp4" if kind == "missing" else tmp_path
    outcome = run_dag("clipwise_local_video", video=str(path))
    assert (outcome.task_states["transcribe"], outcome.tries["transcribe"]) == ("failed", 1)
    assert sandbox.calls(api_key=clipwise_conn, method="POST") == []


def test_asset_of_another_format_fails_without_retries(sandbox: SandboxServer, clipwise_conn: str) -> None:
    outcome = run_dag("clipwise_wrong_asset")
    assert (outcome.task_states["ugc"], outcome.tries["ugc"]) == ("failed", 1)
    attempts = sandbox.calls(api_key=clipwise_conn, method="POST", path=GENERATIONS)
    assert [call["status"] for call in attempts] == [400]


def test_missing_scope_fails_without_burning_retries(
    monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> None:
    token = use_token(monkeypatch, sandbox, f"cw_test_readonly_{uuid.uuid4().hex}")
    outcome = run_dag("clipwise_smart")
    assert (outcome.task_states["smart"], outcome.tries["smart"]) == ("failed", 1)
    attempts = sandbox.calls(api_key=token, method="POST", path=GENERATIONS)
    assert [call["status"] for call in attempts] == [403]


def test_failed_generation_fails_the_task_and_a_retry_starts_anew(
    sandbox: SandboxServer, clipwise_conn: str
) -> None:
    outcome = run_dag("clipwise_failed_generation")
    assert (outcome.task_states["doomed"], outcome.tries["doomed"]) == ("failed", 2)
    keys = [call["idempotency_key"] for call in created(sandbox, clipwise_conn)]
    first = keys[0]
    if HAS_TASK_STATE_STORE:  # the ledger says try 1's generation failed: try 2 starts anew
        assert keys == [first, f"{first}:try2"]
    else:  # try 1's key returns its failed generation (no new one); then try 2 starts anew
        assert keys == [first, first, f"{first}:try2"]


def test_retry_after_a_lost_result_reattaches_to_the_same_generation(
    sandbox: SandboxServer, clipwise_conn: str
) -> None:
    """Try 1 starts the generation, then cannot read it (5 errors in a row); try 2 re-attaches: from
    the ledger (Airflow 3.3), or by sending try 1's create again, which the API answers with that
    same generation (Airflow 3.1, 3.2). One generation, one charge."""
    sandbox.add_fault(
        method="GET",
        path_regex=r"^/api/sdk/v1/generations/[^/]+/$",
        api_key=clipwise_conn,
        status=500,
        times=5,
    )
    outcome = run_dag("clipwise_smart")
    assert outcome.state == "success", outcome.task_states
    assert outcome.tries["smart"] == 2
    creates = sandbox.calls(api_key=clipwise_conn, method="POST", path=GENERATIONS)
    assert len(creates) == (1 if HAS_TASK_STATE_STORE else 2)
    assert len({call["idempotency_key"] for call in creates}) == 1
    assert outcome.value("smart")["status"] == "completed"


def test_wait_timeout_cancels_a_queued_generation(sandbox: SandboxServer, clipwise_conn: str) -> None:
    sandbox.update_settings(queue_seconds=30)
    try:
        outcome = run_dag("clipwise_wait_timeout")
    finally:
        sandbox.update_settings(queue_seconds=0.3)
    assert outcome.task_states["slow"] == "failed"
    generation_id = outcome.value("slow", "generation_id")
    assert ClipwiseHook().get_generation(generation_id)["status"] == "cancelled"
    assert sandbox.calls(api_key=clipwise_conn, path=f"{GENERATIONS}{generation_id}/cancel/", status=200)


def test_extract_url_success_and_failure(clipwise_conn: str) -> None:
    outcome = run_dag("clipwise_extract_url")
    assert outcome.task_states == {"social": "success", "direct": "success", "broken": "failed"}
    social = outcome.value("social")
    assert social["extract_task_id"] == outcome.value("social", "extract_task_id")
    assert httpx.get(social["video_url"]).headers["content-type"] == "video/mp4"
    assert outcome.value("direct")["video_url"].endswith(".mp4")


def test_product_retry_does_not_upload_its_image_again(
    sandbox: SandboxServer, clipwise_conn: str, tmp_path: Path
) -> None:
    sandbox.add_fault(
        method="POST", path=f"{API}/products/", api_key=clipwise_conn, status=503, retry_after=0, times=5
    )
    outcome = run_dag("clipwise_product_retry", image=str(media(tmp_path / "serum.png")))
    assert outcome.state == "success", outcome.task_states
    assert outcome.tries["product"] == 2
    uploads = sandbox.calls(api_key=clipwise_conn, method="POST", path=f"{API}/uploads/")
    # recorded in task_state_store on 3.3; before it, the API takes no key for uploads: the retry
    # uploads again (free, a duplicate upload, as docs/compatibility.md says)
    assert len(uploads) == (1 if HAS_TASK_STATE_STORE else 2)
    assert len(sandbox.calls(api_key=clipwise_conn, method="POST", path=f"{API}/products/", status=201)) == 1
    product = outcome.value("product")
    assert product["product"]["image_ids"] == [ClipwiseHook().list_uploads()["items"][-1]["id"]]


def test_asset_operators(sandbox: SandboxServer, clipwise_conn: str, tmp_path: Path) -> None:
    outcome = run_dag(
        "clipwise_assets",
        image=str(media(tmp_path / "serum.png")),
        voice=str(media(tmp_path / "me.wav", 50_000)),
    )
    expected = {task: "success" for task in outcome.task_states}
    assert outcome.task_states == {**expected, "delete_catalog": "failed"}
    assert outcome.tries["delete_catalog"] == 1

    upload_id = outcome.value("upload")
    product_image_id = outcome.value("upload_product_image")
    assert (upload_id[:4], product_image_id[:4]) == ("upl_", "res_")
    product = outcome.value("product")
    # the local image was uploaded for the product, the product image id passed through
    assert product["product"]["image_ids"][1] == product_image_id
    assert product["product"]["image_ids"][0].startswith("upl_")
    assert outcome.value("avatar")["resource"]["source_kind"] == "generated"
    voice_id = outcome.value("voice")["voice_id"]
    assert outcome.value("voice")["voice"]["display_name"] == "My voice"
    assert outcome.value("speak")["status"] == "completed"

    assert outcome.value("delete_product")["deleted"] is True
    assert outcome.value("delete_again")["deleted"] is False
    hook = ClipwiseHook()
    assert upload_id not in {item["id"] for item in hook.iter_uploads()}
    assert hook.get_resource("voices", voice_id)["source_kind"] == "uploaded"
    deleted_avatar = outcome.value("delete_avatar")["asset_id"]
    assert deleted_avatar not in {item["id"] for item in hook.iter_resources("avatars")}


def test_sensors_wait_for_a_generation_started_elsewhere(clipwise_conn: str) -> None:
    generation_id = ClipwiseHook().create_generation("smart", prompt="started elsewhere")["id"]
    outcome = run_dag("clipwise_sensors", generation_id=generation_id)
    assert outcome.state == "success", outcome.task_states
    assert outcome.value("wait")["generation_id"] == generation_id
    assert outcome.value("poke")["video_url"]


def test_outputs_are_stored_and_announced_as_an_asset_event(clipwise_conn: str) -> None:
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session

    from clipgen_provider.media import as_storage_path

    out = f"memory://media/{uuid.uuid4().hex}"
    outcome = run_dag("clipwise_stored_outputs", out=out)
    assert outcome.state == "success", outcome.task_states
    result = outcome.value("render")
    (stored,) = result["stored_paths"]
    # spelled as Airflow spells the folder (3.1 writes memory:///media/… for memory://media/…)
    assert stored.startswith(f"{as_storage_path(out)}/")
    assert stored.endswith(f"{result['generation_id']}-0.mp4")
    assert as_storage_path(stored).read_bytes() == httpx.get(result["video_url"]).content
    assert outcome.value("render", "_link_ClipgenMediaLink") == result["media_urls"][0]
    with create_session() as session:
        asset = session.query(AssetModel).filter(AssetModel.name == "clipwise_scenario_media").one()
        event = (
            session.query(AssetEvent)
            .filter(AssetEvent.asset_id == asset.id)
            .order_by(AssetEvent.id.desc())
            .first()
        )
        assert event is not None
        assert event.extra["generation_id"] == result["generation_id"]
        assert event.extra["format"] == "smart"
        assert event.extra["stored_paths"] == [stored]
        queued = session.query(AssetDagRunQueue).filter(AssetDagRunQueue.asset_id == asset.id).all()
        assert [q.target_dag_id for q in queued] == ["clipwise_media_consumer"]
