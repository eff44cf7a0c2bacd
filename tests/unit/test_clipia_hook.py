"""ClipiaHook request shapes and retry rules, against an in-process mock transport."""

from __future__ import annotations

import inspect
import json
import uuid

import httpx
import pytest
import respx

from clipgen_provider.exceptions import ClipgenConfigError, ClipiaApiError
from clipgen_provider.hooks._transport import RetryPolicy
from clipgen_provider.hooks.clipia import ClipiaHook, clipia_job_state, media_urls

KEY = "clipia_test_unit_secret_key"


class Recorder:
    """A mock server: answers from a queue of responses and records every request."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


@pytest.fixture
def connect(monkeypatch):
    def _connect(
        *responses: httpx.Response, host: str = "https://api.clipia.ai"
    ) -> tuple[ClipiaHook, Recorder]:
        monkeypatch.setenv(
            "AIRFLOW_CONN_CLIPIA_DEFAULT", json.dumps({"conn_type": "clipia", "host": host, "password": KEY})
        )
        recorder = Recorder(*responses)
        hook = ClipiaHook(retry=RetryPolicy(max_attempts=4))
        transport = hook.get_conn()
        transport.sleep = pauses.append
        transport._client = httpx.Client(transport=httpx.MockTransport(recorder))
        return hook, recorder

    pauses: list[float] = []
    _connect.pauses = pauses  # type: ignore[attr-defined]
    return _connect


def submitted(request_id: str = "req_1") -> httpx.Response:
    return httpx.Response(
        200, json={"request_id": request_id, "status": "IN_QUEUE", "cost": 4, "warnings": []}
    )


def error(status: int, code: str, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "message": code, "type": "x"}}, headers=headers
    )


def test_submit_request_shape(connect):
    hook, server = connect(submitted())
    hook.submit("nano/banana 2", {"prompt": "cat"}, idempotency_key="order-42")
    (request,) = server.requests
    assert request.method == "POST"
    assert request.url.raw_path == b"/v1/models/nano%2Fbanana%202"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("airflow-provider-clipgen/")
    assert request.headers["Idempotency-Key"] == "order-42"
    assert json.loads(request.content) == {"input": {"prompt": "cat"}}


def test_submit_sends_webhook_url_only_when_given(connect):
    hook, server = connect(submitted())
    hook.submit("m", {"prompt": "x"}, webhook_url="https://example.com/hook")
    assert json.loads(server.requests[0].content)["webhook_url"] == "https://example.com/hook"


def test_one_generated_idempotency_key_across_retries(connect):
    hook, server = connect(error(503, "service_unavailable"), error(502, "internal_error"), submitted())
    assert hook.submit("m", {"prompt": "x"})["request_id"] == "req_1"
    keys = {r.headers["Idempotency-Key"] for r in server.requests}
    assert len(server.requests) == 3
    assert len(keys) == 1
    assert len(keys.pop()) == 36  # a UUID v4


def test_retry_after_wins_over_backoff(connect):
    hook, _ = connect(error(429, "rate_limit_exceeded", **{"Retry-After": "7"}), submitted())
    hook.submit("m", {"prompt": "x"})
    assert connect.pauses == [7.0]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "model_input_invalid"),
        (401, "invalid_api_key"),
        (402, "insufficient_credits"),
        (403, "insufficient_scope"),
        (404, "model_not_found"),
        (409, "idempotency_key_reuse"),
    ],
)
def test_permanent_errors_are_not_retried(connect, status, code):
    hook, server = connect(error(status, code))
    with pytest.raises(ClipiaApiError) as err:
        hook.submit("m", {"prompt": "x"})
    assert len(server.requests) == 1
    assert (err.value.status_code, err.value.code) == (status, code)
    assert not err.value.is_transient


def test_transient_errors_give_up_after_max_attempts(connect):
    hook, server = connect(error(500, "internal_error"))
    with pytest.raises(ClipiaApiError) as err:
        hook.get_status("req_1")
    assert len(server.requests) == 4
    assert err.value.status_code == 500


def test_network_error_is_retried(connect):
    calls = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("connection reset", request=request)
        return httpx.Response(200, json={"request_id": "r", "status": "IN_PROGRESS", "progress": 5})

    hook, _ = connect(httpx.Response(200))
    hook.get_conn()._client = httpx.Client(transport=httpx.MockTransport(flaky))
    assert hook.get_status("r")["progress"] == 5
    assert len(calls) == 2


def test_malformed_json_is_retried(connect):
    hook, server = connect(httpx.Response(200, text='{"request_id": "r", "sta'), submitted("r"))
    assert hook.get_status("r")["request_id"] == "r"
    assert len(server.requests) == 2


def test_read_paths_are_url_encoded(connect):
    hook, server = connect(httpx.Response(200, json={"data": [], "object": "list"}))
    hook.get_status("a/b")
    hook.get_result("a/b")
    hook.get_model("x y")
    hook.estimate("x y", {"prompt": "p"})
    hook.list_models()
    hook.get_account()
    assert [(r.method, r.url.raw_path) for r in server.requests] == [
        ("GET", b"/v1/requests/a%2Fb/status"),
        ("GET", b"/v1/requests/a%2Fb"),
        ("GET", b"/v1/models/x%20y"),
        ("POST", b"/v1/models/x%20y/estimate"),
        ("GET", b"/v1/models"),
        ("GET", b"/v1/account"),
    ]
    assert json.loads(server.requests[3].content) == {"input": {"prompt": "p"}}


def test_key_never_in_repr_or_errors(connect):
    hook, _ = connect(error(401, "invalid_api_key"))
    with pytest.raises(ClipiaApiError) as err:
        hook.get_account()
    assert KEY not in repr(hook)
    assert KEY not in repr(hook.get_conn())
    assert KEY not in str(err.value)
    assert "check the API key" in str(err.value)


def test_insecure_base_url_refused_before_any_request(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLIPIA_DEFAULT",
        json.dumps({"conn_type": "clipia", "host": "http://localhost.evil.com", "password": KEY}),
    )
    with pytest.raises(ClipgenConfigError, match="not allowed"):
        ClipiaHook().get_conn()


def test_missing_key_is_a_config_error(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CLIPIA_DEFAULT", json.dumps({"conn_type": "clipia"}))
    with pytest.raises(ClipgenConfigError, match="Password field"):
        ClipiaHook().get_conn()


def test_default_base_url_and_webhook_extras(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLIPIA_DEFAULT",
        json.dumps(
            {
                "conn_type": "clipia",
                "password": KEY,
                "extra": {
                    "webhook_secrets": "whsec_a, whsec_b",
                    "webhook_base_url": "https://af.example.com/",
                },
            }
        ),
    )
    hook = ClipiaHook()
    assert hook.get_conn().base_url == "https://api.clipia.ai"
    assert hook.webhook_secrets == ["whsec_a", "whsec_b"]
    assert hook.webhook_base_url == "https://af.example.com"


def test_job_state_and_media_urls():
    state = clipia_job_state({"request_id": "r", "status": "IN_QUEUE", "queue_position": 3})
    assert (state.terminal, state.queue_position, state.describe()) == (
        False,
        3,
        "IN_QUEUE (queue position 3)",
    )
    failed = clipia_job_state({"request_id": "r", "status": "FAILED", "error": {"message": "nsfw"}})
    assert (failed.terminal, failed.succeeded, failed.error) == (True, False, "nsfw")
    output = {
        "images": [{"url": "u1"}],
        "video": {"url": "u2"},
        "audio": {"url": "u3"},
        "audios": [{"url": "u3"}, {"url": "u4"}],
    }
    assert media_urls(output) == ["u1", "u2", "u3", "u4"]
    assert media_urls(None) == []


# -- async twins ----------------------------------------------------------------------------------
@pytest.fixture
def api(monkeypatch):
    """A respx router for the async client, and a hook whose retry pauses are recorded, not slept."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLIPIA_DEFAULT",
        json.dumps({"conn_type": "clipia", "host": "https://api.clipia.ai", "password": KEY}),
    )
    hook = ClipiaHook(retry=RetryPolicy(max_attempts=4))
    pauses: list[float] = []

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    hook.get_conn().asleep = record
    with respx.mock(base_url="https://api.clipia.ai", assert_all_called=False, using="httpx") as router:
        yield hook, router, pauses


async def test_asubmit_sends_what_submit_sends(api):
    hook, router, _ = api
    route = router.post("/v1/models/nano%2Fbanana%202").respond(json=submitted().json())
    call = ("nano/banana 2", {"prompt": "cat"})
    options = {"webhook_url": "https://example.com/hook", "idempotency_key": "order-42"}
    assert (await hook.asubmit(*call, **options))["request_id"] == "req_1"
    hook.submit(*call, **options)
    sent, expected = (c.request for c in route.calls)
    assert sent.method == expected.method == "POST"
    assert (
        json.loads(sent.content)
        == json.loads(expected.content)
        == {
            "input": {"prompt": "cat"},
            "webhook_url": "https://example.com/hook",
        }
    )
    for header in ("Authorization", "Accept", "User-Agent", "Idempotency-Key"):
        assert sent.headers[header] == expected.headers[header]
    assert sent.headers["Idempotency-Key"] == "order-42"


async def test_asubmit_keeps_one_generated_key_across_its_retries(api):
    hook, router, pauses = api
    route = router.post("/v1/models/m").mock(
        side_effect=[error(503, "service_unavailable"), httpx.ConnectError("reset"), submitted(), submitted()]
    )
    assert (await hook.asubmit("m", {"prompt": "x"}))["request_id"] == "req_1"
    keys = {call.request.headers["Idempotency-Key"] for call in route.calls}
    assert route.call_count == 3
    assert len(keys) == 1
    assert uuid.UUID(keys.pop()).version == 4
    assert len(pauses) == 2
    await hook.asubmit("m", {"prompt": "x"})
    assert route.calls.last.request.headers["Idempotency-Key"] not in keys  # a new submit, a new key


async def test_asubmit_permanent_error_is_not_retried(api):
    hook, router, _ = api
    route = router.post("/v1/models/m").mock(return_value=error(402, "insufficient_credits"))
    with pytest.raises(ClipiaApiError) as err:
        await hook.asubmit("m", {"prompt": "x"})
    assert (err.value.status_code, err.value.code, route.call_count) == (402, "insufficient_credits", 1)


async def test_aestimate_request_shape(api):
    hook, router, _ = api
    route = router.post("/v1/models/x%20y/estimate").respond(json={"credits": 12, "warnings": []})
    assert await hook.aestimate("x y", {"prompt": "p"}) == {"credits": 12, "warnings": []}
    request = route.calls.last.request
    assert json.loads(request.content) == {"input": {"prompt": "p"}}
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert "Idempotency-Key" not in request.headers


def test_every_call_has_an_async_twin():
    """The README promises every ClipiaHook call sync and async."""
    calls = [
        name
        for name, value in vars(ClipiaHook).items()
        if inspect.isfunction(value) and not name.startswith("_") and not inspect.iscoroutinefunction(value)
    ]
    assert {
        "submit",
        "estimate",
        "get_status",
        "get_result",
        "list_models",
        "get_model",
        "get_account",
    } <= set(calls)
    for name in calls:
        assert inspect.iscoroutinefunction(getattr(ClipiaHook, f"a{name}", None)), f"{name} has no async twin"
