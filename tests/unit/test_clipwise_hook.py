"""Unit tests of ClipwiseHook: request shapes, errors, retries, pages, uploads (respx, no network).

Connections come from ``AIRFLOW_CONN_<ID>`` environment variables as JSON, which the Task SDK
reads outside a task too, so no Airflow database is needed.
"""

from __future__ import annotations

import email.parser
import email.policy
import inspect
import json
import os
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from clipgen_provider.exceptions import ClipgenConfigError, ClipwiseApiError
from clipgen_provider.file_inputs import FileSource
from clipgen_provider.hooks.clipwise import (
    ClipwiseHook,
    api_path,
    clipwise_job_state,
    extract_id,
    extract_url_job_state,
    walk_pages,
)
from clipgen_provider.hooks.clipwise_uploads import UploadPlan, UploadTarget, form_fields

BASE = "https://app.clipwise.ai"
TOKEN = "cw_test_unit_secret_token"
API = f"{BASE}/api/sdk/v1"


def set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str = "clipwise_default", **fields: Any) -> None:
    """Provide a connection through the ``AIRFLOW_CONN_<ID>`` environment variable (JSON form)."""
    value = {"conn_type": "clipwise", "host": BASE, "password": TOKEN, **fields}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))


@pytest.fixture
def pauses() -> list[float]:
    return []


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch, pauses: list[float]) -> ClipwiseHook:
    """A hook on ``clipwise_default`` whose retry pauses are recorded instead of slept."""
    set_conn(monkeypatch)
    hook = ClipwiseHook()
    transport = hook.get_conn()
    transport.sleep = pauses.append

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    transport.asleep = record
    return hook


@pytest.fixture
def api():
    with respx.mock(base_url=API, assert_all_called=False, using="httpx") as router:
        yield router


def multipart(request: httpx.Request) -> dict[str, tuple[str | None, str, bytes]]:
    """``{field: (filename, content type, bytes)}`` of a multipart/form-data request."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message: Any = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.read())
    return {
        str(part.get_param("name", header="content-disposition")): (
            part.get_filename(),
            part.get_content_type(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    }


def fields_of(request: httpx.Request) -> dict[str, str]:
    """The plain (non-file) form fields of a multipart request."""
    return {name: data.decode() for name, (filename, _, data) in multipart(request).items() if not filename}


def envelope(status: int, code: str, message: str = "nope", details: Any = None, **headers: str):
    body = {"error": {"code": code, "message": message, "details": details}, "request_id": "req_42"}
    return httpx.Response(status, json=body, headers=headers)


# -- connection, repr, base URL -------------------------------------------------------------------
def test_connection_from_env_var_and_auth_header(hook: ClipwiseHook, api: respx.MockRouter) -> None:
    route = api.get("/formats/").respond(json={"formats": []})
    hook.list_formats()
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("airflow-provider-clipgen/")


def test_repr_never_shows_the_token(hook: ClipwiseHook) -> None:
    assert repr(hook) == "ClipwiseHook(conn_id='clipwise_default')"
    assert TOKEN not in repr(hook.get_conn())


def test_hook_metadata() -> None:
    assert ClipwiseHook.conn_type == "clipwise"
    assert ClipwiseHook.conn_name_attr == "clipwise_conn_id"
    assert ClipwiseHook.default_conn_name == "clipwise_default"
    assert ClipwiseHook.error_cls is ClipwiseApiError
    assert ClipwiseHook.test_path == "/api/sdk/v1/formats/"
    assert ClipwiseHook(clipwise_conn_id="other").conn_id == "other"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("", "https://app.clipwise.ai"),
        ("https://staging.clipwise.ai/", "https://staging.clipwise.ai"),
        ("staging.clipwise.ai", "https://staging.clipwise.ai"),
        ("http://localhost:8765", "http://localhost:8765"),
        ("http://127.0.0.1:9", "http://127.0.0.1:9"),
    ],
)
def test_base_url_accepted(monkeypatch: pytest.MonkeyPatch, host: str, expected: str) -> None:
    set_conn(monkeypatch, "cw_url", host=host)
    assert ClipwiseHook("cw_url").get_conn().base_url == expected


@pytest.mark.parametrize(
    "host", ["http://app.clipwise.ai", "http://localhost.evil.com", "http://10.0.0.1", "ftp://x.io"]
)
def test_base_url_refused(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    set_conn(monkeypatch, "cw_url", host=host)
    with pytest.raises(ClipgenConfigError, match="base URL"):
        ClipwiseHook("cw_url").get_conn()


def test_missing_token_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "cw_nokey", password=None)
    with pytest.raises(ClipgenConfigError, match="Password"):
        ClipwiseHook("cw_nokey").get_conn()


def test_connection_ok(hook: ClipwiseHook, api: respx.MockRouter) -> None:
    api.get("/formats/").respond(json={"formats": [{"slug": "smart"}]})
    assert hook.test_connection() == (True, f"Connected to Clipwise at {BASE}.")


def test_connection_bad_token_says_what_to_fix(hook: ClipwiseHook, api: respx.MockRouter) -> None:
    route = api.get("/formats/").mock(return_value=envelope(401, "invalid_api_key", "Invalid token"))
    ok, message = hook.test_connection()
    assert not ok
    assert "401" in message
    assert "invalid_api_key" in message
    assert "Password" in message
    assert route.call_count == 1


def test_connection_unreachable_host_says_what_to_fix(
    hook: ClipwiseHook, api: respx.MockRouter, pauses: list[float]
) -> None:
    route = api.get("/formats/").mock(side_effect=httpx.ConnectError("Connection refused"))
    ok, message = hook.test_connection()
    assert not ok
    assert "network error" in message
    assert "Connection refused" in message
    assert "Base URL" in message
    assert (route.call_count, pauses) == (1, []), "the connection test answers at once, no backoff"


# -- request shapes ---------------------------------------------------------------------------------
JSON_CALLS = [
    # (call, method, path, query, json body, answer, expected return)
    (
        lambda h: h.list_formats(),
        "GET",
        "/formats/",
        {},
        None,
        {"formats": [{"slug": "smart"}]},
        [{"slug": "smart"}],
    ),
    (
        lambda h: h.list_formats(kind="tool", platform="video_company", include_inactive=True),
        "GET",
        "/formats/",
        {"kind": "tool", "platform": "video_company", "include_inactive": "true"},
        None,
        {"formats": []},
        [],
    ),
    (
        lambda h: h.get_format("UGC Video/v2"),
        "GET",
        "/formats/UGC%20Video%2Fv2/",
        {},
        None,
        {"format": {"slug": "ugc_video"}},
        {"slug": "ugc_video"},
    ),
    (
        lambda h: h.list_resource_types(),
        "GET",
        "/resource-types/",
        {},
        None,
        {"resource_types": [{"type": "avatars"}]},
        {"resource_types": [{"type": "avatars"}]},
    ),
    (
        lambda h: h.list_resources(
            "avatars", page=2, limit=10, video_format="ugc_video", collection=None, file_type="image"
        ),
        "GET",
        "/resources/avatars/",
        {"page": "2", "limit": "10", "video_format": "ugc_video", "file_type": "image"},
        None,
        {"items": [{"id": "av_1"}], "pagination": {}},
        {"items": [{"id": "av_1"}], "pagination": {}},
    ),
    (
        lambda h: h.list_resources("overlays", type="underlay"),
        "GET",
        "/resources/overlays/",
        {"type": "underlay"},
        None,
        {"items": []},
        {"items": []},
    ),
    (
        lambda h: h.get_resource("poses", "pose 1"),
        "GET",
        "/resources/poses/pose%201/",
        {},
        None,
        {"resource": {"id": "pose 1"}},
        {"id": "pose 1"},
    ),
    (
        lambda h: h.generate_resource("avatars", "A presenter", video_format="ugc_video", style=None),
        "POST",
        "/resources/avatars/generate/",
        {},
        {"prompt": "A presenter", "video_format": "ugc_video"},
        {"resource": {"id": "av_9"}},
        {"resource": {"id": "av_9"}},
    ),
    (
        lambda h: h.delete_resource("overlays", "ov_1"),
        "DELETE",
        "/resources/overlays/ov_1/",
        {},
        None,
        {"success": True},
        {"success": True},
    ),
    (
        lambda h: h.list_uploads(page=1, limit=5),
        "GET",
        "/uploads/",
        {"page": "1", "limit": "5"},
        None,
        {"items": []},
        {"items": []},
    ),
    (
        lambda h: h.delete_upload("upl_1"),
        "DELETE",
        "/resources/generic_uploads/upl_1/",
        {},
        None,
        {"success": True},
        {"success": True},
    ),
    (
        lambda h: h.list_products(),
        "GET",
        "/products/",
        {},
        None,
        {"items": []},
        {"items": []},
    ),
    (
        lambda h: h.create_product(
            "Serum", image_ids=["upl_1"], url="", product_type=None, description="", color="red"
        ),
        "POST",
        "/products/",
        {},
        {"name": "Serum", "image_ids": ["upl_1"], "color": "red"},
        {"product": {"id": "prod_1"}},
        {"product": {"id": "prod_1"}},
    ),
    (
        lambda h: h.update_product("prod_1", name="New", description=None),
        "PATCH",
        "/products/prod_1/",
        {},
        {"name": "New"},
        {"product": {"id": "prod_1"}},
        {"product": {"id": "prod_1"}},
    ),
    (
        lambda h: h.delete_product("prod_1"),
        "DELETE",
        "/products/prod_1/",
        {},
        None,
        {"success": True},
        {"success": True},
    ),
    (
        lambda h: h.list_voices(limit=3),
        "GET",
        "/resources/voices/",
        {"limit": "3"},
        None,
        {"items": []},
        {"items": []},
    ),
    (
        lambda h: h.get_generation("gen_1"),
        "GET",
        "/generations/gen_1/",
        {},
        None,
        {"generation": {"id": "gen_1", "status": "queued"}},
        {"id": "gen_1", "status": "queued"},
    ),
    (
        lambda h: h.cancel_generation("gen_1"),
        "POST",
        "/generations/gen_1/cancel/",
        {},
        None,
        {"generation": {"id": "gen_1", "status": "cancelled"}},
        {"id": "gen_1", "status": "cancelled"},
    ),
    (
        lambda h: h.start_extract_url("https://tiktok.com/@a/video/1"),
        "POST",
        "/extract-url/",
        {},
        {"url": "https://tiktok.com/@a/video/1"},
        {"task_id": "ext_1"},
        {"task_id": "ext_1"},
    ),
    (
        lambda h: h.get_extract_url("ext_1"),
        "GET",
        "/extract-url/ext_1/",
        {},
        None,
        {"ready": False},
        {"ready": False},
    ),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "query", "body", "answer", "expected"),
    JSON_CALLS,
    ids=[f"{c[1]} {c[2]} {i}" for i, c in enumerate(JSON_CALLS)],
)
def test_request_shape(
    hook: ClipwiseHook,
    api: respx.MockRouter,
    call: Any,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    answer: Any,
    expected: Any,
) -> None:
    route = api.route().respond(json=answer)
    assert call(hook) == expected
    request = route.calls.last.request
    assert request.method == method
    assert request.url.raw_path.decode().split("?")[0] == f"/api/sdk/v1{path}"
    assert dict(request.url.params) == query
    if body is None:
        assert request.content == b""
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == body
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("call", "path", "answer", "expected"),
    [
        (
            lambda h: h.aget_generation("gen 1"),
            "/generations/gen%201/",
            {"generation": {"id": "gen 1"}},
            {"id": "gen 1"},
        ),
        (
            lambda h: h.aget_extract_url("ext_1"),
            "/extract-url/ext_1/",
            {"ready": True, "success": True},
            {"ready": True, "success": True},
        ),
        (
            lambda h: h.aget_format("smart"),
            "/formats/smart/",
            {"format": {"slug": "smart"}},
            {"slug": "smart"},
        ),
    ],
)
async def test_async_reads(
    hook: ClipwiseHook, api: respx.MockRouter, call: Any, path: str, answer: Any, expected: Any
) -> None:
    route = api.get(path__regex=".*").respond(json=answer)
    async with hook:
        assert await call(hook) == expected
    request = route.calls.last.request
    assert request.url.raw_path.decode() == f"/api/sdk/v1{path}"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_every_path_ends_with_a_slash_and_is_quoted() -> None:
    assert api_path("formats") == "/api/sdk/v1/formats/"
    assert api_path("resources", "a/b", "c?d") == "/api/sdk/v1/resources/a%2Fb/c%3Fd/"


def test_unexpected_answer_shape_is_a_permanent_error(hook: ClipwiseHook, api: respx.MockRouter) -> None:
    api.get("/generations/gen_1/").respond(json={"id": "gen_1"})
    with pytest.raises(ClipwiseApiError, match="'generation'") as info:
        hook.get_generation("gen_1")
    assert info.value.code == "malformed_response"
    assert not info.value.is_transient


def test_generate_resource_refuses_other_types_before_any_request(
    hook: ClipwiseHook, api: respx.MockRouter
) -> None:
    with pytest.raises(ClipgenConfigError, match="avatars, background_images"):
        hook.generate_resource("voices", "a deep voice")
    assert api.calls.call_count == 0


# -- generations and idempotency -------------------------------------------------------------------
def test_create_generation_body_and_fresh_uuid_key(hook: ClipwiseHook, api: respx.MockRouter) -> None:
    route = api.post("/generations/").respond(201, json={"id": "gen_1", "status": "queued"})
    assert hook.create_generation("smart", prompt="Launch video", language=None, duration=30) == {
        "id": "gen_1",
        "status": "queued",
    }
    request = route.calls.last.request
    assert json.loads(request.content) == {"format": "smart", "prompt": "Launch video", "duration": 30}
    assert uuid.UUID(request.headers["idempotency-key"]).version == 4
    hook.create_generation("smart", prompt="Launch video")
    assert route.calls[1].request.headers["idempotency-key"] != request.headers["idempotency-key"]


def test_create_generation_keeps_its_key_across_retries(
    hook: ClipwiseHook, api: respx.MockRouter, pauses: list[float]
) -> None:
    route = api.post("/generations/").mock(
        side_effect=[
            envelope(503, "unavailable"),
            httpx.ConnectError("reset"),
            httpx.Response(201, json={"id": "gen_1", "status": "queued"}),
        ]
    )
    assert hook.create_generation("smart", idempotency_key="dag.task.run.0", prompt="x")["id"] == "gen_1"
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert keys == {"dag.task.run.0"}
    assert route.call_count == 3
    assert len(pauses) == 2


# -- errors, transient and permanent ------------------------------------------------------------------
def test_error_envelope_maps_to_clipwise_api_error(hook: ClipwiseHook, api: respx.MockRouter) -> None:
    details = {"missing_inputs": ["prompt"]}
    api.post("/generations/").mock(return_value=envelope(400, "invalid_argument", "Missing inputs", details))
    with pytest.raises(ClipwiseApiError) as info:
        hook.create_generation("smart")
    error = info.value
    assert (error.status_code, error.code, error.request_id) == (400, "invalid_argument", "req_42")
    assert error.details == details
    assert error.message == "Missing inputs"
    assert not error.is_transient
    assert "Clipwise HTTP 400 invalid_argument" in str(error)


def test_request_id_falls_back_to_header(hook: ClipwiseHook, api: respx.MockRouter) -> None:
    api.get("/formats/nope/").respond(404, text="gone", headers={"x-request-id": "req_h"})
    with pytest.raises(ClipwiseApiError) as info:
        hook.get_format("nope")
    assert (info.value.status_code, info.value.request_id) == (404, "req_h")


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "invalid_argument"),
        (401, "invalid_api_key"),
        (403, "insufficient_scope"),
        (404, "not_found"),
        (409, "unsupported_cancellation"),
    ],
)
def test_permanent_errors_are_not_retried(
    hook: ClipwiseHook, api: respx.MockRouter, pauses: list[float], status: int, code: str
) -> None:
    route = api.post("/generations/gen_1/cancel/").mock(return_value=envelope(status, code))
    with pytest.raises(ClipwiseApiError) as info:
        hook.cancel_generation("gen_1")
    assert (info.value.status_code, info.value.code) == (status, code)
    assert route.call_count == 1
    assert pauses == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(
    hook: ClipwiseHook, api: respx.MockRouter, pauses: list[float], status: int
) -> None:
    route = api.get("/formats/").mock(
        side_effect=[envelope(status, "server_error"), httpx.Response(200, json={"formats": []})]
    )
    assert hook.list_formats() == []
    assert route.call_count == 2
    assert len(pauses) == 1


def test_429_honours_retry_after(hook: ClipwiseHook, api: respx.MockRouter, pauses: list[float]) -> None:
    route = api.get("/generations/gen_1/").mock(
        side_effect=[
            envelope(429, "rate_limited", **{"Retry-After": "7"}),
            envelope(429, "rate_limited", **{"Retry-After": "2"}),
            httpx.Response(200, json={"generation": {"id": "gen_1", "status": "processing"}}),
        ]
    )
    assert hook.get_generation("gen_1")["status"] == "processing"
    assert route.call_count == 3
    assert pauses == [7.0, 2.0]


async def test_async_read_retries_429(hook: ClipwiseHook, api: respx.MockRouter, pauses: list[float]) -> None:
    api.get("/generations/gen_1/").mock(
        side_effect=[
            envelope(429, "rate_limited", **{"Retry-After": "3"}),
            httpx.Response(200, json={"generation": {"id": "gen_1", "status": "completed"}}),
        ]
    )
    assert (await hook.aget_generation("gen_1"))["status"] == "completed"
    assert pauses == [3.0]


def test_network_errors_are_retried_then_raised(
    hook: ClipwiseHook, api: respx.MockRouter, pauses: list[float]
) -> None:
    route = api.get("/formats/").mock(side_effect=httpx.ConnectTimeout("timed out"))
    with pytest.raises(ClipwiseApiError) as info:
        hook.list_formats()
    assert info.value.status_code is None
    assert "ConnectTimeout" in str(info.value)
    assert info.value.is_transient
    assert route.call_count == hook.retry.max_attempts
    assert len(pauses) == hook.retry.max_attempts - 1


# -- pages ------------------------------------------------------------------------------------------
def pages_of(total: int, pagination: Any) -> Any:
    """A fake ``fetch(page, limit)`` over ``total`` items whose pagination block ``pagination`` builds."""
    calls: list[tuple[int, int]] = []

    def fetch(page: int, limit: int) -> dict[str, Any]:
        calls.append((page, limit))
        items = [{"id": i} for i in range((page - 1) * limit, min(page * limit, total))]
        block = pagination(page, limit) if callable(pagination) else pagination
        return {"items": items, **({"pagination": block} if block is not None else {})}

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


@pytest.mark.parametrize(
    "pagination",
    [
        lambda page, limit: {"page": page, "has_next": page * limit < 7},
        lambda page, limit: {"has_more": page * limit < 7},
        lambda page, limit: {"next_page": page + 1 if page * limit < 7 else None},
        lambda page, limit: {"page": page, "total_pages": 3},
        lambda page, limit: {"total": 7},
        lambda page, limit: {"page": page, "limit": limit},
    ],
    ids=["has_next", "has_more", "next_page", "total_pages", "total", "short-page"],
)
def test_walk_pages_reads_every_page(pagination: Any) -> None:
    fetch = pages_of(7, pagination)
    assert [item["id"] for item in walk_pages(fetch, page_size=3)] == list(range(7))
    assert fetch.calls == [(1, 3), (2, 3), (3, 3)]


def test_walk_pages_without_pagination_is_one_page() -> None:
    fetch = pages_of(50, None)
    assert len(list(walk_pages(fetch, page_size=10))) == 10
    assert fetch.calls == [(1, 10)]


def test_walk_pages_stops_at_an_empty_page_whatever_the_flags_say() -> None:
    fetch = pages_of(0, {"has_next": True})
    assert list(walk_pages(fetch)) == []
    assert fetch.calls == [(1, 20)]


@pytest.mark.parametrize(
    ("walk", "path", "extra"),
    [
        (
            lambda h: h.iter_resources("poses", page_size=2, video_format="ugc_video"),
            "/resources/poses/",
            {"video_format": "ugc_video"},
        ),
        (lambda h: h.iter_uploads(page_size=2), "/uploads/", {}),
        (lambda h: h.iter_products(page_size=2), "/products/", {}),
    ],
)
def test_iterators_walk_pages_over_http(
    hook: ClipwiseHook, api: respx.MockRouter, walk: Any, path: str, extra: dict[str, str]
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = [{"id": f"x{n}"} for n in range((page - 1) * 2, min(page * 2, 5))]
        return httpx.Response(200, json={"items": items, "pagination": {"page": page, "total": 5}})

    route = api.get(path).mock(side_effect=answer)
    assert [item["id"] for item in walk(hook)] == ["x0", "x1", "x2", "x3", "x4"]
    assert [dict(call.request.url.params) for call in route.calls] == [
        {"page": str(page), "limit": "2", **extra} for page in (1, 2, 3)
    ]


# -- ids and job states ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"upload": {"id": "u"}, "resource": {"id": "r"}, "product": {"id": "p"}, "id": "t"}, "u"),
        ({"resource": {"id": "r"}, "product": {"id": "p"}, "id": "t"}, "r"),
        ({"product": {"id": "p"}, "id": "t"}, "p"),
        ({"upload": {"name": "no id"}, "id": "t"}, "t"),
        ({"id": 17}, "17"),
        ({"success": True}, None),
        (None, None),
    ],
)
def test_extract_id_order(answer: Any, expected: str | None) -> None:
    assert extract_id(answer) == expected


def test_clipwise_job_state() -> None:
    running = clipwise_job_state({"id": "gen_1", "status": "Processing", "progress": 40.0})
    assert (running.status, running.terminal, running.progress) == ("processing", False, 40)
    done = clipwise_job_state({"id": "gen_1", "status": "completed", "outputs": {"video_url": "u"}})
    assert done.terminal
    assert done.succeeded
    failed = clipwise_job_state({"id": "gen_1", "status": "failed", "error": {"message": "boom"}})
    assert (failed.terminal, failed.succeeded, failed.error) == (True, False, "boom")
    assert clipwise_job_state({"id": "gen_1", "status": "cancelled"}).terminal


def test_extract_url_job_state() -> None:
    assert not extract_url_job_state("t", {"ready": False}).terminal
    assert extract_url_job_state("t", {"ready": True, "success": True, "video_url": "v"}).succeeded
    failed = extract_url_job_state("t", {"ready": True, "success": False, "error": "private video"})
    assert (failed.terminal, failed.succeeded) == (True, False)
    assert failed.error == "url_extract_failed: private video"


# -- uploads ----------------------------------------------------------------------------------------
@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "product.png"
    path.write_bytes(b"\x89PNG fake image bytes")
    return path


def test_upload_resource_multipart_from_path(hook: ClipwiseHook, api: respx.MockRouter, png: Path) -> None:
    route = api.post("/resources/product_images/upload/").respond(201, json={"resource": {"id": "pi_1"}})
    answer = hook.upload_resource(
        "product_images", png, product_type="skincare", featured=True, tags=["a", "b"], note=None, rank=2
    )
    assert extract_id(answer) == "pi_1"
    request = route.calls.last.request
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    parts = multipart(request)
    assert parts["file"] == ("product.png", "image/png", png.read_bytes())
    assert fields_of(request) == {
        "product_type": "skincare",
        "featured": "true",
        "tags": '["a", "b"]',
        "rank": "2",
    }


def test_upload_file_from_file_object(hook: ClipwiseHook, api: respx.MockRouter, tmp_path: Path) -> None:
    route = api.post("/uploads/").respond(201, json={"upload": {"id": "upl_1"}})
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"video bytes")
    with clip.open("rb") as handle:
        hook.upload_file(handle, "video", title="Intro")
        assert not handle.closed, "a caller's file object is left open"
    parts = multipart(route.calls.last.request)
    assert parts["file"] == ("clip.mp4", "video/mp4", b"video bytes")
    assert fields_of(route.calls.last.request) == {"purpose": "video", "title": "Intro"}


def test_upload_file_from_nameless_stream(hook: ClipwiseHook, api: respx.MockRouter) -> None:
    import io

    route = api.post("/uploads/").respond(201, json={"upload": {"id": "upl_1"}})
    hook.upload_file(io.BytesIO(b"raw"))
    parts = multipart(route.calls.last.request)
    assert parts["file"] == ("upload", "application/octet-stream", b"raw")
    assert parts["purpose"][2] == b"image"


def test_clone_voice(hook: ClipwiseHook, api: respx.MockRouter, tmp_path: Path) -> None:
    route = api.post("/resources/voices/upload/").respond(201, json={"resource": {"id": "v_1"}})
    sample = tmp_path / "voice.wav"
    sample.write_bytes(b"RIFF")
    assert extract_id(hook.clone_voice(sample, "My voice", language="en")) == "v_1"
    parts = multipart(route.calls.last.request)
    assert parts["file"][:2] == ("voice.wav", "audio/x-wav")
    assert fields_of(route.calls.last.request) == {"name": "My voice", "language": "en"}


def test_upload_retry_sends_the_whole_file_again(
    hook: ClipwiseHook, api: respx.MockRouter, pauses: list[float], tmp_path: Path
) -> None:
    clip = tmp_path / "a.mp3"
    clip.write_bytes(os.urandom(300_000))
    route = api.post("/uploads/").mock(
        side_effect=[envelope(503, "unavailable"), httpx.Response(201, json={"upload": {"id": "upl_1"}})]
    )
    hook.upload_file(clip, "audio")
    assert route.call_count == 2
    assert [multipart(call.request)["file"][2] for call in route.calls] == [clip.read_bytes()] * 2


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_upload_of_a_missing_path_or_directory_is_a_config_error(
    hook: ClipwiseHook, api: respx.MockRouter, tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "nope.mp4" if kind == "missing" else tmp_path
    with pytest.raises(ClipgenConfigError, match="file") as info:
        hook.upload_file(target, "video")
    assert str(target) in str(info.value)
    assert ("directory" in str(info.value)) == (kind == "directory")
    assert api.calls.call_count == 0


def test_form_fields() -> None:
    assert form_fields({"a": None, "b": False, "c": 1.5, "d": {"k": 1}, "e": "x"}) == {
        "b": "false",
        "c": "1.5",
        "d": '{"k": 1}',
        "e": "x",
    }


class StreamingSink(httpx.BaseTransport):
    """A server stand-in that consumes the request body chunk by chunk, keeping only its size."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.largest_chunk = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        size = 0
        for chunk in request.stream:  # type: ignore[union-attr]
            size += len(chunk)
            self.largest_chunk = max(self.largest_chunk, len(chunk))
        self.sizes.append(size)
        return httpx.Response(201, json={"upload": {"id": "upl_big"}})


class ReadRecorder:
    """A binary file wrapper that remembers the largest single ``read()``."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self.name = handle.name
        self.largest_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.largest_read = max(self.largest_read, len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


BIG = 50 * 1024 * 1024


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "big.mp4"
    with path.open("wb") as handle:
        handle.truncate(BIG)
    return path


def test_large_upload_from_a_path_is_streamed(hook: ClipwiseHook, big_file: Path) -> None:
    sink = StreamingSink()
    hook.get_conn()._client = httpx.Client(transport=sink)
    tracemalloc.start()
    try:
        assert extract_id(hook.upload_file(big_file, "video")) == "upl_big"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert BIG < sink.sizes[0] < BIG + 1024
    assert sink.largest_chunk <= 64 * 1024
    assert peak < 5 * 1024 * 1024, f"peak {peak} bytes: the file was read into memory"


def test_large_upload_from_a_file_object_is_read_in_small_chunks(hook: ClipwiseHook, big_file: Path) -> None:
    sink = StreamingSink()
    hook.get_conn()._client = httpx.Client(transport=sink)
    with big_file.open("rb") as raw:
        recorder = ReadRecorder(raw)
        hook.upload_resource("reference_ads", recorder, type="video")
    assert BIG < sink.sizes[0] < BIG + 1024
    assert 0 < recorder.largest_read <= 64 * 1024


# -- local-file auto-upload -------------------------------------------------------------------------
class FakeUploader:
    """Records uploads and answers ids like ``id1``, ``id2``…"""

    def __init__(self) -> None:
        self.calls: list[tuple[UploadTarget, str]] = []

    def __call__(self, target: UploadTarget, source: FileSource) -> str:
        self.calls.append((target, source.name))
        return f"id{len(self.calls)}"


def resolve_local_files(format: str, params: dict[str, Any], upload: FakeUploader) -> dict[str, Any]:
    """Plan the uploads of ``params`` (checking every value), then run them with ``upload``."""
    return UploadPlan.of(format, params).run(upload)


@pytest.fixture
def media(tmp_path: Path) -> Path:
    for name in ("a.mp4", "b.mp3", "c.png", "d.png", "e.jpg"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


@pytest.mark.parametrize(
    ("format", "param", "target"),
    [
        ("video_to_text", "video", UploadTarget("upload", "video")),
        ("avatar_lipsync", "audio", UploadTarget("upload", "audio")),
        ("image_to_video", "image", UploadTarget("upload", "image")),
        ("image_to_video", "source_image", UploadTarget("upload", "image")),
        ("ugc_model_shoot", "product_image", UploadTarget("resource", "product_images")),
        ("inventory_shoot", "reference_image", UploadTarget("resource", "poses")),
        ("ugc_video", "background_image", UploadTarget("resource", "background_images")),
        ("viral_dancing_video", "reference_video", UploadTarget("resource", "reference_videos")),
        ("Viral Dancing Video", "reference_video", UploadTarget("resource", "reference_videos")),
        ("ad_replicate", "reference_video", UploadTarget("resource", "reference_ads")),
    ],
)
def test_single_file_params_map_to_their_target(
    media: Path, format: str, param: str, target: UploadTarget
) -> None:
    upload = FakeUploader()
    resolved = resolve_local_files(format, {param: str(media / "c.png"), "prompt": "keep"}, upload)
    assert resolved == {param: "id1", "prompt": "keep"}
    assert upload.calls == [(target, "c.png")]


@pytest.mark.parametrize(
    ("param", "target"),
    [
        ("product_images", UploadTarget("resource", "product_images")),
        ("images", UploadTarget("upload", "image")),
        ("media_ids", UploadTarget("upload", "image")),
        ("source_images", UploadTarget("upload", "image")),
    ],
)
def test_list_params_upload_each_local_item(media: Path, param: str, target: UploadTarget) -> None:
    upload = FakeUploader()
    value = (media / "c.png", "upl_existing", str(media / "d.png"))
    resolved = resolve_local_files("text_to_image", {param: value}, upload)
    assert resolved == {param: ["id1", "upl_existing", "id2"]}
    assert upload.calls == [(target, "c.png"), (target, "d.png")]


def test_ids_urls_and_other_params_pass_through(media: Path) -> None:
    upload = FakeUploader()
    params = {
        "video": "https://cdn.example.com/in.mp4",
        "avatar": "av_1",
        "image": "upl_123",
        "reference_image": "pose_9",
        "script": str(media / "a.mp4"),
        "voice": None,
    }
    assert resolve_local_files("ugc_video", params, upload) == params
    assert upload.calls == []


def test_same_file_twice_is_uploaded_once(media: Path) -> None:
    upload = FakeUploader()
    png = media / "c.png"
    resolved = resolve_local_files("text_to_image", {"image": png, "images": [str(png)]}, upload)
    assert resolved == {"image": "id1", "images": ["id1"]}
    assert len(upload.calls) == 1


@pytest.mark.parametrize(
    ("param", "value", "named"),
    [
        ("video", "./missing.mp4", "video"),
        ("audio", "voice.wav", "audio"),
        ("product_image", "~/nowhere/p.png", "product_image"),
        ("image", Path("/no/such/file"), "image"),
        ("images", ["upl_1", "shots/x.jpg"], "images[1]"),
    ],
)
def test_a_path_that_does_not_exist_is_a_config_error_before_any_upload(
    media: Path, param: str, value: Any, named: str
) -> None:
    upload = FakeUploader()
    params = {"background_image": str(media / "c.png"), param: value}
    with pytest.raises(ClipgenConfigError, match="no such file") as info:
        resolve_local_files("ugc_video", params, upload)
    assert str(info.value).startswith(f"{named}:")
    assert upload.calls == [], "nothing is uploaded when any path is wrong"


def test_a_directory_is_a_config_error(media: Path) -> None:
    with pytest.raises(ClipgenConfigError, match="directory"):
        resolve_local_files("video_to_text", {"video": str(media)}, FakeUploader())


def test_create_generation_uploads_local_files_first(
    hook: ClipwiseHook, api: respx.MockRouter, media: Path
) -> None:
    uploads = api.post("/uploads/").respond(201, json={"upload": {"id": "upl_7"}})
    poses = api.post("/resources/poses/upload/").respond(201, json={"resource": {"id": "pose_7"}})
    create = api.post("/generations/").respond(201, json={"id": "gen_1", "status": "queued"})
    hook.create_generation(
        "inventory_shoot",
        mode="product_shoot",
        image=media / "c.png",
        reference_image=str(media / "e.jpg"),
        avatar="av_1",
        idempotency_key="k1",
    )
    assert fields_of(uploads.calls.last.request) == {"purpose": "image"}
    assert multipart(poses.calls.last.request)["file"][:2] == ("e.jpg", "image/jpeg")
    assert json.loads(create.calls.last.request.content) == {
        "format": "inventory_shoot",
        "mode": "product_shoot",
        "image": "upl_7",
        "reference_image": "pose_7",
        "avatar": "av_1",
    }


def test_create_generation_with_a_typo_path_sends_nothing(hook: ClipwiseHook, api: respx.MockRouter) -> None:
    with pytest.raises(ClipgenConfigError, match="video: no such file"):
        hook.create_generation("video_to_text", video="./missing.mp4")
    assert api.calls.call_count == 0


def test_upload_without_an_id_in_the_answer_is_an_error(
    hook: ClipwiseHook, api: respx.MockRouter, media: Path
) -> None:
    api.post("/uploads/").respond(201, json={"ok": True})
    with pytest.raises(ClipwiseApiError, match="answered no id"):
        hook.prepare_generation_params("video_to_text", {"video": media / "a.mp4"})


# -- async twins ---------------------------------------------------------------------------------------
#: (method, args, kwargs, the API's answer): each sync call with an async twin, and one way to call it
TWINS: list[tuple[str, tuple[Any, ...], dict[str, Any], Any]] = [
    (
        "list_formats",
        (),
        {"kind": "tool", "platform": "video_company", "include_inactive": True},
        {"formats": []},
    ),
    ("get_format", ("UGC Video/v2",), {}, {"format": {"slug": "ugc_video"}}),
    ("list_resource_types", (), {}, {"resource_types": [{"type": "avatars"}]}),
    (
        "list_resources",
        ("avatars",),
        {"page": 2, "limit": 10, "video_format": "ugc_video", "collection": None, "file_type": "image"},
        {"items": [{"id": "av_1"}], "pagination": {}},
    ),
    ("get_resource", ("poses", "pose 1"), {}, {"resource": {"id": "pose 1"}}),
    (
        "create_generation",
        ("smart",),
        {"idempotency_key": "dag.task.run.0", "prompt": "Launch", "language": None, "duration": 30},
        {"id": "gen_1", "status": "queued"},
    ),
    ("get_generation", ("gen 1",), {}, {"generation": {"id": "gen 1", "status": "processing"}}),
    ("cancel_generation", ("gen_1",), {}, {"generation": {"id": "gen_1", "status": "cancelled"}}),
    ("start_extract_url", ("https://tiktok.com/@a/video/1",), {}, {"task_id": "ext_1"}),
    ("get_extract_url", ("ext_1",), {}, {"ready": False}),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "answer"), TWINS, ids=[twin[0] for twin in TWINS])
async def test_async_twin_sends_what_the_sync_call_sends(
    hook: ClipwiseHook, api: respx.MockRouter, name: str, args: Any, kwargs: Any, answer: Any
) -> None:
    route = api.route().respond(json=answer)
    expected = getattr(hook, name)(*args, **kwargs)
    async with hook:
        assert await getattr(hook, f"a{name}")(*args, **kwargs) == expected
    sync_request, async_request = (call.request for call in route.calls)
    assert async_request.method == sync_request.method
    assert async_request.url.raw_path == sync_request.url.raw_path
    assert async_request.content == sync_request.content
    for header in ("authorization", "accept", "user-agent", "content-type", "idempotency-key"):
        assert async_request.headers.get(header) == sync_request.headers.get(header), header


def test_sync_only_calls_are_the_ones_the_docs_name() -> None:
    """The hook's docstring (and the README) say which calls have no async twin: keep them true."""
    calls = {
        name
        for name, value in vars(ClipwiseHook).items()
        if inspect.isfunction(value) and not name.startswith("_") and not inspect.iscoroutinefunction(value)
    }
    twins = {name for name in calls if inspect.iscoroutinefunction(getattr(ClipwiseHook, f"a{name}", None))}
    assert twins == {twin[0] for twin in TWINS}
    assert calls - twins == {
        "upload_resource",
        "upload_file",
        "clone_voice",
        "prepare_generation_params",
        "list_uploads",
        "iter_uploads",
        "iter_resources",
        "delete_upload",
        "list_products",
        "iter_products",
        "create_product",
        "update_product",
        "delete_product",
        "list_voices",
        "generate_resource",
        "delete_resource",
    }


async def test_acreate_generation_keeps_its_generated_key_across_retries(
    hook: ClipwiseHook, api: respx.MockRouter, pauses: list[float]
) -> None:
    route = api.post("/generations/").mock(
        side_effect=[
            envelope(503, "unavailable"),
            httpx.ConnectError("reset"),
            httpx.Response(201, json={"id": "gen_1", "status": "queued"}),
        ]
    )
    assert (await hook.acreate_generation("smart", prompt="x"))["id"] == "gen_1"
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert route.call_count == 3
    assert len(keys) == 1
    assert uuid.UUID(keys.pop()).version == 4
    assert len(pauses) == 2


async def test_acreate_generation_uploads_local_files_first(
    hook: ClipwiseHook, api: respx.MockRouter, media: Path
) -> None:
    uploads = api.post("/uploads/").respond(201, json={"upload": {"id": "upl_7"}})
    create = api.post("/generations/").respond(201, json={"id": "gen_1", "status": "queued"})
    await hook.acreate_generation("video_to_text", video=media / "a.mp4", idempotency_key="k1")
    assert multipart(uploads.calls.last.request)["file"][0] == "a.mp4"
    assert json.loads(create.calls.last.request.content) == {"format": "video_to_text", "video": "upl_7"}
    assert create.calls.last.request.headers["idempotency-key"] == "k1"


async def test_acreate_generation_with_a_typo_path_sends_nothing(
    hook: ClipwiseHook, api: respx.MockRouter
) -> None:
    with pytest.raises(ClipgenConfigError, match="video: no such file"):
        await hook.acreate_generation("video_to_text", video="./missing.mp4")
    assert api.calls.call_count == 0
