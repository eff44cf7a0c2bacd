"""Unit tests of the Clipwise operators, triggers and sensor (respx, no network, no database).

The task context is a small fake: a task instance that records XCom pushes and an in-memory
``task_state_store`` that round-trips values through JSON like the real one.
"""

from __future__ import annotations

import importlib
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowTaskTimeout,
    TaskDeferred,
)
from airflow.sdk import PokeReturnValue

from clipgen_provider.exceptions import ClipgenJobFailed, ClipwiseApiError
from clipgen_provider.operators._ledger import once_per_task_instance
from clipgen_provider.operators.clipwise import (
    ClipwiseCreateProductOperator,
    ClipwiseDeleteOperator,
    ClipwiseExtractUrlOperator,
    ClipwiseGenerateOperator,
    missing_inputs,
)
from clipgen_provider.operators.clipwise_results import generation_summary
from clipgen_provider.sensors.clipwise import ClipwiseGenerationSensor
from clipgen_provider.triggers.clipwise import ClipwiseExtractUrlTrigger, ClipwiseGenerationTrigger

BASE = "https://app.clipwise.ai"
API = f"{BASE}/api/sdk/v1"
TOKEN = "cw_test_unit_secret_token"
STATIC_AD = {
    "slug": "static_ad",
    "required_inputs": ["product_id", "ad_format"],
    "optional_inputs": ["variations"],
}
SMART = {"slug": "smart", "required_inputs": ["prompt"], "optional_inputs": []}
VIDEO_TO_TEXT = {"slug": "video_to_text", "required_inputs": ["video"], "optional_inputs": ["url"]}


class FakeStore:
    """``task_state_store``: values go through JSON, as they do over the Task SDK."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any, retention: Any = None) -> None:
        self.values[key] = json.loads(json.dumps(value))


class FakeTI:
    dag_id = "dag"
    task_id = "task"
    run_id = "manual__2026-01-01"
    map_index = -1

    def __init__(self, try_number: int = 1) -> None:
        self.try_number = try_number
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def make_context(store: FakeStore | None = None, try_number: int = 1) -> Any:
    return {"ti": FakeTI(try_number), "task_state_store": store if store is not None else FakeStore()}


@pytest.fixture(autouse=True)
def clipwise_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLIPWISE_DEFAULT",
        json.dumps({"conn_type": "clipwise", "host": BASE, "password": TOKEN}),
    )


@pytest.fixture
def api():
    with respx.mock(base_url=API, assert_all_called=False, using="httpx") as router:
        yield router


def no_pauses(operator: Any) -> Any:
    """Make the operator's hook retry transient errors without sleeping."""
    operator.hook.get_conn().sleep = lambda seconds: None
    return operator


def generation(status: str, **fields: Any) -> dict[str, Any]:
    return {"generation": {"id": "gen_1", "format": "smart", "status": status, **fields}}


def generate(**kwargs: Any) -> ClipwiseGenerateOperator:
    return no_pauses(ClipwiseGenerateOperator(task_id="generate", poll_interval=0.01, **kwargs))


# -- DAG parsing stays cheap ---------------------------------------------------------------------------
def test_operator_and_sensor_modules_import_no_hook_and_no_http_pool() -> None:
    code = (
        "import sys, clipgen_provider.operators.clipwise, clipgen_provider.sensors.clipwise\n"
        "print([m for m in sys.modules if m.startswith(('clipgen_provider.hooks', "
        "'clipgen_provider.triggers', 'httpx_aiohttp', 'aiohttp'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- validation before anything is sent --------------------------------------------------------------
@pytest.mark.parametrize(
    ("inputs", "missing"),
    [
        ({}, ["product_id", "ad_format"]),
        ({"product_id": "prod_1", "ad_format": "  "}, ["ad_format"]),
        ({"product_id": None, "ad_format": "square"}, ["product_id"]),
        ({"product_id": "prod_1", "ad_format": "square"}, []),
    ],
)
def test_missing_inputs(inputs: dict[str, Any], missing: list[str]) -> None:
    assert missing_inputs(STATIC_AD, inputs) == missing


def test_every_missing_input_is_named_and_nothing_is_posted(api: respx.MockRouter) -> None:
    api.get("/formats/static_ad/").respond(json={"format": STATIC_AD})
    post = api.post(path__regex=".*").respond(201, json={"id": "gen_1"})
    operator = generate(format="static_ad", inputs={"variations": 2})
    with pytest.raises(AirflowFailException) as info:
        operator.execute(make_context())
    message = str(info.value)
    assert "'static_ad' requires product_id, ad_format" in message
    assert "Nothing was uploaded or generated" in message
    assert not post.called


def test_unknown_format_is_a_clear_permanent_error(api: respx.MockRouter) -> None:
    api.get("/formats/smrat/").respond(
        404, json={"error": {"code": "not_found", "message": "no format 'smrat'"}, "request_id": "req_1"}
    )
    post = api.post(path__regex=".*")
    with pytest.raises(
        AirflowFailException, match=r"format 'smrat' is not in the Clipwise catalog.*list_formats"
    ):
        generate(format="smrat", prompt="x").execute(make_context())
    assert not post.called


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prompt": "a", "inputs": {"prompt": "b"}}, "prompt is given twice"),
        ({"inputs": {"format": "smart", "prompt": "b"}}, "inputs must not contain format"),
        ({"inputs": "prompt=b"}, "inputs must be a dict"),
    ],
)
def test_inputs_given_twice_or_misplaced_are_refused(
    api: respx.MockRouter, kwargs: dict[str, Any], message: str
) -> None:
    api.get("/formats/smart/").respond(json={"format": SMART})
    with pytest.raises(AirflowFailException, match=message):
        generate(format="smart", **kwargs).execute(make_context())
    assert not api.calls


def test_missing_local_file_fails_before_any_upload(api: respx.MockRouter, tmp_path: Path) -> None:
    api.get("/formats/video_to_text/").respond(json={"format": VIDEO_TO_TEXT})
    post = api.post(path__regex=".*")
    with pytest.raises(AirflowFailException, match="video: no such file"):
        generate(format="video_to_text", inputs={"video": str(tmp_path / "nope.mp4")}).execute(make_context())
    assert not post.called


# -- submit, defer, retry -------------------------------------------------------------------------------
def test_submit_pushes_the_id_and_defers_to_the_generation_trigger(api: respx.MockRouter) -> None:
    api.get("/formats/smart/").respond(json={"format": SMART})
    create = api.post("/generations/").respond(201, json={"id": "gen_1", "status": "queued"})
    context = make_context()
    operator = generate(format="smart", prompt="Launch video", inputs={"duration": 30}, deferrable=True)
    with pytest.raises(TaskDeferred) as info:
        operator.execute(context)
    trigger = info.value.trigger
    assert isinstance(trigger, ClipwiseGenerationTrigger)
    assert (trigger.job_id, trigger.conn_id, trigger.cancel_on_kill) == ("gen_1", "clipwise_default", True)
    assert context["ti"].xcoms == {"generation_id": "gen_1"}
    request = create.calls.last.request
    assert json.loads(request.content) == {"format": "smart", "duration": 30, "prompt": "Launch video"}
    assert request.headers["idempotency-key"].startswith("airflow-")


def test_a_retry_reuses_the_uploads_and_sends_the_same_body_with_the_same_key(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    clip = tmp_path / "talk.mp4"
    clip.write_bytes(b"\x00" * 100)
    api.get("/formats/video_to_text/").respond(json={"format": VIDEO_TO_TEXT})
    upload = api.post("/uploads/").respond(201, json={"upload": {"id": "upl_1"}})
    create = api.post("/generations/").mock(
        side_effect=[httpx.Response(503)] * 5 + [httpx.Response(201, json={"id": "gen_1"})]
    )
    store = FakeStore()
    with pytest.raises(ClipwiseApiError, match="HTTP 503"):  # transient: Airflow retries the task
        generate(format="video_to_text", inputs={"video": str(clip)}).execute(make_context(store))
    with pytest.raises(TaskDeferred):
        generate(format="video_to_text", inputs={"video": str(clip)}, deferrable=True).execute(
            make_context(store, try_number=2)
        )
    assert upload.call_count == 1
    bodies = {call.request.content for call in create.calls}
    keys = {call.request.headers["idempotency-key"] for call in create.calls}
    assert (len(bodies), len(keys)) == (1, 1)
    assert json.loads(bodies.pop())["video"] == "upl_1"


def test_a_retry_reattaches_to_a_running_generation_without_posting(api: respx.MockRouter) -> None:
    store = FakeStore()
    store.set("clipwise_generation", {"key": "k", "job_id": "gen_1"})
    api.get("/generations/gen_1/").respond(json=generation("processing", progress=40))
    post = api.post(path__regex=".*")
    with pytest.raises(TaskDeferred):
        generate(format="smart", prompt="x", deferrable=True).execute(make_context(store, try_number=2))
    assert not post.called


# -- the trigger's event, back on the worker -----------------------------------------------------------
def test_success_event_returns_the_outputs(api: respx.MockRouter) -> None:
    outputs = {"video_url": f"{BASE}/media/med_1.mp4", "generated_media_id": "med_1"}
    api.get("/generations/gen_1/").respond(json=generation("completed", outputs=outputs))
    result = generate(format="smart", prompt="x").execute_complete(
        make_context(), {"status": "success", "job_id": "gen_1", "remote_status": "completed", "message": ""}
    )
    assert result["video_url"] == outputs["video_url"]
    assert result["media_urls"] == [outputs["video_url"]]


def test_failed_event_fails_with_the_apis_reason(api: respx.MockRouter) -> None:
    error = {"code": "generation_failed", "message": "the renderer gave up"}
    api.get("/generations/gen_1/").respond(json=generation("failed", error=error))
    event = {"status": "failed", "job_id": "gen_1", "remote_status": "failed", "message": "ended failed"}
    with pytest.raises(ClipgenJobFailed, match="the renderer gave up"):
        generate(format="smart", prompt="x").execute_complete(make_context(), event)


@pytest.mark.parametrize("event", [None, {"status": "weird", "job_id": "gen_1"}, {"status": "success"}])
def test_malformed_events_are_refused(event: Any) -> None:
    with pytest.raises(AirflowException, match="unexpected trigger event"):
        generate(format="smart", prompt="x").execute_complete(make_context(), event)


def test_error_event_fails_so_a_retry_reattaches() -> None:
    event = {"status": "error", "job_id": "gen_1", "remote_status": None, "message": "could not read"}
    with pytest.raises(AirflowException, match=r"could not read\. A retry re-attaches"):
        generate(format="smart", prompt="x").execute_complete(make_context(), event)


def test_timeout_cancels_a_queued_generation(api: respx.MockRouter) -> None:
    api.get("/generations/gen_1/").respond(json=generation("queued"))
    cancel = api.post("/generations/gen_1/cancel/").respond(json=generation("cancelled"))
    event = {"status": "timeout", "job_id": "gen_1", "remote_status": "queued", "message": "not finished"}
    with pytest.raises(
        AirflowTaskTimeout, match="cancelled, so a retry of this task starts a new generation"
    ):
        generate(format="smart", prompt="x").execute_complete(make_context(), event)
    assert cancel.called


def test_timeout_never_cancels_a_finished_generation(api: respx.MockRouter) -> None:
    api.get("/generations/gen_1/").respond(json=generation("completed"))
    cancel = api.post("/generations/gen_1/cancel/")
    event = {"status": "timeout", "job_id": "gen_1", "remote_status": "processing", "message": "late"}
    with pytest.raises(AirflowTaskTimeout, match="re-attaches"):
        generate(format="smart", prompt="x").execute_complete(make_context(), event)
    assert not cancel.called


def test_on_kill_cancels_and_a_refusal_is_only_logged(
    api: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    api.get("/generations/gen_1/").respond(json=generation("processing"))
    cancel = api.post("/generations/gen_1/cancel/").respond(
        409, json={"error": {"code": "unsupported_cancellation", "message": "too late"}}
    )
    operator = generate(format="smart", prompt="x")
    operator.on_kill()  # nothing submitted yet: nothing to cancel
    assert not api.calls
    operator.make_trigger("gen_1", None)
    operator.on_kill()
    assert cancel.called
    assert "can no longer be cancelled" in capsys.readouterr().out


# -- triggers -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "trigger",
    [
        ClipwiseGenerationTrigger(
            job_id="gen_1", conn_id="cw", poll_interval=2.5, deadline=1_900_000_000.5, cancel_on_kill=False
        ),
        ClipwiseExtractUrlTrigger(job_id="ext_1", conn_id="cw", poll_interval=1.0, deadline=None),
    ],
)
def test_triggers_serialize_to_plain_json_and_back(trigger: Any) -> None:
    classpath, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs
    module, name = classpath.rsplit(".", 1)
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert type(rebuilt) is type(trigger)
    assert rebuilt.serialize() == (classpath, kwargs)


async def first_event(trigger: Any) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("no event")


async def test_generation_trigger_waits_until_terminal(api: respx.MockRouter) -> None:
    api.get("/generations/gen_1/").mock(
        side_effect=[
            httpx.Response(200, json=generation("queued")),
            httpx.Response(200, json=generation("processing", progress=50)),
            httpx.Response(200, json=generation("failed", error={"message": "boom"})),
        ]
    )
    trigger = ClipwiseGenerationTrigger(job_id="gen_1", conn_id="clipwise_default", poll_interval=0.01)
    event = await first_event(trigger)
    assert (event["status"], event["job_id"], event["remote_status"]) == ("failed", "gen_1", "failed")
    assert "boom" in event["message"]


async def test_extract_url_trigger_reports_a_failed_extraction(api: respx.MockRouter) -> None:
    answers = [
        {"task_id": "ext_1", "ready": False, "success": None},
        {"task_id": "ext_1", "ready": True, "success": False, "error": "nope", "error_code": None},
    ]
    api.get("/extract-url/ext_1/").mock(side_effect=[httpx.Response(200, json=a) for a in answers])
    trigger = ClipwiseExtractUrlTrigger(job_id="ext_1", conn_id="clipwise_default", poll_interval=0.01)
    event = await first_event(trigger)
    assert event["status"] == "failed"
    assert "url_extract_failed: nope" in event["message"]


async def test_trigger_on_kill_cancels_a_running_generation(api: respx.MockRouter) -> None:
    api.get("/generations/gen_1/").respond(json=generation("queued"))
    cancel = api.post("/generations/gen_1/cancel/").respond(json=generation("cancelled"))
    await ClipwiseGenerationTrigger(job_id="gen_1", conn_id="clipwise_default").on_kill()
    assert cancel.called


@pytest.mark.parametrize(
    ("status", "cancel_answer"),
    [
        ("completed", None),
        ("processing", {"error": {"code": "unsupported_cancellation", "message": "too late"}}),
    ],
)
async def test_trigger_on_kill_never_raises_and_never_cancels_a_finished_job(
    api: respx.MockRouter, status: str, cancel_answer: dict | None
) -> None:
    api.get("/generations/gen_1/").respond(json=generation(status))
    cancel = api.post("/generations/gen_1/cancel/").respond(409, json=cancel_answer or {})
    await ClipwiseGenerationTrigger(job_id="gen_1", conn_id="clipwise_default").on_kill()
    assert cancel.called == (status != "completed")


async def test_trigger_on_kill_leaves_a_generation_it_does_not_own_alone(api: respx.MockRouter) -> None:
    await ClipwiseGenerationTrigger(
        job_id="gen_1", conn_id="clipwise_default", cancel_on_kill=False
    ).on_kill()
    assert not api.calls


async def test_cleanup_never_cancels(api: respx.MockRouter) -> None:
    await ClipwiseGenerationTrigger(job_id="gen_1", conn_id="clipwise_default").cleanup()
    assert not api.calls


# -- result digests -------------------------------------------------------------------------------------
def test_summary_of_a_tool_with_image_variations_and_a_transcript() -> None:
    result = {"url": "u1", "urls": ["u1", "u2"], "content_type": "image/png"}
    summary = generation_summary(
        {
            "id": "gen_1",
            "format": "static_ad",
            "status": "completed",
            "outputs": {"result": result, "generated_media_id": "med_1", "transcript": None},
        }
    )
    assert summary["media_urls"] == ["u1", "u2"]
    assert (summary["result_url"], summary["video_url"], summary["generated_media_id"]) == (
        "u1",
        None,
        "med_1",
    )
    text = generation_summary({"id": "g", "outputs": {"result": {"url": "t.txt"}, "transcript": "Hello"}})
    assert (text["transcript"], text["media_urls"]) == ("Hello", ["t.txt"])
    assert generation_summary({"id": "g", "status": "failed", "outputs": {}})["media_urls"] == []


# -- the other operators --------------------------------------------------------------------------------
def test_extract_url_operator_refuses_an_idempotency_key() -> None:
    with pytest.raises(ValueError, match="takes no idempotency_key"):
        ClipwiseExtractUrlOperator(task_id="x", url="https://t.co/v", idempotency_key="k")


def test_extract_url_operator_returns_the_video_url(api: respx.MockRouter) -> None:
    api.post("/extract-url/").respond(201, json={"task_id": "ext_1", "video_url": "https://v/1.mp4"})
    api.get("/extract-url/ext_1/").respond(
        json={"task_id": "ext_1", "ready": True, "success": True, "video_url": "https://v/1.mp4"}
    )
    context = make_context()
    operator = ClipwiseExtractUrlOperator(task_id="x", url="https://cdn/1.mp4", poll_interval=0.01)
    result = operator.execute(context)
    assert result == {
        "extract_task_id": "ext_1",
        "source_url": "https://cdn/1.mp4",
        "video_url": "https://v/1.mp4",
        "media_urls": ["https://v/1.mp4"],
    }
    # the job id before waiting; the media URLs as their own key, for the next task to take as they are
    assert context["ti"].xcoms == {"extract_task_id": "ext_1", "media_urls": ["https://v/1.mp4"]}
    (link,) = operator.operator_extra_links
    assert link.get_link(operator, ti_key=context["ti"]) == "https://v/1.mp4"


@pytest.mark.parametrize(
    ("resource_type", "path"),
    [
        ("uploads", "/resources/generic_uploads/a_1/"),
        ("generic_uploads", "/resources/generic_uploads/a_1/"),
        ("products", "/products/a_1/"),
        ("avatars", "/resources/avatars/a_1/"),
    ],
)
def test_delete_calls_the_right_endpoint(api: respx.MockRouter, resource_type: str, path: str) -> None:
    route = api.delete(path).respond(json={"success": True})
    result = ClipwiseDeleteOperator(task_id="d", resource_type=resource_type, asset_id="a_1").execute(
        make_context()
    )
    assert route.called
    assert result == {"resource_type": resource_type, "asset_id": "a_1", "deleted": True}


def test_delete_of_something_already_gone_is_done(api: respx.MockRouter) -> None:
    api.delete("/products/prod_1/").respond(404, json={"error": {"code": "not_found", "message": "gone"}})
    operator = ClipwiseDeleteOperator(task_id="d", resource_type="products", asset_id="prod_1")
    assert operator.execute(make_context())["deleted"] is False
    operator = ClipwiseDeleteOperator(
        task_id="d", resource_type="products", asset_id="prod_1", missing_ok=False
    )
    with pytest.raises(AirflowFailException, match="HTTP 404"):
        operator.execute(make_context())


@pytest.mark.parametrize("asset_id", ["", "None"])
def test_delete_without_an_id_fails_clearly(api: respx.MockRouter, asset_id: str) -> None:
    with pytest.raises(AirflowFailException, match="asset_id is empty"):
        ClipwiseDeleteOperator(task_id="d", resource_type="products", asset_id=asset_id).execute(
            make_context()
        )
    assert not api.calls


def test_create_product_uploads_local_images_once_across_tries(api: respx.MockRouter, tmp_path: Path) -> None:
    image = tmp_path / "serum.png"
    image.write_bytes(b"\x89PNG")
    upload = api.post("/uploads/").respond(201, json={"upload": {"id": "upl_1"}})
    product = {"id": "prod_1", "image_ids": ["upl_1", "res_2"]}
    create = api.post("/products/").mock(
        side_effect=[httpx.Response(503)] * 5 + [httpx.Response(201, json={"product": product})]
    )
    store = FakeStore()

    def create_product(try_number: int) -> Any:
        operator = ClipwiseCreateProductOperator(task_id="p", name="Serum", images=[str(image), "res_2"])
        return no_pauses(operator).execute(make_context(store, try_number))

    with pytest.raises(ClipwiseApiError, match="HTTP 503"):
        create_product(1)
    assert create_product(2) == {"product_id": "prod_1", "product": product}
    assert upload.call_count == 1
    assert json.loads(create.calls.last.request.content)["image_ids"] == ["upl_1", "res_2"]


def test_once_per_task_instance_reuses_only_for_the_same_inputs() -> None:
    calls: list[int] = []

    def produce() -> int:
        calls.append(1)
        return len(calls)

    context = make_context()
    log = logging.getLogger("test")
    assert once_per_task_instance(context, "x", {"a": 1}, produce, log) == 1
    assert once_per_task_instance(context, "x", {"a": 1}, produce, log) == 1
    assert once_per_task_instance(context, "x", {"a": 2}, produce, log) == 2
    no_store: Any = {"ti": FakeTI()}
    assert once_per_task_instance(no_store, "x", {"a": 2}, produce, log) == 3


# -- sensor ---------------------------------------------------------------------------------------------
def sensor(**kwargs: Any) -> ClipwiseGenerationSensor:
    return ClipwiseGenerationSensor(
        task_id="wait", generation_id="gen_1", poke_interval=0.5, timeout=60, **kwargs
    )


def test_sensor_pokes_until_completed(api: respx.MockRouter) -> None:
    api.get("/generations/gen_1/").mock(
        side_effect=[
            httpx.Response(200, json=generation("processing")),
            httpx.Response(200, json=generation("completed", outputs={"video_url": "v.mp4"})),
        ]
    )
    assert sensor().poke(make_context()) is False
    done = sensor().poke(make_context())
    assert isinstance(done, PokeReturnValue)
    assert done.xcom_value is not None
    assert done.xcom_value["media_urls"] == ["v.mp4"]


def test_sensor_fails_on_a_failed_generation(api: respx.MockRouter) -> None:
    api.get("/generations/gen_1/").respond(json=generation("cancelled"))
    with pytest.raises(AirflowFailException, match="ended cancelled"):
        sensor().poke(make_context())


def test_deferrable_sensor_never_cancels_what_it_watches(api: respx.MockRouter) -> None:
    api.get("/generations/gen_1/").respond(json=generation("queued"))
    with pytest.raises(TaskDeferred) as info:
        sensor(deferrable=True).execute(make_context())
    trigger = info.value.trigger
    assert isinstance(trigger, ClipwiseGenerationTrigger)
    assert (trigger.cancel_on_kill, trigger.poll_interval) == (False, 0.5)
