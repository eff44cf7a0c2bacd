"""What every Clipwise operator shares: its hook, and not repeating a write when a task is retried.

Uploads, products, cloned voices and generated resources are not paid generations and the API
takes no idempotency key for them, so a retried task would create them again. Where that is cheap
to avoid, the operator records what it created in the task instance's ``task_state_store``
together with a fingerprint of its inputs; a later try with the same inputs reuses the record.
(A worker dying between the API's answer and the record still duplicates the asset: that window is
one round trip, and the duplicate costs nothing.)
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

from airflow.sdk import Context

from clipgen_provider.operators._ledger import _never_expire

if TYPE_CHECKING:
    from clipgen_provider.hooks.clipwise import ClipwiseHook

T = TypeVar("T")


class ClipwiseHookMixin:
    """Gives an operator ``self.hook``, built for ``self.clipwise_conn_id`` on first use.

    The hook module (and the HTTP stack) is imported only then, so parsing a DAG stays cheap.
    """

    clipwise_conn_id: str

    @cached_property
    def hook(self) -> ClipwiseHook:
        """The hook for ``clipwise_conn_id``."""
        from clipgen_provider.hooks.clipwise import ClipwiseHook

        return ClipwiseHook(self.clipwise_conn_id)


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
    ``task_state_store`` (an older runtime) it simply runs.
    """
    store = context.get("task_state_store")
    digest = fingerprint(inputs)
    record = store.get(name) if store is not None else None
    if isinstance(record, dict) and record.get("inputs") == digest:
        log.info("Reusing %s from an earlier try of this task instance (same inputs).", name)
        return cast(T, record["value"])
    value = produce()
    if store is not None:
        store.set(name, {"inputs": digest, "value": cast(Any, value)}, retention=_never_expire())
    return value
