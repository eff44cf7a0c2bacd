"""Every ClipiaHook call against the real sandbox over loopback, including every error code."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
import uuid

import pytest

from clipgen_provider.exceptions import ClipiaApiError
from clipgen_provider.hooks._transport import RetryPolicy
from clipgen_provider.hooks.clipia import TERMINAL_STATUSES, ClipiaHook, clipia_job_state, media_urls


def wait_terminal(hook: ClipiaHook, request_id: str, timeout: float = 20) -> dict:
    """Poll until the request is terminal (state-based wait with a deadline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = hook.get_status(request_id)
        if status["status"] in TERMINAL_STATUSES:
            return hook.get_result(request_id)
        time.sleep(0.05)
    raise AssertionError(f"request {request_id} not terminal after {timeout}s")


@pytest.fixture
def hook(clipia_conn) -> ClipiaHook:
    fast = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_cap=0.05)
    return ClipiaHook(retry=fast)


def keyed_hook(monkeypatch, sandbox, key: str) -> ClipiaHook:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLIPIA_DEFAULT",
        json.dumps({"conn_type": "clipia", "host": sandbox.url, "password": key}),
    )
    return ClipiaHook(retry=RetryPolicy(max_attempts=1))


def test_submit_status_result_lifecycle(hook):
    submitted = hook.submit("nano-banana-2", {"prompt": "a red fox"})
    assert submitted["status"] == "IN_QUEUE"
    assert submitted["warnings"] == []
    assert submitted["cost"] > 0
    assert {"queue_position", "status_url", "response_url"} <= submitted.keys()
    pending = hook.get_result(submitted["request_id"])
    assert pending["status"] in {"IN_QUEUE", "IN_PROGRESS"}
    assert "output" not in pending or pending["output"] is None
    result = wait_terminal(hook, submitted["request_id"])
    assert result["status"] == "COMPLETED"
    assert result["cost"] == submitted["cost"]
    assert result["model"] == "nano-banana-2"
    assert media_urls(result["output"])[0].endswith(".png")
    assert clipia_job_state(result).succeeded


def test_unknown_input_keys_come_back_as_warnings(hook):
    submitted = hook.submit(
        "seedance-2-fast-t2v", {"prompt": "city", "duration": 4, "image_url": "x", "zzz": 1}
    )
    by_param = {w["parameter"]: w["code"] for w in submitted["warnings"]}
    assert by_param == {"image_url": "unsupported_parameter", "zzz": "unknown_parameter"}


def test_catalog_estimate_and_account(hook):
    models = {m["slug"]: m for m in hook.list_models()}
    for slug in (
        "nano-banana-2",
        "seedance-2-fast-t2v",
        "seedance-2-fast-i2v",
        "gemini-3-1-flash-tts",
        "suno-music",
    ):
        assert {"id", "type", "pricing", "input_schema"} <= models[slug].keys()
    assert "text_limits" in hook.get_model("gemini-3-1-flash-tts")
    short = hook.estimate("seedance-2-fast-t2v", {"prompt": "x", "duration": 4})["credits"]
    long = hook.estimate("seedance-2-fast-t2v", {"prompt": "x", "duration": 12})["credits"]
    assert long > short
    account = hook.get_account()
    assert {"account_id", "balance", "usage_30d"} <= account.keys()


def test_balance_falls_by_charge_and_failed_costs_nothing(hook):
    start = hook.get_account()["balance"]["credits"]
    done = wait_terminal(hook, hook.submit("nano-banana-2", {"prompt": "ok"})["request_id"])
    failed = wait_terminal(hook, hook.submit("nano-banana-2", {"prompt": "x [sandbox:fail]"})["request_id"])
    assert failed["status"] == "FAILED"
    assert failed["cost"] == 0
    assert failed["error"]
    account = hook.get_account()
    assert account["balance"]["credits"] == pytest.approx(start - done["cost"])
    assert account["usage_30d"]["credits_spent"] == pytest.approx(done["cost"])


def test_idempotency_same_key_same_request_one_charge(hook):
    key = str(uuid.uuid4())
    first = hook.submit("nano-banana-2", {"prompt": "same"}, idempotency_key=key)
    second = hook.submit("nano-banana-2", {"prompt": "same"}, idempotency_key=key)
    assert first["request_id"] == second["request_id"]
    assert hook.get_account()["usage_30d"]["requests"] == 1
    with pytest.raises(ClipiaApiError) as err:
        hook.submit("nano-banana-2", {"prompt": "different"}, idempotency_key=key)
    assert (err.value.status_code, err.value.code) == (409, "idempotency_key_reuse")


@pytest.mark.parametrize(
    ("model", "input", "code"),
    [
        ("nano-banana-2", {}, "model_input_invalid"),
        ("nano-banana-2", {"prompt": "x", "num_images": 99}, "model_input_invalid"),
        ("gemini-3-1-flash-tts", {"prompt": "", "voice": "Kore"}, "model_input_invalid"),
        ("gpt-5.6-sol", {"prompt": "hi"}, "invalid_request"),
    ],
)
def test_invalid_requests_are_400(hook, model, input, code):
    with pytest.raises(ClipiaApiError) as err:
        hook.submit(model, input)
    assert (err.value.status_code, err.value.code) == (400, code)
    assert hook.get_account()["usage_30d"]["requests"] == 0


def test_invalid_webhook_url(hook):
    with pytest.raises(ClipiaApiError) as err:
        hook.submit("nano-banana-2", {"prompt": "x"}, webhook_url="not a url")
    assert (err.value.status_code, err.value.code) == (400, "webhook_url_invalid")


def test_not_found(hook):
    with pytest.raises(ClipiaApiError) as err:
        hook.get_status("req_does_not_exist")
    assert (err.value.status_code, err.value.code) == (404, "not_found")
    with pytest.raises(ClipiaApiError) as err:
        hook.get_model("no-such-model")
    assert (err.value.status_code, err.value.code) == (404, "model_not_found")


@pytest.mark.parametrize(
    ("prefix", "model", "status", "code"),
    [
        ("not_a_clipia_key_", "nano-banana-2", 401, "invalid_api_key"),
        ("clipia_test_broke_", "nano-banana-2", 402, "insufficient_credits"),
        ("clipia_test_nosub_", "suno-music", 402, "subscription_required"),
        ("clipia_test_readonly_", "nano-banana-2", 403, "insufficient_scope"),
    ],
)
def test_account_errors(monkeypatch, sandbox, prefix, model, status, code):
    hook = keyed_hook(monkeypatch, sandbox, prefix + uuid.uuid4().hex)
    with pytest.raises(ClipiaApiError) as err:
        hook.submit(model, {"prompt": "x"})
    assert (err.value.status_code, err.value.code) == (status, code)


def test_rate_limit_retry_after_seconds_then_success(hook, sandbox, clipia_key):
    sandbox.add_fault(
        method="POST", path="/v1/models/", status=429, code="rate_limit_exceeded", retry_after="1"
    )
    started = time.monotonic()
    assert hook.submit("nano-banana-2", {"prompt": "x"})["request_id"]
    assert time.monotonic() - started >= 0.9


def test_rate_limit_retry_after_http_date(hook, sandbox):
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    sandbox.add_fault(
        method="GET", path="/v1/account", status=429, code="concurrency_limit_exceeded", retry_after=when
    )
    started = time.monotonic()
    hook.get_account()
    assert time.monotonic() - started >= 0.5


@pytest.mark.parametrize(("status", "code"), [(500, "internal_error"), (503, "service_unavailable")])
def test_server_errors_are_retried(hook, sandbox, status, code):
    sandbox.add_fault(method="GET", path="/v1/account", status=status, code=code, times=2)
    assert hook.get_account()["balance"]


def test_server_errors_surface_after_retries(hook, sandbox):
    sandbox.add_fault(method="GET", path="/v1/account", status=502, times=10)
    with pytest.raises(ClipiaApiError) as err:
        hook.get_account()
    assert err.value.status_code == 502
    sandbox.clear_faults()


def test_5xx_after_the_job_was_created_resolves_to_the_same_request(hook, sandbox):
    sandbox.add_fault(method="POST", path="/v1/models/", status=503, after_handler=True)
    submitted = hook.submit("nano-banana-2", {"prompt": "created then 503"})
    assert hook.get_account()["usage_30d"]["requests"] == 1
    assert wait_terminal(hook, submitted["request_id"])["status"] == "COMPLETED"


def test_async_reads_share_one_client(hook):
    request_id = hook.submit("gemini-3-1-flash-tts", {"prompt": "Hello there", "voice": "Kore"})["request_id"]
    wait_terminal(hook, request_id)

    async def read_all():
        async with hook:
            return await asyncio.gather(
                hook.aget_status(request_id),
                hook.aget_result(request_id),
                hook.aget_account(),
                hook.aget_model("suno-music"),
                hook.alist_models(),
            )

    status, result, account, model, models = asyncio.run(read_all())
    assert status["status"] == result["status"] == "COMPLETED"
    assert result["output"]["audio"]["url"] == result["output"]["audios"][0]["url"]
    assert account["usage_30d"]["requests"] == 1
    assert model["slug"] == "suno-music"
    assert len(models) >= 5


def test_test_connection(hook, monkeypatch, sandbox):
    ok, message = hook.test_connection()
    assert ok, message
    bad = keyed_hook(monkeypatch, sandbox, "wrong_key")
    ok, message = bad.test_connection()
    assert not ok
    assert "invalid_api_key" in message
    assert "wrong_key" not in message


def test_asubmit_and_aestimate_over_loopback(hook):
    """The async twins: an estimate equal to the sync one, a submit that completes and is charged once."""

    async def submit_twice(key: str) -> tuple[dict, dict, dict]:
        async with hook:
            estimate = await hook.aestimate("seedance-2-fast-t2v", {"prompt": "x", "duration": 8})
            first = await hook.asubmit("nano-banana-2", {"prompt": "async fox"}, idempotency_key=key)
            again = await hook.asubmit("nano-banana-2", {"prompt": "async fox"}, idempotency_key=key)
            return estimate, first, again

    key = str(uuid.uuid4())
    estimate, first, again = asyncio.run(submit_twice(key))
    assert estimate == hook.estimate("seedance-2-fast-t2v", {"prompt": "x", "duration": 8})
    assert estimate["credits"] > 0
    assert first["request_id"] == again["request_id"]
    assert first["status"] == "IN_QUEUE"
    assert (
        hook.submit("nano-banana-2", {"prompt": "async fox"}, idempotency_key=key)["request_id"]
        == (first["request_id"])
    )
    result = wait_terminal(hook, first["request_id"])
    assert result["status"] == "COMPLETED"
    account = hook.get_account()
    assert account["usage_30d"]["requests"] == 1
    assert account["usage_30d"]["credits_spent"] == pytest.approx(result["cost"])


def test_asubmit_retried_after_a_lost_answer_pays_once(hook, sandbox, clipia_key):
    sandbox.add_fault(method="POST", path="/v1/models/", api_key=clipia_key, status=503, after_handler=True)
    submitted = asyncio.run(hook.asubmit("nano-banana-2", {"prompt": "created then 503, async"}))
    calls = sandbox.calls(api_key=clipia_key, method="POST", path="/v1/models/")
    assert [call["status"] for call in calls] == [503, 200]
    assert len({call["idempotency_key"] for call in calls}) == 1
    assert hook.get_account()["usage_30d"]["requests"] == 1
    assert wait_terminal(hook, submitted["request_id"])["status"] == "COMPLETED"


def test_aestimate_refuses_bad_input_like_estimate(hook):
    with pytest.raises(ClipiaApiError) as err:
        asyncio.run(hook.aestimate("nano-banana-2", {}))
    assert (err.value.status_code, err.value.code) == (400, "model_input_invalid")
