"""ClipiaGenerateOperator(wait_for_webhook=True): per-try URL, placeholder before submit, same body
for the same idempotency key, and the trigger it defers to. The API is mocked with respx."""

from __future__ import annotations

import json
import time
import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx

from clipgen_provider.exceptions import ClipgenConfigError
from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.triggers.clipia import ClipiaRequestTrigger
from clipgen_provider.triggers.clipia_webhook import ClipiaWebhookTrigger
from clipgen_provider.webhooks import mailbox

BASE = "https://api.clipia.ai"
PUBLIC = "https://airflow.example.com/"


class Store:
    """What ``context["task_state_store"]`` offers: get and set with a retention."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def set(self, name: str, value: Any, retention: Any = None) -> None:
        self.values[name] = json.loads(json.dumps(value))


def context(store: Store, try_number: int = 1) -> dict[str, Any]:
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(
        id=uuid.uuid4(),
        dag_id="d",
        task_id="gen",
        run_id="r",
        map_index=-1,
        try_number=try_number,
        pushed=pushed,
        xcom_push=lambda key, value: pushed.update({key: value}),
    )
    return {"ti": ti, "task_state_store": store}


def set_conn(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    value = {"conn_type": "clipia", "host": BASE, "password": "clipia_test_op", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_CLIPIA_DEFAULT", json.dumps(value))


@pytest.fixture
def timeline(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Placeholder writes and submits, in the order they happened."""
    from airflow.sdk.bases.xcom import BaseXCom

    events: list[tuple[str, Any]] = []
    monkeypatch.setattr(BaseXCom, "set", lambda key, value, **where: events.append(("mailbox", value)))
    set_conn(monkeypatch, webhook_base_url=PUBLIC, webhook_secrets="whsec_a")
    return events


@pytest.fixture
def api(timeline: list[tuple[str, Any]]):
    def submit(request: httpx.Request) -> httpx.Response:
        timeline.append(
            ("submit", {"body": json.loads(request.content), "key": request.headers["idempotency-key"]})
        )
        return httpx.Response(
            200, json={"request_id": "req_1", "status": "IN_QUEUE", "cost": 1, "warnings": []}
        )

    with respx.mock(base_url=BASE, assert_all_called=False, using="httpx") as router:
        router.post("/v1/models/nano-banana-2").mock(side_effect=submit)
        yield router


def operator(**kwargs: Any) -> ClipiaGenerateOperator:
    return ClipiaGenerateOperator(
        task_id="gen",
        model="nano-banana-2",
        inputs={"prompt": "a mug"},
        wait_for_webhook=True,
        webhook_check_interval=7,
        webhook_fallback_poll_interval=90,
        **kwargs,
    )


def test_first_submit_pushes_the_placeholder_then_submits_this_tries_url(timeline, api) -> None:
    store = Store()
    ctx = context(store)
    op = operator()
    assert op.submit_job(ctx, "key-A") == "req_1"  # type: ignore[arg-type]
    ti_id = str(ctx["ti"].id)
    url = f"https://airflow.example.com/clipgen/clipia/deliveries/{ti_id}"
    assert timeline == [
        ("mailbox", mailbox.placeholder(ti_id, "clipia_default")),
        ("submit", {"body": {"input": {"prompt": "a mug"}, "webhook_url": url}, "key": "key-A"}),
    ]
    assert store.values["clipia_webhook_url"] == {"key": "key-A", "url": url}
    trigger = op.make_trigger("req_1", deadline=None)
    assert isinstance(trigger, ClipiaWebhookTrigger)
    assert trigger.mailbox == mailbox.MailboxRef("d", "gen", "r", -1, ti_id).as_dict()
    assert (trigger.poll_interval, trigger.check_interval) == (90, 7)
    assert trigger.max_poll_interval == 600, "the safety-net poll backs off to the default ceiling"
    assert trigger.not_before is not None
    assert trigger.not_before - time.time() == pytest.approx(mailbox.resume_settle_seconds(), abs=2)


def test_a_resubmit_with_the_same_key_sends_the_same_body_and_polls(timeline, api) -> None:
    store = Store()
    operator().submit_job(context(store), "key-A")  # type: ignore[arg-type]
    first_body = timeline[-1][1]
    timeline.clear()
    retry = operator()  # the next try (new task instance id) after a crash before the ledger got the id
    retry.submit_job(context(store, try_number=2), "key-A")  # type: ignore[arg-type]
    assert timeline == [("submit", first_body)], "same key, same body, and no placeholder for this try"
    trigger = retry.make_trigger("req_1", deadline=None)
    assert isinstance(trigger, ClipiaWebhookTrigger)
    assert (trigger.mailbox, trigger.poll_interval) == (None, retry.poll_interval)
    assert trigger.max_poll_interval is None, "no webhook for this try: a steady poll, no back-off"


def test_a_fallback_ceiling_below_the_first_poll_is_refused() -> None:
    with pytest.raises(ClipgenConfigError, match="webhook_fallback_max_poll_interval"):
        operator(webhook_fallback_max_poll_interval=30)


def test_a_new_key_gets_this_tries_url_and_mailbox(timeline, api) -> None:
    store = Store()
    operator().submit_job(context(store), "key-A")  # type: ignore[arg-type]
    retry_ctx = context(store, try_number=2)
    retry = operator()
    retry.submit_job(retry_ctx, "key-A:try2")  # type: ignore[arg-type]
    retry_id = str(retry_ctx["ti"].id)
    assert timeline[-2] == ("mailbox", mailbox.placeholder(retry_id, "clipia_default"))
    assert timeline[-1][1]["body"]["webhook_url"].endswith(f"/deliveries/{retry_id}")
    assert isinstance(retry.make_trigger("req_1", deadline=None), ClipiaWebhookTrigger)


def test_re_attaching_without_a_submit_polls(timeline) -> None:
    trigger = operator().make_trigger("req_1", deadline=None)
    assert isinstance(trigger, ClipiaWebhookTrigger)
    assert trigger.mailbox is None
    assert trigger.not_before is not None, "held back like every webhook-mode event"


@pytest.mark.parametrize(
    "extra",
    [{"webhook_secrets": "whsec_a"}, {"webhook_base_url": PUBLIC}, {}],
    ids=["no-public-url", "no-secrets", "neither"],
)
def test_missing_webhook_settings_fail_before_anything_is_spent(monkeypatch, timeline, api, extra) -> None:
    set_conn(monkeypatch, **extra)
    with pytest.raises(ClipgenConfigError, match="webhook_base_url"):
        operator().submit_job(context(Store()), "key-A")  # type: ignore[arg-type]
    assert timeline == []


def test_webhook_url_and_wait_for_webhook_exclude_each_other() -> None:
    with pytest.raises(ClipgenConfigError, match="either"):
        operator(webhook_url="https://elsewhere.example.com/hook")


def test_without_wait_for_webhook_nothing_changes(timeline, api) -> None:
    op = ClipiaGenerateOperator(task_id="gen", model="nano-banana-2", inputs={"prompt": "a mug"})
    op.submit_job(context(Store()), "key-A")  # type: ignore[arg-type]
    assert timeline == [("submit", {"body": {"input": {"prompt": "a mug"}}, "key": "key-A"})]
    assert type(op.make_trigger("req_1", deadline=None)) is ClipiaRequestTrigger


def test_an_event_about_another_request_is_ignored_and_the_task_waits_again(timeline, api) -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    store = Store()
    ctx = context(store)
    operator().submit_job(ctx, "key-A")  # type: ignore[arg-type]
    store.set("clipia_request", {"key": "key-A", "job_id": "req_1"})
    resumed = operator()  # a new process runs execute_complete
    stale = {"status": "success", "job_id": "req_other", "remote_status": "COMPLETED", "message": "m"}
    with pytest.raises(TaskDeferred) as deferred:
        resumed.execute_complete(ctx, stale)  # type: ignore[arg-type]
    trigger = deferred.value.trigger
    assert isinstance(trigger, ClipiaWebhookTrigger)
    assert trigger.job_id == "req_1"
    assert trigger.mailbox == mailbox.MailboxRef.of(ctx["ti"]).as_dict(), "still this try's mailbox"
    assert deferred.value.method_name == "execute_complete"


def test_an_event_about_the_awaited_request_completes(timeline, api) -> None:
    api.get("/v1/requests/req_1").mock(
        return_value=httpx.Response(
            200, json={"request_id": "req_1", "status": "COMPLETED", "output": {}, "cost": 4}
        )
    )
    store = Store()
    store.set("clipia_request", {"key": "key-A", "job_id": "req_1"})
    event = {"status": "success", "job_id": "req_1", "remote_status": "COMPLETED", "message": "m"}
    result = operator().execute_complete(context(store), event)  # type: ignore[arg-type]
    assert (result["request_id"], result["cost"]) == ("req_1", 4)
