"""Airflow internals the tests use whose home or signature changed between supported versions.

Airflow 3.2 moved the DAG bag from ``airflow.models.dagbag`` to ``airflow.dag_processing.dagbag``
and gave it a ``bundle_name``; tests reach both through here, so each supported version (3.1, 3.2,
3.3) runs the same tests. ``HAS_TASK_STATE_STORE`` tells the tests whose expectations differ where
the provider keeps its ledger (see ``docs/compatibility.md``).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

try:
    from airflow.dag_processing.dagbag import BundleDagBag, DagBag, sync_bag_to_db
except ImportError:  # Airflow 3.1
    from airflow.models.dagbag import BundleDagBag, DagBag, sync_bag_to_db  # type: ignore[no-redef]

try:  # Airflow 3.3: a task_state_store per task instance, where the provider keeps its ledger
    from airflow.sdk.execution_time.context import NEVER_EXPIRE as _NEVER_EXPIRE  # noqa: F401

    HAS_TASK_STATE_STORE = True
except ImportError:  # Airflow 3.1, 3.2: the API's idempotency store is the ledger
    HAS_TASK_STATE_STORE = False

__all__ = ["HAS_TASK_STATE_STORE", "DagBag", "bundle_dag_bag", "sync_bag_to_db"]


def bundle_dag_bag(folder: Path, bundle_name: str) -> DagBag:
    """The DAGs of ``folder`` parsed as the bundle ``bundle_name`` (named where Airflow takes it)."""
    kwargs: dict[str, Any] = {"dag_folder": str(folder), "bundle_path": folder}
    if "bundle_name" in inspect.signature(DagBag.__init__).parameters:
        kwargs["bundle_name"] = bundle_name
    return BundleDagBag(**kwargs)


def raw_xcom_set_kwargs() -> dict[str, bool]:
    """What ``XComModel.set`` needs to store a value as given: ``serialize=False`` where it has it
    (3.2 and later); Airflow 3.1 always stores the value's JSON."""
    from airflow.models.xcom import XComModel

    return {"serialize": False} if "serialize" in inspect.signature(XComModel.set).parameters else {}


def fastapi_plugin_apps() -> list[dict[str, Any]]:
    """The FastAPI apps every plugin declares, as the API server collects them."""
    from airflow import plugins_manager

    if hasattr(plugins_manager, "get_fastapi_plugins"):  # 3.2 and later
        return list(plugins_manager.get_fastapi_plugins()[0])
    legacy: Any = plugins_manager  # Airflow 3.1 keeps the apps in a module global
    legacy.initialize_fastapi_plugins()
    return list(legacy.fastapi_apps or [])


def decoded_next_kwargs(value: Any) -> dict[str, Any]:
    """A task instance's ``next_kwargs`` as a dict: encoded with the Task SDK's serde since 3.2,
    stored as it is by 3.1."""
    try:
        from airflow.sdk.serde import deserialize
    except ImportError:  # Airflow 3.1
        return dict(value)
    decoded: Any = deserialize(value)
    return dict(decoded)
