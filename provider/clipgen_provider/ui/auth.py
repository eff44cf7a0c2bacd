"""Who may see what: Airflow's own authentication and DAG permissions, applied to every route.

Airflow gives a plugin's app no authentication of its own. These dependencies are Airflow's
(``airflow.api_fastapi.core_api.security``): the user comes from the JWT in the
``Authorization: Bearer`` header or, in the UI's same-origin iframe, the ``_token`` cookie
(401 without one), and the configured auth manager (Simple, FAB, Keycloak…) decides what that
user may read (403 otherwise).
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails, DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, HTTPException

__all__ = [
    "GetUserDep",
    "can_read_connection",
    "readable_dag_ids",
    "require_dag",
    "requires_task_instance_read",
]

#: route dependency: the user may read the task instances of the request's ``dag_id``
requires_task_instance_read = Depends(requires_access_dag("GET", DagAccessEntity.TASK_INSTANCE))


def readable_dag_ids(user: Any) -> set[str]:
    """The ids of the DAGs ``user`` may read (the auth manager's answer, teams included)."""
    return set(get_auth_manager().get_authorized_dag_ids(user=user, method="GET"))


def require_dag(dag_id: str, readable: set[str]) -> None:
    """403 unless ``dag_id`` is among the DAGs the user may read."""
    if dag_id not in readable:
        raise HTTPException(403, f"You may not read the DAG {dag_id!r}.")


def can_read_connection(user: Any, conn_id: str) -> bool:
    """Whether ``user`` may read the connection ``conn_id`` (its balance is read with its key)."""
    return bool(
        get_auth_manager().is_authorized_connection(
            method="GET", details=ConnectionDetails(conn_id=conn_id), user=user
        )
    )
