"""Where a task instance records what it submitted or created, so no retry, crash or restart pays twice.

The ledger lives in Airflow 3.3's ``task_state_store``, which survives deferrals and tries of one
task instance. The intended idempotency key is written *before* the submit and the job id right
after it: a worker that dies anywhere in between leaves the key behind, and the next try resubmits
with that same key, which the API resolves to the same job without a second charge. Writes the API
takes no idempotency key for (uploads, products, signed input URLs) are recorded by
:func:`once_per_task_instance`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from airflow.sdk import Context

T = TypeVar("T")

_NEVER_EXPIRE: Any = None


def never_expire() -> Any:
    """``NEVER_EXPIRE`` from the Task SDK, imported when first needed (keeps DAG parsing light).

    Airflow before 3.3 has neither ``task_state_store`` nor ``NEVER_EXPIRE``; a store handed in by
    other means there (a test's) gets ``None``: no retention limit asked for.
    """
    global _NEVER_EXPIRE
    if _NEVER_EXPIRE is None:
        try:
            from airflow.sdk.execution_time.context import NEVER_EXPIRE
        except ImportError:
            return None
        _NEVER_EXPIRE = NEVER_EXPIRE
    return _NEVER_EXPIRE


def task_identity_key(context: Context, namespace: str) -> str:
    """A stable idempotency key for this task instance: dag, task, run and map index, hashed."""
    ti = context["ti"]
    identity = f"{namespace}/{ti.dag_id}/{ti.task_id}/{ti.run_id}/{ti.map_index}"
    return f"airflow-{hashlib.sha256(identity.encode()).hexdigest()[:40]}"


class JobLedger:
    """One task instance's record of its submission: ``{"key": ..., "job_id": ... | None}``.

    A job whose end the metrics have not counted yet also has ``submitted_at`` (UNIX time): the
    try that sees the job end counts it once, with its duration, and saves the record without it.
    """

    def __init__(self, context: Context, name: str) -> None:
        self._store = context.get("task_state_store")
        self._name = name
        self._memory: dict[str, Any] | None = None

    @property
    def durable(self) -> bool:
        """False when the Airflow runtime gives no ``task_state_store`` (then retries cannot resume)."""
        return self._store is not None

    def load(self) -> dict[str, Any] | None:
        """The last record, or None if this task instance never submitted."""
        if self._store is None:
            return self._memory
        value = self._store.get(self._name)
        return dict(value) if isinstance(value, dict) else None

    def save(self, *, key: str, job_id: str | None, submitted_at: float | None = None) -> None:
        """Record the key about to be used (``job_id=None``) or the job it created (and when)."""
        record: dict[str, Any] = {"key": key, "job_id": job_id}
        if submitted_at is not None:
            record["submitted_at"] = submitted_at
        if self._store is None:
            self._memory = record
        else:
            self._store.set(self._name, record, retention=never_expire())


def fingerprint(value: Any) -> str:
    """A stable digest of JSON-like ``value`` (keys sorted; paths and other objects as text)."""
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def once_per_task_instance(
    context: Context,
    name: str,
    inputs: Any,
    produce: Callable[[], T],
    log: logging.Logger | Any,
) -> T:
    """``produce()``, run at most once per task instance for the same ``inputs``.

    The result (which must be JSON-serializable) is stored under ``name`` in ``task_state_store``
    with a fingerprint of ``inputs``; a later try with the same inputs gets the stored result and
    ``produce`` is not called. Changed inputs (say, a re-rendered template) run it again. Without a
    ``task_state_store`` (Airflow before 3.3) it simply runs on every try.
    """
    store = context.get("task_state_store")
    digest = fingerprint(inputs)
    record = store.get(name) if store is not None else None
    if isinstance(record, dict) and record.get("inputs") == digest:
        log.info("Reusing %s from an earlier try of this task instance (same inputs).", name)
        return cast(T, record["value"])
    value = produce()
    if store is not None:
        store.set(name, {"inputs": digest, "value": cast(Any, value)}, retention=never_expire())
    return value
