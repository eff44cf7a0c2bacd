"""The plumbing of ``@task.clipia`` / ``@task.clipwise``: registration, arguments, the function's
return value as ``inputs``, mapping, resuming after a deferral.

The generate operators' job flow (``ClipgenJobOperator.execute`` / ``execute_complete``) is replaced
by a recorder here: these tests are about what reaches it. The flow itself runs against the sandbox
in ``tests/integration/test_taskflow_decorators.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import MappingProxyType, SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG, task
from airflow.sdk.definitions._internal.types import SET_DURING_EXECUTION

from clipgen_provider.decorators.clipia import _ClipiaDecoratedOperator, clipia_task
from clipgen_provider.decorators.clipwise import _ClipwiseDecoratedOperator, clipwise_task
from clipgen_provider.exceptions import ClipgenConfigError
from clipgen_provider.operators._job import ClipgenJobOperator


class FakeStore:
    """``task_state_store``: values go through JSON, as they do over the Task SDK."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    def set(self, key: str, value: Any, **_: Any) -> None:
        self.values[key] = json.dumps(value)


@pytest.fixture
def job_flow(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Replace the job flow with a recorder of ``(method, inputs)``; return the records."""
    calls: list[tuple[str, Any]] = []

    def execute(self: Any, context: Any) -> dict[str, Any]:
        calls.append(("execute", self.inputs))
        return {"request_id": "r1", "status": "COMPLETED"}

    def execute_complete(self: Any, context: Any, event: Any = None) -> dict[str, Any]:
        calls.append(("execute_complete", self.inputs))
        return {"request_id": event["job_id"], "status": "COMPLETED"}

    monkeypatch.setattr(ClipgenJobOperator, "execute", execute)
    monkeypatch.setattr(ClipgenJobOperator, "execute_complete", execute_complete)
    return calls


@pytest.fixture
def dag() -> Iterator[DAG]:
    with DAG("decorators", schedule=None) as dag:
        yield dag


def context(store: FakeStore | None = None, try_number: int = 1) -> Any:
    """The part of a task's context the decorated operator and the job flow's stand-in read."""
    ti = SimpleNamespace(try_number=try_number, dag_id="decorators", task_id="t", run_id="r", map_index=-1)
    return {"ti": ti, "task_state_store": store if store is not None else FakeStore()}


def operator(result: Any) -> Any:
    """The operator behind a decorated task's ``XComArg``."""
    return result.operator


def test_registered_as_task_clipia_and_task_clipwise() -> None:
    assert task.clipia is clipia_task
    assert task.clipwise is clipwise_task


def test_decorator_arguments_are_the_operators_options(dag: DAG) -> None:
    @task.clipia(
        model="nano-banana-2",
        max_credits=10,
        output_path="file:///media/{{ ds }}",
        wait_for_webhook=True,
        deferrable=True,
        poll_interval=2,
        retries=3,
    )
    def shot(product: str) -> dict[str, Any]:
        return {"prompt": product}

    result: Any = shot("mug")
    op = operator(result)
    assert isinstance(op, _ClipiaDecoratedOperator)
    assert (op.model, op.max_credits, op.output_path) == ("nano-banana-2", 10, "file:///media/{{ ds }}")
    assert (op.wait_for_webhook, op.deferrable, op.poll_interval, op.retries) == (True, True, 2, 3)
    assert op.task_id == "shot"
    assert op.op_args == ("mug",)
    assert {"model", "inputs", "max_credits", "output_path", "op_args", "op_kwargs"} <= set(
        op.template_fields
    )
    assert result.key == "return_value"


def test_an_invalid_option_fails_at_parse_time_as_on_the_operator(dag: DAG) -> None:
    @task.clipia(model="nano-banana-2", wait_for_webhook=True, webhook_url="https://example.com/hook")
    def shot() -> dict[str, Any]:
        return {"prompt": "a mug"}

    with pytest.raises(ClipgenConfigError, match="either webhook_url or wait_for_webhook"):
        shot()


@pytest.mark.parametrize("name", ["inputs", "input"])
def test_inputs_as_a_decorator_argument_is_refused(dag: DAG, name: str) -> None:
    given: dict[str, Any] = {name: {"prompt": "a mug"}}

    @task.clipia(model="nano-banana-2", **given)
    def shot() -> dict[str, Any]:
        return {"prompt": "a mug"}

    with pytest.raises(ClipgenConfigError, match=rf"@task.clipia takes the inputs from .* drop {name}="):
        shot()


def test_model_and_format_are_required(dag: DAG) -> None:
    with pytest.raises(TypeError, match="model"):
        task.clipia(lambda: {})
    with pytest.raises(TypeError, match="format"):
        task.clipwise(lambda: {})


def test_a_dict_annotation_does_not_unroll_the_result(dag: DAG) -> None:
    """The annotation is the inputs' type, not the result's: no multiple_outputs unless asked for."""

    @task.clipia(model="nano-banana-2")
    def plain() -> dict[str, Any]:
        return {"prompt": "a mug"}

    @task.clipia(model="nano-banana-2", multiple_outputs=True)
    def unrolled() -> dict[str, Any]:
        return {"prompt": "a mug"}

    assert operator(plain()).multiple_outputs is False
    assert operator(unrolled()).multiple_outputs is True


def test_the_function_return_is_the_inputs_of_the_job_flow(dag: DAG, job_flow: list) -> None:
    seen: dict[str, Any] = {}

    @task.clipia(model="nano-banana-2")
    def shot(product: str, *, style: str, ti: Any = None) -> dict[str, Any]:
        seen["try_number"] = ti.try_number
        return {"prompt": f"{product}, {style}"}

    op = operator(shot("mug", style="daylight"))
    ctx = context(try_number=2)
    assert op.execute(ctx) == {"request_id": "r1", "status": "COMPLETED"}
    assert job_flow == [("execute", {"prompt": "mug, daylight"})]
    assert seen == {"try_number": 2}, "context keys the function names are passed in"
    assert "style" not in ctx, "the function's arguments do not leak into the job flow's context"


def test_a_mapping_is_taken_as_a_dict(dag: DAG, job_flow: list) -> None:
    @task.clipia(model="nano-banana-2")
    def shot() -> Any:
        return MappingProxyType({"prompt": "a mug"})

    operator(shot()).execute(context())
    assert job_flow == [("execute", {"prompt": "a mug"})]
    assert type(job_flow[0][1]) is dict


@pytest.mark.parametrize(
    ("returned", "says"),
    [
        ("a mug on a shelf", r"returned a str, not a dict of inputs"),
        ([{"prompt": "a mug"}], r"returned a list, not a dict of inputs"),
        (None, r"returned None: it must return the inputs as a dict"),
        ({1: "a mug"}, r"keys are not all strings \(1\)"),
    ],
)
def test_a_return_that_is_not_a_dict_fails_before_anything_is_sent(
    dag: DAG, job_flow: list, returned: Any, says: str
) -> None:
    @task.clipia(model="nano-banana-2")
    def shot() -> Any:
        return returned

    with pytest.raises(AirflowFailException, match=says) as err:
        operator(shot()).execute(context())
    message = str(err.value)
    assert message.startswith("@task.clipia function shot()")
    assert '{"prompt": ' in message, "the message shows what to return"
    assert message.endswith("Nothing was submitted.")
    assert job_flow == [], "the job flow never started"


def test_clipwise_inputs_merge_with_prompt_and_script_arguments(dag: DAG, job_flow: list) -> None:
    @task.clipwise(format="ugc_video", script="Seven days with this serum.")
    def video(avatar: str) -> dict[str, Any]:
        return {"avatar": avatar, "voice": "res_voice_emma_en"}

    op = operator(video("res_avatar_ava"))
    assert isinstance(op, _ClipwiseDecoratedOperator)
    op.execute(context())
    assert job_flow == [("execute", {"avatar": "res_avatar_ava", "voice": "res_voice_emma_en"})]
    assert op.generation_inputs() == {
        "avatar": "res_avatar_ava",
        "voice": "res_voice_emma_en",
        "script": "Seven days with this serum.",
    }


def test_clipwise_error_shows_a_clipwise_example(dag: DAG, job_flow: list) -> None:
    @task.clipwise(format="ugc_video")
    def video() -> Any:
        return "I tried this serum"

    with pytest.raises(AirflowFailException, match=r'@task.clipwise function video\(\).*\{"script": '):
        operator(video()).execute(context())


def test_partial_and_expand_map_over_the_function_arguments(dag: DAG, job_flow: list) -> None:
    @task.clipia(model="nano-banana-2", max_credits=10)
    def shot(product: str, style: str) -> dict[str, Any]:
        return {"prompt": f"{product}, {style}"}

    result: Any = shot.partial(style="daylight").expand(product=["mug", "tote"])
    mapped = operator(result)
    assert mapped.operator_class is _ClipiaDecoratedOperator
    assert mapped.partial_kwargs["model"] == "nano-banana-2"
    assert mapped.partial_kwargs["max_credits"] == 10
    assert mapped.partial_kwargs["op_kwargs"] == {"style": "daylight"}
    assert mapped.op_kwargs_expand_input.value == {"product": ["mug", "tote"]}
    assert result.key == "return_value"

    # one task instance's operator: its mapped value and the partial one reach the function
    op = mapped.unmap({"op_kwargs": {"product": "tote"}})
    assert isinstance(op, _ClipiaDecoratedOperator)
    op.execute(context())
    assert job_flow == [("execute", {"prompt": "tote, daylight"})]


def test_expand_over_an_operator_option_is_refused(dag: DAG) -> None:
    @task.clipia(model="nano-banana-2")
    def shot(product: str) -> dict[str, Any]:
        return {"prompt": product}

    with pytest.raises(TypeError, match="unexpected keyword argument 'model'"):
        shot.expand(model=["nano-banana-2", "seedance-2-fast-t2v"])


def test_resuming_after_the_deferral_does_not_call_the_function(dag: DAG, job_flow: list) -> None:
    calls: list[int] = []

    @task.clipia(model="nano-banana-2", deferrable=True)
    def shot() -> dict[str, Any]:
        calls.append(1)
        return {"prompt": "a mug", "image_url": SimpleNamespace()}

    store = FakeStore()
    first = operator(shot())
    first.execute(context(store))
    assert len(calls) == 1

    # the resumed task is a fresh operator from the DAG: the placeholder, until resume_execution
    resumed = operator(shot())
    assert resumed.inputs is SET_DURING_EXECUTION
    event = {"status": "success", "job_id": "r1"}
    assert resumed.resume_execution("execute_complete", {"event": event}, context(store)) == {
        "request_id": "r1",
        "status": "COMPLETED",
    }
    assert len(calls) == 1, "the function ran once: not again on resume"
    # the rendered fields show what the function returned (values as JSON, objects as text)
    assert job_flow[-1][0] == "execute_complete"
    assert job_flow[-1][1]["prompt"] == "a mug"
    assert isinstance(job_flow[-1][1]["image_url"], str)


def test_without_a_task_state_store_resume_still_works(dag: DAG, job_flow: list) -> None:
    """Airflow 3.1 / 3.2: nothing is kept; the resumed task completes all the same."""

    @task.clipia(model="nano-banana-2", deferrable=True)
    def shot() -> dict[str, Any]:
        return {"prompt": "a mug"}

    op = operator(shot())
    ti = SimpleNamespace(try_number=1)
    op.execute({"ti": ti})
    event = {"status": "success", "job_id": "r1"}
    assert op.resume_execution("execute_complete", {"event": event}, {"ti": ti})["request_id"] == "r1"


def test_a_retry_calls_the_function_again(dag: DAG, job_flow: list) -> None:
    """Each try's execute calls the function: the job flow's ledger decides whether to submit."""
    tries: list[int] = []

    @task.clipia(model="nano-banana-2")
    def shot(ti: Any = None) -> dict[str, Any]:
        tries.append(ti.try_number)
        return {"prompt": "a mug"}

    op = operator(shot())
    store = FakeStore()
    op.execute(context(store, try_number=1))
    op.execute(context(store, try_number=2))
    assert tries == [1, 2]
    assert [inputs for _, inputs in job_flow] == [{"prompt": "a mug"}, {"prompt": "a mug"}]
