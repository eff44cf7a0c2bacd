"""Airflow internals the tests use whose home or signature changed between supported versions.

Airflow 3.2 moved the DAG bag from ``airflow.models.dagbag`` to ``airflow.dag_processing.dagbag``
and gave it a ``bundle_name``; tests reach both through here, so each supported version (3.1, 3.2,
3.3) runs the same tests. ``HAS_TASK_STATE_STORE`` tells the tests whose expectations differ where
the provider keeps its ledger (see ``docs/compatibility.md``); the other flags name what a version
lacks (found by looking for it, never by version number), :data:`requires_teams` skips a test
that needs SimpleAuthManager's teams, and :func:`share_in_process_execution_api` gives 3.1 and 3.2
the execution API cache 3.3 has.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any

import pytest
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.providers_manager import ProvidersManager
from airflow.sdk.execution_time import supervisor

try:
    from airflow.dag_processing.dagbag import BundleDagBag, DagBag, sync_bag_to_db
except ImportError:  # Airflow 3.1
    from airflow.models.dagbag import BundleDagBag, DagBag, sync_bag_to_db  # type: ignore[no-redef]

try:  # Airflow 3.3: a task_state_store per task instance, where the provider keeps its ledger
    from airflow.sdk.execution_time.context import NEVER_EXPIRE as _NEVER_EXPIRE  # noqa: F401

    HAS_TASK_STATE_STORE = True
except ImportError:  # Airflow 3.1, 3.2: the API's idempotency store is the ledger
    HAS_TASK_STATE_STORE = False

#: Airflow 3.2+: the ProvidersManager reads connection forms from the provider info (``conn-fields``,
#: ``ui-field-behaviour``); 3.1 only from the hooks' methods, and only with Flask-AppBuilder installed
PROVIDERS_MANAGER_READS_CONNECTION_FORMS = hasattr(ProvidersManager, "_load_ui_metadata")


def share_in_process_execution_api() -> None:
    """Build the in-process execution API that ``dag.test()`` runs tasks against once per process,
    as Airflow 3.3 does. Airflow 3.1 and 3.2 build it again for every task, about 5 s of CPU each
    (most of it Cadwyn generating the API's versioned routes); what the API answers is unchanged."""
    if not hasattr(supervisor.in_process_api_server, "cache_info"):
        supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(supervisor.in_process_api_server)


#: Airflow 3.2+: SimpleAuthManager users are in teams, and a DAG of a team's bundle is that team's
#: alone; Airflow 3.1's SimpleAuthManager has no teams (a viewer reads every DAG)
SIMPLE_AUTH_MANAGER_HAS_TEAMS = "teams" in inspect.signature(SimpleAuthManagerUser.__init__).parameters
#: a test that keeps a DAG from a user by its team
requires_teams = pytest.mark.skipif(
    not SIMPLE_AUTH_MANAGER_HAS_TEAMS,
    reason="Airflow 3.1's SimpleAuthManager has no teams: every viewer may read every DAG",
)

__all__ = [
    "HAS_TASK_STATE_STORE",
    "PROVIDERS_MANAGER_READS_CONNECTION_FORMS",
    "SIMPLE_AUTH_MANAGER_HAS_TEAMS",
    "DagBag",
    "bundle_dag_bag",
    "requires_teams",
    "share_in_process_execution_api",
    "sync_bag_to_db",
]


def bundle_dag_bag(folder: Path, bundle_name: str) -> DagBag:
    """The DAGs of ``folder`` parsed as the bundle ``bundle_name`` (named where Airflow takes it)."""
    kwargs: dict[str, Any] = {"dag_folder": str(folder), "bundle_path": folder}
    if "bundle_name" in inspect.signature(DagBag.__init__).parameters:
        kwargs["bundle_name"] = bundle_name
    return BundleDagBag(**kwargs)


def simple_auth_user(
    username: str, role: str | None, teams: list[str] | None = None
) -> SimpleAuthManagerUser:
    """A SimpleAuthManager user, in ``teams`` where users have teams (3.2+); on Airflow 3.1 the same
    user without them (the tests that depend on a team are skipped there)."""
    kwargs: dict[str, Any] = {"teams": teams} if SIMPLE_AUTH_MANAGER_HAS_TEAMS else {}
    return SimpleAuthManagerUser(username=username, role=role, **kwargs)


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


def ui_plugin_views() -> list[dict[str, Any]]:
    """The external views every plugin declares, as the API server lists them to the UI."""
    from airflow import plugins_manager

    if hasattr(plugins_manager, "_get_ui_plugins"):  # 3.2 and later
        return list(plugins_manager._get_ui_plugins()[0])
    legacy: Any = plugins_manager  # Airflow 3.1 keeps the views in a module global
    legacy.initialize_ui_plugins()
    return list(legacy.external_views or [])


def decoded_next_kwargs(value: Any) -> dict[str, Any]:
    """A task instance's ``next_kwargs`` as a dict: encoded with the Task SDK's serde since 3.2,
    stored as it is by 3.1."""
    try:
        from airflow.sdk.serde import deserialize
    except ImportError:  # Airflow 3.1
        return dict(value)
    decoded: Any = deserialize(value)
    return dict(decoded)
