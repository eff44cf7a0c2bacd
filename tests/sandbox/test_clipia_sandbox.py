"""The Clipia sandbox over real HTTP on loopback: every route, error code, fault and webhook path."""

from __future__ import annotations

import datetime
import email.utils
import io
import json
import struct
import time
import uuid
import wave
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from clipgen_provider.sandbox.server import SandboxServer, free_port
from clipgen_provider.sandbox.settings import SandboxSettings
from clipgen_provider.webhooks import signature

from .conftest import FAST_SETTINGS, WebhookReceiver

SECRET = "whsec_sandbox"
TERMINAL = {"COMPLETED", "FAILED", "CANCELED"}


# ---------------------------------------------------------------- helpers


def new_key(prefix: str = "clipia_test_") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy, with a deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def error_of(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "type"}, body
    return body["error"]


def parse_iso(value: str) -> datetime.datetime:
    assert value.endswith("Z")
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


class Api:
    """An httpx client bound to one API key (one sandbox account)."""

    def __init__(self, base_url: str, key: str) -> None:
        self.key = key
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10)

    def submit(self, model: str, input: dict[str, Any], **extra: Any) -> httpx.Response:
        headers = {"Idempotency-Key": extra.pop("idempotency_key")} if "idempotency_key" in extra else {}
        return self.http.post(f"/v1/models/{model}", json={"input": input, **extra}, headers=headers)

    def submit_ok(self, model: str, input: dict[str, Any], **extra: Any) -> dict[str, Any]:
        response = self.submit(model, input, **extra)
        assert response.status_code == 200, response.text
        return response.json()

    def status(self, request_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/requests/{request_id}/status")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_terminal(self, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
        wait_until(lambda: self.status(request_id)["status"] in TERMINAL, timeout)
        response = self.http.get(f"/v1/requests/{request_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def account(self) -> dict[str, Any]:
        response = self.http.get("/v1/account")
        assert response.status_code == 200, response.text
        return response.json()

    def balance(self) -> float:
        return self.account()["balance"]["credits"]


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    """The session sandbox, with faults cleared and fast settings restored after each test."""
    yield sandbox_server
    sandbox_server.clear_faults()
    sandbox_server.update_settings(**FAST_SETTINGS)


@pytest.fixture
def make_api(sandbox: SandboxServer) -> Iterator[Callable[..., Api]]:
    """Build clients with fresh keys (fresh accounts); all closed after the test."""
    clients: list[Api] = []

    def make(prefix: str = "clipia_test_") -> Api:
        clients.append(Api(sandbox.url, new_key(prefix)))
        return clients[-1]

    yield make
    for client in clients:
        client.http.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    """A client with a fresh key, hence a fresh account."""
    return make_api()


def png_size(data: bytes) -> tuple[int, int]:
    """Parse a PNG strictly (signature, every chunk's CRC, IHDR, pixel data); return its size."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, payload = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + payload) == crc, kind
        chunks.append((kind, payload))
        offset += 12 + length
    assert offset == len(data)
    assert chunks[0][0] == b"IHDR"
    assert chunks[-1] == (b"IEND", b"")
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    assert (depth, colour) == (8, 2)
    pixels = zlib.decompress(b"".join(payload for kind, payload in chunks if kind == b"IDAT"))
    assert len(pixels) == height * (1 + 3 * width)
    return width, height


def mp4_boxes(data: bytes) -> list[bytes]:
    """Walk the top-level ISO-BMFF boxes; they must tile the file exactly."""
    offset, kinds = 0, []
    while offset < len(data):
        (size,) = struct.unpack(">I", data[offset : offset + 4])
        assert size >= 8
        kinds.append(data[offset + 4 : offset + 8])
        offset += size
    assert offset == len(data)
    return kinds


def check_mp3(data: bytes) -> None:
    """An ID3v2 tag whose synchsafe size is consistent, followed by MPEG audio frame headers."""
    assert data[:3] == b"ID3"
    size = 0
    for byte in data[6:10]:
        assert byte < 0x80
        size = size << 7 | byte
    audio = data[10 + size :]
    assert audio
    assert len(audio) % 417 == 0
    for offset in range(0, len(audio), 417):
        assert audio[offset : offset + 2] == b"\xff\xfb"


def check_valid(ext: str, data: bytes) -> None:
    if ext == "png":
        png_size(data)
    elif ext == "mp4":
        assert mp4_boxes(data)[:2] == [b"ftyp", b"moov"]
    elif ext == "mp3":
        check_mp3(data)
    elif ext == "wav":
        with wave.open(io.BytesIO(data)) as wav:
            assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 8000, 1)
            assert wav.getnframes() == len(data) - 44
    elif ext == "json":
        assert json.loads(data)["sandbox"] is True
    elif ext == "srt":
        assert data.startswith(b"1\n00:00:00,000 --> ")
    else:
        assert data.decode().startswith("clipgen sandbox")


# ---------------------------------------------------------------- health, auth, routing


def test_healthz_and_no_docs(sandbox):
    assert httpx.get(f"{sandbox.url}/healthz").json() == {"status": "ok"}
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert httpx.get(sandbox.url + path).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic clipia_test_x",
        "Bearer sk_live_x",
        "Bearer clipia_test_",
        "Bearer clipia_prod_x",
    ],
)
def test_bad_or_missing_key_is_401(sandbox, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, path in (("GET", "/v1/account"), ("GET", "/v1/models"), ("POST", "/v1/models/nano-banana-2")):
        response = httpx.request(method, sandbox.url + path, headers=headers, json={"input": {"prompt": "x"}})
        assert response.status_code == 401
        assert error_of(response) | {"message": ""} == {
            "code": "invalid_api_key",
            "type": "authentication_error",
            "message": "",
        }


def test_test_and_live_keys_are_both_accepted(sandbox):
    for prefix in ("clipia_test_", "clipia_live_"):
        response = httpx.get(
            f"{sandbox.url}/v1/account", headers={"Authorization": f"Bearer {new_key(prefix)}"}
        )
        assert response.status_code == 200


def test_unknown_paths_and_methods_use_the_envelope(api):
    response = api.http.get("/v1/nothing/here")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    response = api.http.delete("/v1/models")
    assert response.status_code == 405
    assert error_of(response)["code"] == "invalid_request"
    response = api.http.get("/v1/models/a%2Fb")
    assert response.status_code == 404
    assert error_of(response)["code"] == "model_not_found"


# ---------------------------------------------------------------- catalog and estimate

MODEL_FIELDS = {"id", "slug", "type", "name", "description", "capabilities", "pricing", "input_schema"}
PRICING_FIELDS = {
    "credits",
    "billing_unit",
    "unit_size",
    "minimum_credits",
    "available",
    "estimate_required",
    "credits_base",
    "multipliers",
    "note",
}
PARAM_FIELDS = {
    "name",
    "type",
    "required",
    "default",
    "label",
    "hint",
    "options",
    "validation",
    "min",
    "max",
    "step",
    "minLength",
    "maxLength",
}


def test_catalog_lists_every_model_with_every_contract_field(api):
    body = api.http.get("/v1/models").json()
    assert body["object"] == "list"
    models = {m["slug"]: m for m in body["data"]}
    assert {
        "nano-banana-2": "image",
        "seedance-2-fast-t2v": "video",
        "seedance-2-fast-i2v": "video",
        "gemini-3-1-flash-tts": "audio",
        "suno-music": "audio",
        "gpt-5.6-sol": "text",
    }.items() <= {slug: m["type"] for slug, m in models.items()}.items()
    for model in models.values():
        assert model.keys() >= MODEL_FIELDS
        assert set(model["pricing"]) == PRICING_FIELDS
        assert set(model["input_schema"]) == {"parameters", "parameterGroups"}
        for param in model["input_schema"]["parameters"]:
            assert set(param) == PARAM_FIELDS
        grouped = {name for group in model["input_schema"]["parameterGroups"] for name in group["parameters"]}
        assert grouped == {p["name"] for p in model["input_schema"]["parameters"]}
    video = models["seedance-2-fast-t2v"]["pricing"]
    assert video["estimate_required"] is True
    assert video["credits"] is None
    assert video["credits_base"]
    assert video["multipliers"]
    assert models["gemini-3-1-flash-tts"]["text_limits"] == {"min_chars": 1, "max_chars": 5000}


def test_get_model_decodes_the_path_and_404s_unknown_slugs(api):
    assert api.http.get("/v1/models/nano-banana-2").json()["slug"] == "nano-banana-2"
    assert api.http.get("/v1/models/nano%2Dbanana%2D2").json()["slug"] == "nano-banana-2"
    assert api.http.get("/v1/models/gpt-5.6-sol").json()["type"] == "text"
    for method, path in (
        ("GET", "/v1/models/nope"),
        ("POST", "/v1/models/nope"),
        ("POST", "/v1/models/nope/estimate"),
    ):
        response = api.http.request(method, path, json={"input": {"prompt": "x"}})
        assert response.status_code == 404
        assert error_of(response) | {"message": ""} == {
            "code": "model_not_found",
            "type": "invalid_request_error",
            "message": "",
        }


def test_estimate_is_deterministic_and_depends_on_the_input(api):
    def credits(model: str, input: dict[str, Any]) -> int:
        response = api.http.post(f"/v1/models/{model}/estimate", json={"input": input})
        assert response.status_code == 200, response.text
        assert response.json()["warnings"] == []
        return response.json()["credits"]

    four = credits("seedance-2-fast-t2v", {"prompt": "x", "duration": 4})
    twelve = credits("seedance-2-fast-t2v", {"prompt": "x", "duration": 12})
    assert twelve == 3 * four
    assert credits("seedance-2-fast-t2v", {"prompt": "x", "duration": 4, "resolution": "480p"}) < four
    assert credits("seedance-2-fast-t2v", {"prompt": "x", "duration": 4}) == four
    assert credits("seedance-2-fast-i2v", {"image_url": "https://x.test/a.png", "duration": 4}) == four
    assert credits("nano-banana-2", {"prompt": "x", "num_images": 3}) == 3 * credits(
        "nano-banana-2", {"prompt": "x"}
    )
    assert credits("gemini-3-1-flash-tts", {"prompt": "x" * 2500}) > credits(
        "gemini-3-1-flash-tts", {"prompt": "x"}
    )
    submitted = api.submit_ok("seedance-2-fast-t2v", {"prompt": "x", "duration": 12})
    assert submitted["cost"] == twelve


def test_warnings_for_keys_the_model_does_not_apply(api):
    expected = [
        {"code": "unsupported_parameter", "parameter": "image_url"},
        {"code": "unknown_parameter", "parameter": "zzz"},
    ]
    body = {"prompt": "x", "duration": 4, "image_url": "https://x.test/a.png", "zzz": 1}
    for response in (
        api.submit("seedance-2-fast-t2v", body),
        api.http.post("/v1/models/seedance-2-fast-t2v/estimate", json={"input": body}),
    ):
        assert response.status_code == 200
        warnings = response.json()["warnings"]
        assert [{k: w[k] for k in ("code", "parameter")} for w in warnings] == expected
        assert all(w["message"] for w in warnings)
    assert api.submit_ok("nano-banana-2", {"prompt": "fine"})["warnings"] == []


# ---------------------------------------------------------------- validation errors


@pytest.mark.parametrize(
    ("model", "input", "names"),
    [
        ("nano-banana-2", {}, "prompt"),
        ("nano-banana-2", {"prompt": 5}, "prompt"),
        ("nano-banana-2", {"prompt": "x", "num_images": "2"}, "num_images"),
        ("nano-banana-2", {"prompt": "x", "num_images": True}, "num_images"),
        ("nano-banana-2", {"prompt": "x", "num_images": 5}, "num_images"),
        ("nano-banana-2", {"prompt": "x", "num_images": 0}, "num_images"),
        ("nano-banana-2", {"prompt": "x", "aspect_ratio": "5:4"}, "aspect_ratio"),
        ("seedance-2-fast-t2v", {"prompt": "x", "duration": 3}, "duration"),
        ("seedance-2-fast-t2v", {"prompt": "x", "duration": 13}, "duration"),
        ("seedance-2-fast-t2v", {"prompt": "x", "duration": 5.5}, "duration"),
        ("seedance-2-fast-i2v", {"prompt": "x"}, "image_url"),
        ("seedance-2-fast-i2v", {"image_url": "not a url"}, "image_url"),
        ("gemini-3-1-flash-tts", {"prompt": ""}, "prompt"),
        ("gemini-3-1-flash-tts", {"prompt": "x" * 5001}, "prompt"),
        ("gemini-3-1-flash-tts", {"prompt": "x", "voice": "Bob"}, "voice"),
        ("suno-music", {"prompt": "x", "instrumental": "yes"}, "instrumental"),
    ],
)
def test_invalid_input_is_400_before_any_credit_moves(api, model, input, names):
    start = api.account()
    for path in (f"/v1/models/{model}", f"/v1/models/{model}/estimate"):
        response = api.http.post(path, json={"input": input})
        assert response.status_code == 400
        error = error_of(response)
        assert (error["code"], error["type"]) == ("model_input_invalid", "invalid_request_error")
        assert f"input.{names}" in error["message"]
    assert api.account() == start


def test_validation_messages_say_what_is_allowed(api):
    message = error_of(api.submit("seedance-2-fast-t2v", {"prompt": "x", "duration": 20}))["message"]
    assert "between 4 and 12" in message
    assert "20" in message
    message = error_of(api.submit("nano-banana-2", {"prompt": "x", "aspect_ratio": "5:4"}))["message"]
    assert '"16:9"' in message
    message = error_of(api.submit("gemini-3-1-flash-tts", {"prompt": "x" * 5001}))["message"]
    assert "between 1 and 5000 characters" in message


@pytest.mark.parametrize(
    "content", [b"not json", b"[1, 2]", b'{"input": "x"}', b'{"input": [1]}', b"{}", b"\xff\xfe"]
)
def test_malformed_bodies_are_400_invalid_request(api, content):
    response = api.http.post(
        "/v1/models/nano-banana-2", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"


def test_text_models_are_not_served_by_the_queue(api):
    for path in ("/v1/models/gpt-5.6-sol", "/v1/models/gpt-5.6-sol/estimate"):
        response = api.http.post(path, json={"input": {"prompt": "hi"}})
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "invalid_request"
        assert "chat API" in error["message"]


@pytest.mark.parametrize("url", ["not a url", "/relative/hook", "ftp://x.test/hook", "http://", 5, ""])
def test_webhook_url_must_be_absolute_http(api, url):
    response = api.submit("nano-banana-2", {"prompt": "x"}, webhook_url=url)
    assert response.status_code == 400
    assert error_of(response)["code"] == "webhook_url_invalid"
    assert api.account()["usage_30d"]["requests"] == 0


# ---------------------------------------------------------------- lifecycle


def test_lifecycle_queue_progress_logs_and_result(sandbox, api):
    sandbox.update_settings(queue_seconds=0.3, run_seconds=1.0)
    submitted = api.submit_ok("nano-banana-2", {"prompt": "a red fox"})
    request_id = submitted["request_id"]
    assert submitted["status"] == "IN_QUEUE"
    assert submitted["queue_position"] == 0
    assert submitted["status_url"] == f"{sandbox.url}/v1/requests/{request_id}/status"
    assert submitted["response_url"] == f"{sandbox.url}/v1/requests/{request_id}"
    pending = api.http.get(submitted["response_url"])
    assert pending.status_code == 202
    assert set(pending.json()) == {"request_id", "status", "queue_position", "progress", "logs"}

    seen: list[dict[str, Any]] = []

    def terminal() -> bool:
        seen.append(api.http.get(submitted["status_url"]).json())
        return seen[-1]["status"] in TERMINAL

    wait_until(terminal, timeout=10, interval=0.03)
    statuses = [s["status"] for s in seen]
    assert statuses[-1] == "COMPLETED"
    assert "IN_PROGRESS" in statuses
    assert statuses == sorted(statuses, key=["IN_QUEUE", "IN_PROGRESS", "COMPLETED"].index)
    running = [s["progress"] for s in seen if s["status"] == "IN_PROGRESS"]
    assert running == sorted(running)
    assert all(0 <= p < 100 for p in running)
    assert seen[-1]["progress"] == 100
    assert seen[-1]["queue_position"] is None
    assert next(line["message"] for line in seen[-1]["logs"]) == "Request queued"
    assert len(seen[-1]["logs"]) == 3
    assert all(parse_iso(line["timestamp"]) for line in seen[-1]["logs"])

    result = api.http.get(submitted["response_url"])
    assert result.status_code == 200
    body = result.json()
    assert set(body) == {
        "request_id",
        "status",
        "model",
        "output",
        "error",
        "cost",
        "created_at",
        "completed_at",
    }
    assert (body["status"], body["model"], body["error"], body["cost"]) == (
        "COMPLETED",
        "nano-banana-2",
        None,
        submitted["cost"],
    )
    elapsed = parse_iso(body["completed_at"]) - parse_iso(body["created_at"])
    assert abs(elapsed.total_seconds() - 1.3) < 0.01


def test_queue_positions_count_earlier_queued_jobs(sandbox, api, make_api):
    sandbox.update_settings(queue_seconds=5.0)
    ids = [api.submit_ok("nano-banana-2", {"prompt": f"n{i}"})["request_id"] for i in range(3)]
    assert [api.status(i)["queue_position"] for i in ids] == [0, 1, 2]
    other = make_api()
    assert other.submit_ok("nano-banana-2", {"prompt": "x"})["queue_position"] == 0


def test_settings_changes_do_not_alter_running_jobs(sandbox, api):
    sandbox.update_settings(queue_seconds=0.0, run_seconds=30.0)
    slow = api.submit_ok("nano-banana-2", {"prompt": "slow"})["request_id"]
    sandbox.update_settings(run_seconds=0.1)
    fast = api.submit_ok("nano-banana-2", {"prompt": "fast"})["request_id"]
    api.wait_terminal(fast)
    assert api.status(slow)["status"] == "IN_PROGRESS"


# ---------------------------------------------------------------- outputs and media


def fetch(url: str) -> httpx.Response:
    response = httpx.get(url)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    return response


def test_outputs_by_type_and_file_sizes_match_the_bytes(api):
    jobs = {
        "image": api.submit_ok("nano-banana-2", {"prompt": "x", "num_images": 3, "aspect_ratio": "16:9"}),
        "video": api.submit_ok("seedance-2-fast-t2v", {"prompt": "x", "duration": 4}),
        "speech": api.submit_ok("gemini-3-1-flash-tts", {"prompt": "Hello", "voice": "Puck"}),
        "music": api.submit_ok("suno-music", {"prompt": "x", "instrumental": True}),
    }
    out = {name: api.wait_terminal(job["request_id"])["output"] for name, job in jobs.items()}

    images = out["image"]["images"]
    assert len(images) == 3
    for image in images:
        assert set(image) == {"url", "content_type", "width", "height", "file_size"}
        response = fetch(image["url"])
        assert response.headers["content-type"] == image["content_type"] == "image/png"
        assert len(response.content) == image["file_size"]
        assert png_size(response.content) == (image["width"], image["height"]) == (64, 36)
    assert len({fetch(i["url"]).content for i in images}) == 3  # colour differs per item

    video = out["video"]["video"]
    assert set(video) == {"url", "content_type", "file_size"}
    response = fetch(video["url"])
    assert (response.headers["content-type"], len(response.content)) == ("video/mp4", video["file_size"])
    check_valid("mp4", response.content)

    for name, tracks in (("speech", 1), ("music", 2)):
        audio = out[name]
        assert len(audio["audios"]) == tracks
        assert audio["audios"][0] == audio["audio"]
        for track in audio["audios"]:
            assert track["format"] == "mp3"
            assert track["content_type"] == "audio/mpeg"
            response = fetch(track["url"])
            assert len(response.content) == track["file_size"]
            check_mp3(response.content)


def test_size_marker_makes_big_outputs_that_stream(api):
    size = 3_000_000
    request_id = api.submit_ok("seedance-2-fast-t2v", {"prompt": f"big [sandbox:size={size}]"})["request_id"]
    video = api.wait_terminal(request_id)["output"]["video"]
    assert video["file_size"] == size
    with httpx.stream("GET", video["url"]) as response:
        assert int(response.headers["content-length"]) == size
        chunks = list(response.iter_raw())
    assert len(chunks) > 1
    assert sum(map(len, chunks)) == size
    check_valid("mp4", b"".join(chunks))


@pytest.mark.parametrize("size", [10, 999_999_999_999])
def test_size_marker_out_of_range_is_refused_at_submit(api, size):
    response = api.submit("gemini-3-1-flash-tts", {"prompt": f"x [sandbox:size={size}]"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "model_input_invalid"
    assert api.account()["usage_30d"]["requests"] == 0


@pytest.mark.parametrize("ext", ["png", "mp4", "mp3", "wav", "srt", "txt", "json"])
def test_media_are_deterministic_valid_and_pad_to_any_size(sandbox, ext):
    url = f"{sandbox.url}/media/item-{ext}-7.{ext}"
    base = fetch(url)
    assert fetch(url).content == base.content
    check_valid(ext, base.content)
    for size in (len(base.content), len(base.content) + 1, len(base.content) + 9_999, 1_234_567):
        padded = fetch(f"{url}?size={size}")
        assert len(padded.content) == size
        assert padded.headers["content-type"] == base.headers["content-type"]
        check_valid(ext, padded.content)
    head = httpx.head(f"{url}?size=5000")
    assert head.status_code == 200
    assert head.headers["content-length"] == "5000"
    assert head.content == b""


def test_png_size_comes_from_the_item_id(sandbox):
    assert png_size(fetch(f"{sandbox.url}/media/abc-30x12.png").content) == (30, 12)
    assert png_size(fetch(f"{sandbox.url}/media/abc.png").content) == (64, 64)


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/media/x.exe", 404, "not_found"),
        ("/media/noext", 404, "not_found"),
        ("/media/x.png?size=10", 400, "invalid_request"),
        ("/media/x.png?size=abc", 400, "invalid_request"),
        ("/media/x.png?size=999999999999", 400, "invalid_request"),
    ],
)
def test_media_errors(sandbox, path, status, code):
    response = httpx.get(sandbox.url + path)
    assert response.status_code == status
    assert error_of(response)["code"] == code


# ---------------------------------------------------------------- money, idempotency, accounts


def test_balance_arithmetic_reserve_charge_and_refunds(sandbox, api):
    sandbox.update_settings(queue_seconds=0.0, run_seconds=1.0)
    initial = api.balance()
    assert initial == FAST_SETTINGS["initial_credits"]
    ok = api.submit_ok("nano-banana-2", {"prompt": "ok", "num_images": 2})
    failed = api.submit_ok("nano-banana-2", {"prompt": "x [sandbox:fail]"})
    canceled = api.submit_ok("seedance-2-fast-t2v", {"prompt": "x [sandbox:cancel]", "duration": 4})
    reserved = ok["cost"] + failed["cost"] + canceled["cost"]
    assert (ok["cost"], failed["cost"], canceled["cost"]) == (8, 4, 60)
    while_running = api.account()
    assert while_running["balance"]["credits"] == initial - reserved
    assert while_running["usage_30d"]["credits_spent"] == 0

    results = {
        name: api.wait_terminal(job["request_id"])
        for name, job in (("ok", ok), ("failed", failed), ("canceled", canceled))
    }
    assert results["ok"]["cost"] == 8
    assert (results["failed"]["status"], results["failed"]["cost"], results["failed"]["output"]) == (
        "FAILED",
        0,
        None,
    )
    assert results["failed"]["error"]["code"]
    assert results["failed"]["error"]["message"]
    assert (results["canceled"]["status"], results["canceled"]["cost"]) == ("CANCELED", 0)
    assert results["canceled"]["error"]["code"] == "canceled"
    account = api.account()
    assert account["balance"]["credits"] == initial - 8
    assert account["usage_30d"] == {"requests": 3, "credits_spent": 8}
    assert account["account_id"].startswith("acct_")
    assert api.key not in json.dumps(account)


def test_reserve_beyond_balance_is_402_and_creates_nothing(sandbox, make_api):
    sandbox.update_settings(initial_credits=10.0)
    api = make_api()
    assert api.submit("seedance-2-fast-t2v", {"prompt": "x", "duration": 4}).status_code == 402
    api.submit_ok("nano-banana-2", {"prompt": "a"})
    api.submit_ok("nano-banana-2", {"prompt": "b"})
    response = api.submit("nano-banana-2", {"prompt": "c"})
    assert response.status_code == 402
    assert error_of(response) | {"message": ""} == {
        "code": "insufficient_credits",
        "type": "billing_error",
        "message": "",
    }
    assert api.account()["usage_30d"]["requests"] == 2
    assert api.balance() == 2


@pytest.mark.parametrize(
    ("prefix", "model", "status", "code", "kind"),
    [
        ("clipia_test_broke", "nano-banana-2", 402, "insufficient_credits", "billing_error"),
        ("clipia_test_nosub", "suno-music", 402, "subscription_required", "billing_error"),
        ("clipia_test_readonly", "nano-banana-2", 403, "insufficient_scope", "permission_error"),
    ],
)
def test_key_personas(make_api, prefix, model, status, code, kind):
    api = make_api(prefix)
    response = api.submit(model, {"prompt": "x"})
    assert response.status_code == status
    assert error_of(response) | {"message": ""} == {"code": code, "type": kind, "message": ""}
    assert api.account()["usage_30d"]["requests"] == 0
    assert api.http.get("/v1/models").status_code == 200


def test_broke_and_nosub_personas_keep_their_other_rights(make_api):
    assert make_api("clipia_test_broke").balance() == 0
    assert make_api("clipia_test_nosub").submit("nano-banana-2", {"prompt": "x"}).status_code == 200


def test_idempotency_replays_and_conflicts(api, sandbox, make_api):
    key = str(uuid.uuid4())
    first = api.submit_ok("nano-banana-2", {"prompt": "same", "num_images": 2}, idempotency_key=key)
    again = api.submit_ok("nano-banana-2", {"num_images": 2, "prompt": "same"}, idempotency_key=key)
    assert again["request_id"] == first["request_id"]
    assert again["cost"] == first["cost"]
    assert api.account()["usage_30d"]["requests"] == 1
    assert api.balance() == FAST_SETTINGS["initial_credits"] - first["cost"]
    api.wait_terminal(first["request_id"])
    assert (
        api.submit_ok("nano-banana-2", {"prompt": "same", "num_images": 2}, idempotency_key=key)["request_id"]
        == first["request_id"]
    )
    for model, input in (
        ("nano-banana-2", {"prompt": "different"}),
        ("seedance-2-fast-t2v", {"prompt": "same"}),
    ):
        response = api.submit(model, input, idempotency_key=key)
        assert response.status_code == 409
        assert error_of(response)["code"] == "idempotency_key_reuse"
    other = make_api()
    assert (
        other.submit_ok("nano-banana-2", {"prompt": "different"}, idempotency_key=key)["request_id"]
        != first["request_id"]
    )
    assert api.account()["usage_30d"]["requests"] == 1
    assert [c["idempotency_key"] for c in sandbox.calls(api_key=api.key, method="POST")] == [key] * 5


def test_requests_belong_to_their_key(api, make_api):
    request_id = api.submit_ok("nano-banana-2", {"prompt": "mine"})["request_id"]
    other = make_api()
    for path in (
        f"/v1/requests/{request_id}/status",
        f"/v1/requests/{request_id}",
        "/v1/requests/nope/status",
    ):
        response = other.http.get(path)
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    assert other.balance() == FAST_SETTINGS["initial_credits"]


def test_concurrency_limit(sandbox, api):
    sandbox.update_settings(concurrency_limit=1, queue_seconds=0.0, run_seconds=0.5)
    first = api.submit_ok("nano-banana-2", {"prompt": "one"})
    response = api.submit("nano-banana-2", {"prompt": "two"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert error_of(response) | {"message": ""} == {
        "code": "concurrency_limit_exceeded",
        "type": "rate_limit_error",
        "message": "",
    }
    api.wait_terminal(first["request_id"])
    api.submit_ok("nano-banana-2", {"prompt": "two"})


def test_out_of_band_cancel(sandbox, api, make_api):
    sandbox.update_settings(queue_seconds=0.0, run_seconds=30.0)
    submitted = api.submit_ok("seedance-2-fast-t2v", {"prompt": "long", "duration": 4})
    request_id = submitted["request_id"]
    assert api.balance() == FAST_SETTINGS["initial_credits"] - submitted["cost"]
    other = make_api()
    assert other.http.post(f"/_sandbox/clipia/requests/{request_id}/cancel").status_code == 404
    assert httpx.post(f"{sandbox.url}/_sandbox/clipia/requests/{request_id}/cancel").status_code == 401
    assert sandbox.cancel(api.key, request_id)["status"] == "CANCELED"
    result = api.wait_terminal(request_id, timeout=2)
    assert (result["status"], result["cost"], result["error"]["code"]) == ("CANCELED", 0, "canceled")
    assert api.balance() == FAST_SETTINGS["initial_credits"]
    again = api.http.post(f"/_sandbox/clipia/requests/{request_id}/cancel")
    assert again.status_code == 409


# ---------------------------------------------------------------- faults


def test_fault_429_with_retry_after_seconds_then_normal(sandbox, api):
    sandbox.add_fault(method="GET", path="/v1/account", status=429, retry_after="3")
    response = api.http.get("/v1/account")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert error_of(response) | {"message": ""} == {
        "code": "rate_limit_exceeded",
        "type": "rate_limit_error",
        "message": "",
    }
    assert api.http.get("/v1/account").status_code == 200
    assert sandbox.faults() == []


def test_fault_429_with_retry_after_http_date(sandbox, api):
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    sandbox.add_fault(path="/v1/models/", status=429, code="concurrency_limit_exceeded", retry_after=when)
    response = api.submit("nano-banana-2", {"prompt": "x"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == when
    assert error_of(response)["code"] == "concurrency_limit_exceeded"
    assert api.account()["usage_30d"]["requests"] == 0


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "internal_error"), (502, "internal_error"), (503, "service_unavailable"), (504, "internal_error")],
)
def test_fault_5xx_counts_down_its_times(sandbox, api, status, code):
    rule = sandbox.add_fault(method="GET", path="/v1/account", status=status, times=2)
    assert rule["id"]
    assert rule["times"] == 2
    for _ in range(2):
        response = api.http.get("/v1/account")
        assert response.status_code == status
        assert error_of(response) | {"message": ""} == {"code": code, "type": "api_error", "message": ""}
    assert api.http.get("/v1/account").status_code == 200


def test_fault_matching_by_method_regex_and_key(sandbox, api, make_api):
    request_id = api.submit_ok("nano-banana-2", {"prompt": "x"})["request_id"]
    sandbox.add_fault(path_regex=r"^/v1/requests/[^/]+/status$", status=503, times=5)
    assert api.http.get(f"/v1/requests/{request_id}").status_code in (200, 202)
    assert api.http.get(f"/v1/requests/{request_id}/status").status_code == 503
    sandbox.clear_faults()
    other = make_api()
    sandbox.add_fault(api_key=other.key, method="GET", path="/v1/", status=500, times=5)
    assert sandbox.faults()[0]["key_fingerprint"]
    assert other.key not in json.dumps(sandbox.faults())
    assert api.http.get("/v1/account").status_code == 200
    assert (
        other.http.post("/v1/models/nano-banana-2/estimate", json={"input": {"prompt": "x"}}).status_code
        == 200
    )
    assert other.http.get("/v1/account").status_code == 500


def test_fault_never_touches_the_control_api_or_health(sandbox):
    sandbox.add_fault(path="/", status=500, times=10)
    assert httpx.get(f"{sandbox.url}/healthz").status_code == 200
    assert sandbox.settings()["queue_seconds"] == FAST_SETTINGS["queue_seconds"]
    assert httpx.get(f"{sandbox.url}/media/a.png").status_code == 500
    assert sandbox.faults()[0]["times"] == 9


def test_fault_delay_makes_a_client_time_out(sandbox, api):
    sandbox.add_fault(method="GET", path="/v1/account", delay_seconds=1.5)
    with pytest.raises(httpx.ReadTimeout):
        api.http.get("/v1/account", timeout=0.3)
    started = time.monotonic()
    assert api.http.get("/v1/account").status_code == 200
    assert time.monotonic() - started < 1.0


def test_fault_delay_then_normal_answer(sandbox, api):
    sandbox.add_fault(method="GET", path="/v1/models", delay_seconds=0.4)
    started = time.monotonic()
    assert api.http.get("/v1/models").status_code == 200
    assert time.monotonic() - started >= 0.4


def test_fault_body_returns_malformed_json(sandbox, api):
    sandbox.add_fault(method="GET", path="/v1/account", body='{"balance": {"cred')
    response = api.http.get("/v1/account")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    sandbox.add_fault(method="GET", path="/v1/account", body="<html>bad gateway</html>", status=502)
    response = api.http.get("/v1/account")
    assert (response.status_code, response.text) == (502, "<html>bad gateway</html>")


def test_fault_reset_drops_the_connection(sandbox, api):
    sandbox.add_fault(method="GET", path="/v1/account", reset=True)
    with pytest.raises(httpx.TransportError):
        api.http.get("/v1/account")
    assert api.http.get("/v1/account").status_code == 200
    dropped = sandbox.calls(api_key=api.key, path="/v1/account")[0]
    assert dropped["status"] is None
    assert dropped["fault"]
    assert "ASGI callable returned without" not in sandbox.log_path.read_text()


def test_fault_after_handler_creates_the_job_then_answers_5xx(sandbox, api):
    sandbox.add_fault(method="POST", path="/v1/models/", status=503, after_handler=True)
    key = str(uuid.uuid4())
    response = api.submit("nano-banana-2", {"prompt": "created"}, idempotency_key=key)
    assert response.status_code == 503
    assert error_of(response)["code"] == "service_unavailable"
    assert api.account()["usage_30d"]["requests"] == 1
    retried = api.submit_ok("nano-banana-2", {"prompt": "created"}, idempotency_key=key)
    assert api.account()["usage_30d"]["requests"] == 1
    assert api.wait_terminal(retried["request_id"])["status"] == "COMPLETED"


def test_fault_on_clipwise_paths_uses_the_clipwise_envelope(sandbox):
    sandbox.add_fault(path="/api/sdk/v1/", status=503)
    response = httpx.get(f"{sandbox.url}/api/sdk/v1/formats/", headers={"Authorization": "Bearer cw_live_x"})
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "service_unavailable"
    assert "details" in body["error"]
    assert body["request_id"]


@pytest.mark.parametrize(
    "rule",
    [
        {},
        {"path": "/v1/"},
        {"status": 503, "reset": True},
        {"after_handler": True},
        {"after_handler": True, "body": "x", "status": 500},
        {"retry_after": "1", "body": "x"},
        {"status": 200},
        {"status": 999},
        {"status": 500, "times": 0},
        {"status": "500"},
        {"status": 500, "colour": "red"},
        {"status": 500, "path_regex": "("},
        {"status": 500, "path": "v1"},
        {"webhook": "explode"},
        {"webhook": "delay"},
        {"webhook": "drop", "status": 500},
        {"delay_seconds": -1},
        {"reset": 1},
    ],
)
def test_invalid_fault_rules_are_400(sandbox, rule):
    response = httpx.post(f"{sandbox.url}/_sandbox/faults", json=rule)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"
    assert sandbox.faults() == []


# ---------------------------------------------------------------- webhooks


def signed_delivery(receiver: WebhookReceiver, path: str, secrets: list[str] | None = None) -> dict[str, Any]:
    """The one delivery to ``path``, after checking its signature and headers."""
    delivery = receiver.wait_for(path, 1)[0]
    header = delivery.headers["X-Clipia-Signature"]
    assert signature.verify(delivery.body, header, secrets or [SECRET])
    assert header.startswith(f"t={delivery.headers['X-Clipia-Timestamp']},v1=")
    assert delivery.headers["Content-Type"] == "application/json"
    return json.loads(delivery.body)


def test_webhook_ok_delivery_is_signed_and_carries_the_output(sandbox, api, webhook_receiver):
    url, path = webhook_receiver.endpoint()
    request_id = api.submit_ok("nano-banana-2", {"prompt": "hook"}, webhook_url=url)["request_id"]
    body = signed_delivery(webhook_receiver, path)
    result = api.wait_terminal(request_id)
    assert body == {"request_id": request_id, "status": "OK", "payload": result["output"], "error": None}
    attempts = sandbox.webhook_attempts(request_id)
    assert len(attempts) == 1
    assert attempts[0] | {"sent_at": None} == {
        "request_id": request_id,
        "url": url,
        "attempt": 1,
        "status_code": 200,
        "error": None,
        "sent_at": None,
        "signature": webhook_receiver.received(path)[0].headers["X-Clipia-Signature"],
        "fault": None,
    }
    assert parse_iso(attempts[0]["sent_at"]) >= parse_iso(result["completed_at"])


def test_webhook_error_delivery_for_a_failed_job(api, webhook_receiver):
    url, path = webhook_receiver.endpoint()
    request_id = api.submit_ok("nano-banana-2", {"prompt": "[sandbox:fail]"}, webhook_url=url)["request_id"]
    body = signed_delivery(webhook_receiver, path)
    assert (body["request_id"], body["status"], body["payload"]) == (request_id, "ERROR", None)
    assert body["error"]["code"] == "generation_failed"


def test_webhook_for_an_out_of_band_cancel_is_sent_at_once(sandbox, api, webhook_receiver):
    sandbox.update_settings(run_seconds=60.0)
    url, path = webhook_receiver.endpoint()
    request_id = api.submit_ok("nano-banana-2", {"prompt": "x"}, webhook_url=url)["request_id"]
    sandbox.cancel(api.key, request_id)
    body = signed_delivery(webhook_receiver, path)
    assert (body["status"], body["error"]["code"]) == ("ERROR", "canceled")


def test_webhook_retries_while_the_receiver_fails(sandbox, api, webhook_receiver):
    url, path = webhook_receiver.endpoint(statuses=[500, 503])
    request_id = api.submit_ok("nano-banana-2", {"prompt": "retry"}, webhook_url=url)["request_id"]
    deliveries = webhook_receiver.wait_for(path, 3)
    assert len({d.body for d in deliveries}) == 1
    assert all(signature.verify(d.body, d.headers["X-Clipia-Signature"], [SECRET]) for d in deliveries)
    attempts = wait_until(lambda: (a := sandbox.webhook_attempts(request_id)) and len(a) == 3 and a)
    assert [(a["attempt"], a["status_code"]) for a in attempts] == [(1, 500), (2, 503), (3, 200)]
    # A later job's webhook is due after a 4th attempt would have been (retry 0.1 s < 0.6 s of a job):
    marker_url, marker_path = webhook_receiver.endpoint()
    api.submit_ok("nano-banana-2", {"prompt": "marker"}, webhook_url=marker_url)
    webhook_receiver.wait_for(marker_path, 1)
    assert len(webhook_receiver.received(path)) == 3


def test_webhook_gives_up_after_max_attempts_on_connection_errors(sandbox, api):
    sandbox.update_settings(webhook_max_attempts=3, webhook_retry_seconds=0.05)
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    request_id = api.submit_ok("nano-banana-2", {"prompt": "x"}, webhook_url=url)["request_id"]
    attempts = wait_until(lambda: (a := sandbox.webhook_attempts(request_id)) and len(a) == 3 and a)
    assert all(a["status_code"] is None and "ConnectError" in a["error"] for a in attempts)


def test_webhook_signing_secret_rotation(sandbox, api, webhook_receiver):
    sandbox.update_settings(webhook_secrets=["whsec_new", "whsec_old"])
    url, path = webhook_receiver.endpoint()
    api.submit_ok("nano-banana-2", {"prompt": "x"}, webhook_url=url)
    delivery = webhook_receiver.wait_for(path, 1)[0]
    header = delivery.headers["X-Clipia-Signature"]
    assert signature.verify(delivery.body, header, ["whsec_old", "whsec_new"])
    assert not signature.verify(delivery.body, header, ["whsec_old"])


def test_webhook_fault_drop(sandbox, api, webhook_receiver):
    sandbox.add_fault(webhook="drop", api_key=api.key)
    url, path = webhook_receiver.endpoint()
    request_id = api.submit_ok("nano-banana-2", {"prompt": "x"}, webhook_url=url)["request_id"]
    attempts = wait_until(lambda: sandbox.webhook_attempts(request_id))
    assert attempts[0]["fault"] == "drop"
    assert attempts[0]["status_code"] is None
    assert webhook_receiver.received(path) == []
    url, path = webhook_receiver.endpoint()
    api.submit_ok("nano-banana-2", {"prompt": "x"}, webhook_url=url)
    assert signed_delivery(webhook_receiver, path)["status"] == "OK"


def test_webhook_fault_duplicate(sandbox, api, webhook_receiver):
    sandbox.add_fault(webhook="duplicate", api_key=api.key)
    url, path = webhook_receiver.endpoint()
    api.submit_ok("nano-banana-2", {"prompt": "x"}, webhook_url=url)
    first, second = webhook_receiver.wait_for(path, 2)
    assert first.body == second.body
    assert all(signature.verify(d.body, d.headers["X-Clipia-Signature"], [SECRET]) for d in (first, second))


def test_webhook_fault_delay(sandbox, api, webhook_receiver):
    sandbox.add_fault(webhook="delay", delay_seconds=1.0, api_key=api.key)
    url, path = webhook_receiver.endpoint()
    request_id = api.submit_ok("nano-banana-2", {"prompt": "x"}, webhook_url=url)["request_id"]
    result = api.wait_terminal(request_id)
    delivery = webhook_receiver.wait_for(path, 1)[0]
    late = delivery.received - parse_iso(result["completed_at"]).timestamp()
    assert late >= 0.95


def test_webhook_fault_forge(sandbox, api, webhook_receiver):
    sandbox.update_settings(webhook_max_attempts=2)
    sandbox.add_fault(webhook="forge", api_key=api.key)
    url, path = webhook_receiver.endpoint(statuses=[401, 401])
    request_id = api.submit_ok("nano-banana-2", {"prompt": "x"}, webhook_url=url)["request_id"]
    deliveries = webhook_receiver.wait_for(path, 2)
    assert not any(signature.verify(d.body, d.headers["X-Clipia-Signature"], [SECRET]) for d in deliveries)
    attempts = wait_until(lambda: (a := sandbox.webhook_attempts(request_id)) and len(a) == 2 and a)
    assert {a["fault"] for a in attempts} == {"forge"}


# ---------------------------------------------------------------- control API


def test_settings_can_be_read_and_patched_and_are_checked(sandbox):
    settings = sandbox.update_settings(queue_seconds=1)
    assert settings["queue_seconds"] == 1.0
    patch: dict[str, Any]
    for patch in (
        {"nope": 1},
        {"queue_seconds": "fast"},
        {"queue_seconds": -1},
        {"webhook_secrets": []},
        {"webhook_max_attempts": 1.5},
        {"concurrency_limit": True},
    ):
        response = httpx.patch(f"{sandbox.url}/_sandbox/settings", json=patch)
        assert response.status_code == 400, patch
        assert error_of(response)["code"] == "invalid_request"
    assert sandbox.settings()["queue_seconds"] == 1.0


def test_call_log_records_calls_with_fingerprints_not_keys(sandbox, api):
    api.http.get("/v1/account?x=1")
    api.submit("nano-banana-2", {"prompt": "x"}, idempotency_key="idem-1")
    calls = sandbox.calls(api_key=api.key)
    assert [(c["method"], c["path"], c["status"]) for c in calls] == [
        ("GET", "/v1/account", 200),
        ("POST", "/v1/models/nano-banana-2", 200),
    ]
    assert calls[0]["query"] == "x=1"
    assert calls[1]["idempotency_key"] == "idem-1"
    assert all(parse_iso(c["time"]) and c["duration_ms"] >= 0 for c in calls)
    assert api.key not in json.dumps(sandbox.calls())
    assert len(sandbox.calls(api_key=api.key, method="post", status=200)) == 1
    assert httpx.get(f"{sandbox.url}/_sandbox/calls", params={"colour": "red"}).status_code == 400


def test_reset_clears_everything_and_restores_startup_settings(sandbox, api, webhook_receiver):
    url, path = webhook_receiver.endpoint()
    request_id = api.submit_ok("nano-banana-2", {"prompt": "x"}, webhook_url=url)["request_id"]
    webhook_receiver.wait_for(path, 1)
    sandbox.add_fault(path="/v1/nothing", status=500)
    sandbox.reset()
    assert sandbox.faults() == []
    assert sandbox.calls() == []
    assert sandbox.webhook_attempts() == []
    assert sandbox.settings() == SandboxSettings().as_dict()  # the session server started without options
    assert api.http.get(f"/v1/requests/{request_id}/status").status_code == 404
    assert api.account()["usage_30d"]["requests"] == 0


def test_cli_options_and_server_lifecycle(tmp_path):
    log = tmp_path / "sandbox.log"
    server = SandboxServer(
        "--webhook-secret",
        "s1",
        "--webhook-secret",
        "s2",
        "--initial-credits",
        "50",
        "--queue-seconds",
        "1.5",
        log_path=log,
    )
    with server:
        url = server.url
        settings = server.settings()
        assert settings["webhook_secrets"] == ["s1", "s2"]
        assert (settings["initial_credits"], settings["queue_seconds"]) == (50.0, 1.5)
        client = Api(url, new_key())
        assert client.balance() == 50
        client.http.close()
    assert server.port is None
    assert log.exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=1)
    with pytest.raises(RuntimeError):
        _ = server.url
    server.stop()
