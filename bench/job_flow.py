"""One generation end to end, two ways: our deferrable operator, and a blocking SDK-style wait.

Both run the real operator code against the sandbox, outside a worker: ``execute`` and
``execute_complete`` are called the way the task runner calls them, with a minimal task instance
(no ``task_state_store``: the ledger keeps its record in memory). Measured per way:

* worker-slot seconds: for the deferrable operator the time in ``execute`` (submit, then
  ``TaskDeferred``) plus ``execute_complete`` (one result GET); the wait in between runs in the
  trigger, on no worker slot. For the blocking wait, the whole ``PythonOperator.execute``, which
  polls like the official SDKs' ``subscribe()`` until the job ends.
* API calls, from the sandbox's call log (one API key per way): submit, status polls, result.

The two ways run at the same time (the blocking one in a thread) so the pair costs one job length.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk.exceptions import TaskDeferred

from bench.kinds import CLIPIA_MODEL
from clipgen_provider.hooks.clipia import ClipiaHook, clipia_job_state
from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.sandbox.server import SandboxServer

DEFERRABLE_CONN_ID = "clipia_default"
BLOCKING_CONN_ID = "clipia_bench_blocking"
#: seconds between the blocking wait's status polls
BLOCKING_POLL_SECONDS = 1.0


@dataclass
class _TaskInstance:
    """The task-instance fields and the one call the operators use when run outside a worker."""

    task_id: str
    dag_id: str = "clipgen_bench"
    run_id: str = field(default_factory=lambda: f"bench__{uuid.uuid4().hex}")
    map_index: int = -1
    try_number: int = 1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def _context(task_id: str) -> dict[str, Any]:
    ti = _TaskInstance(task_id)
    return {"ti": ti, "task_instance": ti, "run_id": ti.run_id}


def _call_counts(sandbox: SandboxServer, api_key: str) -> dict[str, int]:
    """The key's Clipia calls by kind: submit, status (polls), result, other."""
    kinds: Counter[str] = Counter()
    for call in sandbox.calls(api_key=api_key):
        path = call["path"]
        if call["method"] == "POST" and path.startswith("/v1/models/"):
            kinds["submit"] += 1
        elif path.endswith("/status"):
            kinds["status"] += 1
        elif path.startswith("/v1/requests/"):
            kinds["result"] += 1
        else:
            kinds["other"] += 1
    return {"total": sum(kinds.values()), **dict(sorted(kinds.items()))}


async def _first_event(trigger: Any) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise RuntimeError("the trigger ended without an event")


def _deferrable(poll_interval: float) -> dict[str, Any]:
    """Our operator: ``execute`` until it defers, the trigger's wait, then ``execute_complete``."""
    operator = ClipiaGenerateOperator(
        task_id="generate",
        model=CLIPIA_MODEL,
        inputs={"prompt": "benchmark: a lighthouse at dusk"},
        deferrable=True,
        poll_interval=poll_interval,
        poll_schedule="fixed",  # the adaptive default is measured on its own (bench.adaptive)
    )
    context = _context("generate")
    started = time.perf_counter()
    try:
        operator.execute(context)  # type: ignore[arg-type]
    except TaskDeferred as deferred:
        trigger = deferred.trigger
    else:
        raise RuntimeError("the operator finished without deferring")
    execute_seconds = time.perf_counter() - started
    waited = time.perf_counter()
    event = asyncio.run(_first_event(trigger))
    wait_seconds = time.perf_counter() - waited
    resumed = time.perf_counter()
    result = operator.execute_complete(context, event)  # type: ignore[arg-type]
    complete_seconds = time.perf_counter() - resumed
    return {
        "slot_seconds": round(execute_seconds + complete_seconds, 3),
        "execute_seconds": round(execute_seconds, 3),
        "execute_complete_seconds": round(complete_seconds, 3),
        "trigger_wait_seconds": round(wait_seconds, 2),
        "status": result.get("status"),
    }


def subscribe_and_wait(model: str, prompt: str, conn_id: str, interval: float) -> dict[str, Any]:
    """What a DAG author writes with an official SDK: submit, poll the status until it ends, fetch."""
    hook = ClipiaHook(conn_id)
    request_id = hook.submit(model, {"prompt": prompt})["request_id"]
    while not clipia_job_state(hook.get_status(request_id)).terminal:
        time.sleep(interval)
    return hook.get_result(request_id)


def _blocking(out: dict[str, Any]) -> None:
    """A ``PythonOperator`` running :func:`subscribe_and_wait`; fills ``out`` (runs in a thread)."""
    operator = PythonOperator(
        task_id="generate_blocking",
        python_callable=subscribe_and_wait,
        op_kwargs={
            "model": CLIPIA_MODEL,
            "prompt": "benchmark: a lighthouse at dusk",
            "conn_id": BLOCKING_CONN_ID,
            "interval": BLOCKING_POLL_SECONDS,
        },
    )
    started = time.perf_counter()
    result = operator.execute(_context("generate_blocking"))
    out.update(slot_seconds=round(time.perf_counter() - started, 3), status=result.get("status"))


def run_job_flows(
    sandbox: SandboxServer, queue_seconds: float, run_seconds: float, poll_interval: float
) -> dict[str, Any]:
    """Run one generation each way at once; return slot seconds and API calls of both."""
    keys = {
        conn_id: f"clipia_test_bench_{uuid.uuid4().hex}" for conn_id in (DEFERRABLE_CONN_ID, BLOCKING_CONN_ID)
    }
    for conn_id, key in keys.items():
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(
            {"conn_type": "clipia", "host": sandbox.url, "password": key}
        )
    sandbox.update_settings(queue_seconds=queue_seconds, run_seconds=run_seconds)
    blocking: dict[str, Any] = {}
    thread = threading.Thread(target=_blocking, args=(blocking,), name="bench-blocking-wait")
    thread.start()
    deferrable = _deferrable(poll_interval)
    thread.join()
    return {
        "job_seconds": queue_seconds + run_seconds,
        "poll_interval_s": poll_interval,
        "blocking_poll_interval_s": BLOCKING_POLL_SECONDS,
        "deferrable": {**deferrable, "api_calls": _call_counts(sandbox, keys[DEFERRABLE_CONN_ID])},
        "blocking": {**blocking, "api_calls": _call_counts(sandbox, keys[BLOCKING_CONN_ID])},
    }
