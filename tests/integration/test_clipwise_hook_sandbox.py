"""ClipwiseHook against the real sandbox over loopback: every call, every error, faults, real files.

Sandbox state is per token, so every test uses a fresh token (restricted scopes come from the
token prefix, see ``docs/sandbox_clipwise.md``). Jobs are awaited by polling with a deadline.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from clipgen_provider.exceptions import ClipgenConfigError, ClipwiseApiError
from clipgen_provider.hooks.clipwise import (
    TERMINAL_STATUSES,
    ClipwiseHook,
    clipwise_job_state,
    extract_id,
    extract_url_job_state,
)
from clipgen_provider.sandbox.server import SandboxServer, free_port

T = TypeVar("T")
API = "/api/sdk/v1"
#: sandbox job timing for this module: quick, but slow enough to observe ``queued``/``processing``
FAST = {"queue_seconds": 0.2, "run_seconds": 0.6}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """This module's own sandbox process (overrides the shared one), so the settings it changes
    never alter the timing other modules' tests rely on."""
    with SandboxServer() as server:
        server.update_settings(**FAST)
        yield server


@contextmanager
def sandbox_settings(sandbox: SandboxServer, **values: Any) -> Iterator[None]:
    """Change sandbox settings for a block, then restore what they were."""
    before = sandbox.settings()
    sandbox.update_settings(**values)
    try:
        yield
    finally:
        sandbox.update_settings(**{name: before[name] for name in values})


def new_token(prefix: str = "cw_test_") -> str:
    return f"{prefix}{uuid.uuid4().hex[:16]}"


class Hooks:
    """Builds hooks on connections (``AIRFLOW_CONN_<ID>`` env vars) that point at the sandbox."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> None:
        self.monkeypatch = monkeypatch
        self.sandbox = sandbox

    def __call__(self, token: str, *, host: str | None = None) -> ClipwiseHook:
        conn_id = f"cw_{uuid.uuid4().hex[:8]}"
        conn = {"conn_type": "clipwise", "host": host or self.sandbox.url, "password": token}
        self.monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return ClipwiseHook(conn_id)


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> Hooks:
    return Hooks(monkeypatch, sandbox)


@pytest.fixture
def token() -> str:
    return new_token()


@pytest.fixture
def hook(hooks: Hooks, token: str) -> Iterator[ClipwiseHook]:
    with hooks(token) as hook:
        yield hook  # type: ignore[misc]


def wait_until(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 20.0) -> T:
    """Call ``read`` until ``done`` holds for its value or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not done within {timeout} s; last value: {value}")
        time.sleep(0.05)


def finished(hook: ClipwiseHook, generation_id: str) -> dict[str, Any]:
    """Poll a generation until it is terminal."""
    return wait_until(lambda: hook.get_generation(generation_id), lambda g: g["status"] in TERMINAL_STATUSES)


def id_of(answer: dict[str, Any]) -> str:
    """The new id in a write's answer (the hook's :func:`extract_id`), which must be there."""
    new_id = extract_id(answer)
    assert new_id, f"no id in {answer}"
    return new_id


def api_error(call: Callable[[], Any]) -> ClipwiseApiError:
    with pytest.raises(ClipwiseApiError) as info:
        call()
    return info.value


def write_media(path: Path, size: int) -> Path:
    """A file of ``size`` random bytes at ``path``."""
    with path.open("wb") as handle:
        remaining = size
        while remaining:
            chunk = os.urandom(min(remaining, 1 << 20))
            handle.write(chunk)
            remaining -= len(chunk)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# -- connection test and authentication ------------------------------------------------------------
def test_connection_succeeds(hook: ClipwiseHook, sandbox: SandboxServer) -> None:
    assert hook.test_connection() == (True, f"Connected to Clipwise at {sandbox.url}.")


def test_connection_works_for_a_token_without_resource_scopes(hooks: Hooks) -> None:
    ok, _ = hooks(new_token("cw_test_noresources_")).test_connection()
    assert ok


def test_connection_with_a_revoked_token_says_so(hooks: Hooks) -> None:
    ok, message = hooks(new_token("cw_test_revoked_")).test_connection()
    assert not ok
    assert "HTTP 401 invalid_api_key" in message
    assert "revoked" in message
    assert "Password" in message


def test_connection_to_a_closed_port_says_so(hooks: Hooks) -> None:
    ok, message = hooks(new_token(), host=f"http://127.0.0.1:{free_port()}").test_connection()
    assert not ok
    assert "network error" in message
    assert "Base URL" in message


def test_revoked_token_is_a_permanent_401(hooks: Hooks) -> None:
    error = api_error(hooks(new_token("cw_test_revoked_")).list_formats)
    assert (error.status_code, error.code, error.is_transient) == (401, "invalid_api_key", False)
    assert str(error.request_id).startswith("req_")


@pytest.mark.parametrize(
    ("prefix", "call", "scope"),
    [
        ("cw_test_readonly_", lambda h: h.create_generation("smart", prompt="x"), "generations:write"),
        ("cw_test_noresources_", lambda h: h.list_resources("avatars"), "resources:read"),
        ("cw_test_nogenerations_", lambda h: h.get_generation("gen_x"), "generations:read"),
        ("cw_test_readonly_", lambda h: h.create_product("Serum"), "resources:write"),
    ],
)
def test_missing_scope_is_403_insufficient_scope(hooks: Hooks, prefix: str, call: Any, scope: str) -> None:
    error = api_error(lambda: call(hooks(new_token(prefix))))
    assert (error.status_code, error.code) == (403, "insufficient_scope")
    assert error.details["required_scope"] == scope


# -- formats -----------------------------------------------------------------------------------------
def test_formats(hook: ClipwiseHook) -> None:
    formats = hook.list_formats()
    slugs = {entry["slug"] for entry in formats}
    assert {"smart", "ugc_video", "viral_dancing_video", "text_to_audio"} <= slugs
    tools = hook.list_formats(kind="tool")
    assert tools
    assert {entry["kind"] for entry in tools} == {"tool"}
    assert {entry["platform"] for entry in hook.list_formats(platform="clipwise")} == {"clipwise"}
    assert len(hook.list_formats(include_inactive=True)) >= len(formats)

    smart = hook.get_format("smart")
    assert smart["required_inputs"] == ["prompt"]
    assert hook.get_format(smart["display_name"])["slug"] == "smart"
    assert hook.get_format(smart["aliases"][0])["slug"] == "smart"


def test_unknown_format_is_404(hook: ClipwiseHook) -> None:
    error = api_error(lambda: hook.get_format("no such format"))
    assert (error.status_code, error.code) == (404, "not_found")
    assert error.details == {"id_or_slug": "no such format"}


async def test_async_reads_over_the_shared_client(hook: ClipwiseHook) -> None:
    job = hook.create_generation("smart", prompt="async read")
    task = hook.start_extract_url("https://www.tiktok.com/@clipwise/video/1")
    async with hook:
        assert (await hook.aget_format("ugc_video"))["slug"] == "ugc_video"
        generation = await hook.aget_generation(job["id"])
        assert generation["id"] == job["id"]
        assert (await hook.aget_extract_url(task["task_id"]))["task_id"] == task["task_id"]


# -- resources ---------------------------------------------------------------------------------------
def test_resource_types(hook: ClipwiseHook) -> None:
    types = {entry["type"]: entry for entry in hook.list_resource_types()["resource_types"]}
    assert {"avatars", "voices", "poses", "product_images", "generic_uploads", "reference_videos"} <= set(
        types
    )
    assert {name for name, entry in types.items() if entry["supports_generate"]} == {
        "avatars",
        "background_images",
    }


def test_list_filters_and_retrieve(hook: ClipwiseHook) -> None:
    dancers = hook.list_resources("avatars", video_format="viral_dancing_video")["items"]
    assert [item["id"] for item in dancers] == ["res_avatar_kai_dancer"]
    underlays = hook.list_resources("overlays", type="underlay")["items"]
    assert [item["id"] for item in underlays] == ["res_underlay_paper"]
    voice = hook.get_resource("voices", "res_voice_emma_en")
    assert (voice["id"], voice["language"]) == ("res_voice_emma_en", "en")


def test_iter_resources_walks_every_page(hook: ClipwiseHook, sandbox: SandboxServer, token: str) -> None:
    everything = hook.list_resources("background_images", limit=100)
    expected = [item["id"] for item in everything["items"]]
    assert everything["pagination"]["total"] == len(expected) >= 3
    sandbox.clear_calls()
    walked = [item["id"] for item in hook.iter_resources("background_images", page_size=1)]
    assert walked == expected
    pages = [call["query"] for call in sandbox.calls(api_key=token, path=f"{API}/resources/")]
    assert pages == [f"page={n}&limit=1" for n in range(1, len(expected) + 1)]


def test_resource_errors(hook: ClipwiseHook) -> None:
    missing = api_error(lambda: hook.get_resource("avatars", "res_nope"))
    assert (missing.status_code, missing.code) == (404, "not_found")
    unknown_type = api_error(lambda: hook.list_resources("holograms"))
    assert (unknown_type.status_code, unknown_type.code) == (404, "not_found")
    shared = api_error(lambda: hook.delete_resource("avatars", "res_avatar_ava"))
    assert (shared.status_code, shared.code) == (403, "permission_denied")
    bad_page = api_error(lambda: hook.list_resources("avatars", page=0))
    assert (bad_page.status_code, bad_page.code) == (400, "invalid_argument")


def test_upload_filter_retrieve_and_delete_a_resource(hook: ClipwiseHook, tmp_path: Path) -> None:
    image = write_media(tmp_path / "serum.png", 20_000)
    resource = hook.upload_resource("product_images", image, product_type="skincare", name="Serum front")
    resource_id = id_of(resource)
    assert resource["resource"]["sha256"] == sha256_of(image)
    assert resource["resource"]["file_type"] == "image"
    listed = hook.list_resources("product_images", product_type="skincare")["items"]
    assert resource_id in {item["id"] for item in listed}
    assert hook.get_resource("product_images", resource_id)["display_name"] == "Serum front"
    assert hook.delete_resource("product_images", resource_id) == {"success": True}
    assert api_error(lambda: hook.get_resource("product_images", resource_id)).status_code == 404


def test_empty_upload_is_invalid_upload(hook: ClipwiseHook, tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    error = api_error(lambda: hook.upload_file(empty, "image"))
    assert (error.status_code, error.code) == (400, "invalid_upload")


@pytest.mark.parametrize("resource_type", ["avatars", "background_images"])
def test_generate_resource(hook: ClipwiseHook, resource_type: str) -> None:
    answer = hook.generate_resource(resource_type, "Luxury bathroom counter", video_format="ugc_video")
    generated = hook.get_resource(resource_type, id_of(answer))
    assert (generated["source_kind"], generated["prompt"]) == ("generated", "Luxury bathroom counter")


def test_generate_resource_of_another_type_sends_nothing(
    hook: ClipwiseHook, sandbox: SandboxServer, token: str
) -> None:
    with pytest.raises(ClipgenConfigError):
        hook.generate_resource("poses", "a pose")
    assert sandbox.calls(api_key=token) == []


# -- uploads -----------------------------------------------------------------------------------------
def test_multi_megabyte_upload_round_trips(hook: ClipwiseHook, tmp_path: Path) -> None:
    clip = write_media(tmp_path / "source.mp4", 12 * 1024 * 1024 + 123)
    answer = hook.upload_file(clip, "video", title="Launch footage")
    upload = answer["upload"]
    assert (upload["file_size"], upload["sha256"]) == (clip.stat().st_size, sha256_of(clip))
    assert (upload["filename"], upload["content_type"], upload["file_type"]) == (
        "source.mp4",
        "video/mp4",
        "video",
    )
    assert upload["metadata"] == {"title": "Launch footage"}
    assert upload["id"] in {item["id"] for item in hook.iter_uploads(page_size=2)}
    assert hook.delete_upload(upload["id"]) == {"success": True}
    assert upload["id"] not in {item["id"] for item in hook.iter_uploads()}


def test_upload_from_a_file_object_and_retry_after_a_dropped_connection(
    hook: ClipwiseHook, sandbox: SandboxServer, token: str, tmp_path: Path
) -> None:
    clip = write_media(tmp_path / "voice.mp3", 3 * 1024 * 1024)
    sandbox.add_fault(method="POST", path=f"{API}/uploads/", api_key=token, reset=True)
    with clip.open("rb") as handle:
        upload = hook.upload_file(handle, "audio")["upload"]
    assert (upload["file_size"], upload["sha256"]) == (clip.stat().st_size, sha256_of(clip))
    assert upload["file_type"] == "audio"
    assert len(sandbox.calls(api_key=token, method="POST", path=f"{API}/uploads/")) == 2


def test_upload_pages(hook: ClipwiseHook, tmp_path: Path) -> None:
    mine = {id_of(hook.upload_file(write_media(tmp_path / f"{n}.png", 10), "image")) for n in range(5)}
    page = hook.list_uploads(page=1, limit=2)
    assert (len(page["items"]), page["pagination"]["has_next"]) == (2, True)
    assert mine <= {item["id"] for item in hook.iter_uploads(page_size=2)}


# -- products and voices -------------------------------------------------------------------------------
def test_product_lifecycle(hook: ClipwiseHook, tmp_path: Path) -> None:
    image_id = id_of(hook.upload_file(write_media(tmp_path / "p.png", 100), "image"))
    created = hook.create_product(
        "Vitamin C Serum", image_ids=[image_id], product_type="skincare", description="", url=None
    )
    product_id = id_of(created)
    assert product_id.startswith("prod_")
    assert created["product"]["image_ids"] == [image_id]
    assert product_id in {item["id"] for item in hook.iter_products(page_size=1)}
    updated = hook.update_product(product_id, name="Serum 2", description="30 ml")
    assert (updated["product"]["name"], updated["product"]["description"]) == ("Serum 2", "30 ml")
    assert hook.delete_product(product_id) == {"success": True}
    assert api_error(lambda: hook.delete_product(product_id)).status_code == 404


def test_voices_list_and_clone(hook: ClipwiseHook, tmp_path: Path) -> None:
    assert {item["id"] for item in hook.list_voices(limit=100)["items"]} >= {"res_voice_emma_en"}
    sample = write_media(tmp_path / "me.wav", 50_000)
    voice_id = id_of(hook.clone_voice(sample, "My voice", language="en"))
    voice = hook.get_resource("voices", voice_id)
    assert (voice["display_name"], voice["language"], voice["source_kind"]) == ("My voice", "en", "uploaded")
    assert voice_id in {item["id"] for item in hook.iter_resources("voices")}


# -- generations --------------------------------------------------------------------------------------
def test_generation_runs_to_completion(hook: ClipwiseHook) -> None:
    job = hook.create_generation("smart", prompt="A founder launch video", duration=30, language=None)
    assert job["id"].startswith("gen_")
    assert job["status"] == "queued"
    done = finished(hook, job["id"])
    state = clipwise_job_state(done)
    assert (state.terminal, state.succeeded) == (True, True)
    assert done["outputs"]["video_url"].startswith("http://127.0.0.1")


def test_failed_generation(hook: ClipwiseHook) -> None:
    job = hook.create_generation("text_to_audio", script="hi [sandbox:fail]", voice="res_voice_emma_en")
    state = clipwise_job_state(finished(hook, job["id"]))
    assert (state.status, state.succeeded) == ("failed", False)
    assert state.error


def test_same_idempotency_key_returns_the_same_generation(hook: ClipwiseHook) -> None:
    first = hook.create_generation("smart", prompt="once", idempotency_key="dag.task.run.0")
    again = hook.create_generation("smart", prompt="once", idempotency_key="dag.task.run.0")
    assert again["id"] == first["id"]
    other = hook.create_generation("smart", prompt="once")
    assert other["id"] != first["id"]


def test_same_key_with_another_body_is_409(hook: ClipwiseHook) -> None:
    first = hook.create_generation("smart", prompt="v1", idempotency_key="k-409")
    error = api_error(lambda: hook.create_generation("smart", prompt="v2", idempotency_key="k-409"))
    assert (error.status_code, error.code, error.is_transient) == (409, "idempotency_key_reuse", False)
    assert error.details == {"generation_id": first["id"]}


def test_a_lost_answer_is_retried_with_the_same_key_and_pays_once(
    hook: ClipwiseHook, sandbox: SandboxServer, token: str
) -> None:
    # the sandbox creates the job, then the answer is replaced by a 503: the retry must replay it
    sandbox.add_fault(
        method="POST", path=f"{API}/generations/", api_key=token, status=503, after_handler=True
    )
    job = hook.create_generation("smart", prompt="pay once")
    calls = sandbox.calls(api_key=token, method="POST", path=f"{API}/generations/")
    assert [call["status"] for call in calls] == [503, 201]
    assert len({call["idempotency_key"] for call in calls}) == 1
    assert finished(hook, job["id"])["status"] == "completed"


def test_429_retry_after_is_honoured(hook: ClipwiseHook, sandbox: SandboxServer, token: str) -> None:
    job = hook.create_generation("smart", prompt="throttled")
    pauses: list[float] = []
    hook.get_conn().sleep = pauses.append
    sandbox.add_fault(
        method="GET", path=f"{API}/generations/", api_key=token, status=429, retry_after=3, times=2
    )
    assert hook.get_generation(job["id"])["id"] == job["id"]
    assert pauses == [3.0, 3.0]


@pytest.mark.parametrize(
    ("format", "params", "missing"),
    [
        ("smart", {}, ["prompt"]),
        ("text_to_audio", {"script": "hello"}, ["voice"]),
        ("static_ad", {}, ["product_id", "ad_format"]),
    ],
)
def test_missing_inputs_are_400_with_details(
    hook: ClipwiseHook, format: str, params: dict[str, Any], missing: list[str]
) -> None:
    error = api_error(lambda: hook.create_generation(format, **params))
    assert (error.status_code, error.code) == (400, "invalid_argument")
    assert error.details["missing"] == missing


def test_asset_of_another_format_is_rejected(hook: ClipwiseHook) -> None:
    error = api_error(
        lambda: hook.create_generation("ugc_video", script="Hi", avatar="res_avatar_kai_dancer")
    )
    assert (error.status_code, error.code) == (400, "invalid_argument")
    assert error.details["parameter"] == "avatar"
    assert error.details["invalid"][0]["reason"] == "not_compatible"


def test_unknown_generation_is_404(hook: ClipwiseHook) -> None:
    assert api_error(lambda: hook.get_generation("gen_nope")).status_code == 404


def test_cancel_while_queued(hook: ClipwiseHook, sandbox: SandboxServer) -> None:
    with sandbox_settings(sandbox, queue_seconds=60.0):
        job = hook.create_generation("smart", prompt="cancel me")
    cancelled = hook.cancel_generation(job["id"])
    assert cancelled["status"] == "cancelled"
    assert hook.get_generation(job["id"])["status"] == "cancelled"


def test_cancel_after_completion_is_unsupported(hook: ClipwiseHook) -> None:
    job = hook.create_generation("smart", prompt="too late")
    finished(hook, job["id"])
    error = api_error(lambda: hook.cancel_generation(job["id"]))
    assert (error.status_code, error.code, error.is_transient) == (409, "unsupported_cancellation", False)
    assert error.details == {"status": "completed"}


# -- local-file auto-upload ----------------------------------------------------------------------------
def test_local_video_is_uploaded_before_the_generation(hook: ClipwiseHook, tmp_path: Path) -> None:
    clip = write_media(tmp_path / "talk.mp4", 2 * 1024 * 1024)
    job = hook.create_generation("video_to_text", video=clip)
    uploads = [item for item in hook.iter_uploads() if item.get("filename") == "talk.mp4"]
    assert [(item["purpose"], item["sha256"]) for item in uploads] == [("video", sha256_of(clip))]
    assert finished(hook, job["id"])["outputs"]["transcript"]


def test_local_reference_video_goes_to_reference_videos_for_dancing(
    hook: ClipwiseHook, tmp_path: Path
) -> None:
    clip = write_media(tmp_path / "dance.mp4", 1000)
    job = hook.create_generation(
        "viral_dancing_video", avatar="res_avatar_kai_dancer", reference_video=str(clip)
    )
    assert finished(hook, job["id"])["status"] == "completed"
    mine = [item for item in hook.iter_resources("reference_videos") if item["source_kind"] == "uploaded"]
    assert [item["filename"] for item in mine] == ["dance.mp4"]


def test_inventory_shoot_with_local_product_and_pose(hook: ClipwiseHook, tmp_path: Path) -> None:
    params = hook.prepare_generation_params(
        "inventory_shoot",
        {
            "mode": "product_shoot",
            "product_image": write_media(tmp_path / "product.png", 500),
            "reference_image": str(write_media(tmp_path / "pose.png", 500)),
            "background_image": "res_bg_studio_white",
            "variations": 2,
        },
    )
    assert hook.get_resource("product_images", params["product_image"])["filename"] == "product.png"
    assert hook.get_resource("poses", params["reference_image"])["filename"] == "pose.png"
    job = hook.create_generation("inventory_shoot", **params)
    assert finished(hook, job["id"])["status"] == "completed"


def test_a_typo_path_never_reaches_the_api(hook: ClipwiseHook, sandbox: SandboxServer, token: str) -> None:
    with pytest.raises(ClipgenConfigError, match="video: no such file"):
        hook.create_generation("video_to_text", video="./recordings/missing.mp4")
    assert sandbox.calls(api_key=token) == []


# -- extract URL -------------------------------------------------------------------------------------
def test_extract_url_of_a_direct_video_is_ready_at_once(hook: ClipwiseHook) -> None:
    started = hook.start_extract_url("https://cdn.example.com/clip.mp4")
    assert started["video_url"].endswith(".mp4")
    assert extract_url_job_state(started["task_id"], hook.get_extract_url(started["task_id"])).succeeded


def test_extract_url_succeeds_after_a_while(hook: ClipwiseHook) -> None:
    task_id = hook.start_extract_url("https://www.tiktok.com/@clipwise/video/42")["task_id"]
    answer = wait_until(lambda: hook.get_extract_url(task_id), lambda a: a["ready"])
    assert (answer["success"], answer["video_url"] is not None) == (True, True)


def test_extract_url_failure(hook: ClipwiseHook) -> None:
    task_id = hook.start_extract_url("https://www.tiktok.com/@clipwise/video/fail")["task_id"]
    answer = wait_until(lambda: hook.get_extract_url(task_id), lambda a: a["ready"])
    state = extract_url_job_state(task_id, answer)
    assert (state.terminal, state.succeeded) == (True, False)
    assert str(state.error).startswith("url_extract_failed")


def test_extract_url_rejects_a_non_url(hook: ClipwiseHook) -> None:
    error = api_error(lambda: hook.start_extract_url("not a url"))
    assert (error.status_code, error.code, error.details["parameter"]) == (400, "invalid_argument", "url")


# -- async twins ---------------------------------------------------------------------------------------
async def test_async_catalog_and_resource_reads_match_the_sync_ones(hook: ClipwiseHook) -> None:
    async with hook:
        tools = await hook.alist_formats(kind="tool")
        types = await hook.alist_resource_types()
        dancers = await hook.alist_resources("avatars", video_format="viral_dancing_video")
        voice = await hook.aget_resource("voices", "res_voice_emma_en")
        missing = await _api_error_async(hook.aget_resource("voices", "res_nope"))
    assert tools == hook.list_formats(kind="tool")
    assert tools
    assert {entry["kind"] for entry in tools} == {"tool"}
    assert types == hook.list_resource_types()
    assert [item["id"] for item in dancers["items"]] == ["res_avatar_kai_dancer"]
    assert voice == hook.get_resource("voices", "res_voice_emma_en")
    assert missing.status_code == 404


async def _api_error_async(call: Any) -> ClipwiseApiError:
    with pytest.raises(ClipwiseApiError) as info:
        await call
    return info.value


async def test_acreate_generation_is_idempotent_with_the_sync_create(
    hook: ClipwiseHook, sandbox: SandboxServer, token: str, tmp_path: Path
) -> None:
    """One key, one generation, whichever twin sends it; a local file is uploaded first, once."""
    clip = write_media(tmp_path / "async-talk.mp4", 300_000)
    async with hook:
        first = await hook.acreate_generation("video_to_text", video=clip, idempotency_key="async-k1")
    uploads = [item for item in hook.iter_uploads() if item.get("filename") == "async-talk.mp4"]
    assert [(item["purpose"], item["sha256"]) for item in uploads] == [("video", sha256_of(clip))]
    # the same body (the upload's id in place of the path) under the same key: the same generation
    async with hook:
        again = await hook.acreate_generation(
            "video_to_text", video=uploads[0]["id"], idempotency_key="async-k1"
        )
    synced = hook.create_generation("video_to_text", video=uploads[0]["id"], idempotency_key="async-k1")
    assert again["id"] == synced["id"] == first["id"]
    creates = sandbox.calls(api_key=token, method="POST", path=f"{API}/generations/")
    assert len(creates) == 3
    assert {call["idempotency_key"] for call in creates} == {"async-k1"}
    assert finished(hook, first["id"])["outputs"]["transcript"]


async def test_acreate_generation_with_a_typo_path_sends_nothing(
    hook: ClipwiseHook, sandbox: SandboxServer, token: str
) -> None:
    with pytest.raises(ClipgenConfigError, match="video: no such file"):
        await hook.acreate_generation("video_to_text", video="./recordings/missing.mp4")
    assert sandbox.calls(api_key=token) == []


async def test_acancel_generation_while_queued(hook: ClipwiseHook, sandbox: SandboxServer) -> None:
    with sandbox_settings(sandbox, queue_seconds=60.0):
        async with hook:
            job = await hook.acreate_generation("smart", prompt="cancel me, async")
            cancelled = await hook.acancel_generation(job["id"])
    assert cancelled["status"] == "cancelled"
    assert hook.get_generation(job["id"])["status"] == "cancelled"


async def test_astart_extract_url_then_poll(hook: ClipwiseHook) -> None:
    async with hook:
        task_id = (await hook.astart_extract_url("https://www.tiktok.com/@clipwise/video/7"))["task_id"]
        answer = await hook.aget_extract_url(task_id)
        deadline = time.monotonic() + 20
        while not answer["ready"] and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            answer = await hook.aget_extract_url(task_id)
    assert (answer["ready"], answer["success"]) == (True, True)
    assert answer["video_url"]
    error = await _api_error_async(hook.astart_extract_url("not a url"))
    assert (error.status_code, error.details["parameter"]) == (400, "url")
