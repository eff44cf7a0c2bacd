"""The Clipia connections the page lists, and reading one's balance when the user asks for it."""

from __future__ import annotations

import json
import os

from airflow.exceptions import AirflowNotFoundException
from airflow.models.connection import Connection
from sqlalchemy import select
from sqlalchemy.orm import Session

from clipgen_provider.exceptions import ClipgenError

_ENV_PREFIX = "AIRFLOW_CONN_"


def _env_conn_type(value: str) -> str | None:
    """The ``conn_type`` of a connection given as an environment variable (JSON or URI)."""
    text = value.strip()
    if text.startswith("{"):
        try:
            found = json.loads(text).get("conn_type")
        except (ValueError, AttributeError):
            return None
        return str(found) if found else None
    return text.split("://", 1)[0] if "://" in text else None


def clipia_connection_ids(session: Session) -> list[str]:
    """Ids of the ``clipia`` connections in the metadata database and the ``AIRFLOW_CONN_*``
    environment variables (a secrets backend cannot be listed: its connections are not shown)."""
    found = set(session.scalars(select(Connection.conn_id).where(Connection.conn_type == "clipia")))
    for name, value in os.environ.items():
        if name.startswith(_ENV_PREFIX) and _env_conn_type(value) == "clipia":
            found.add(name[len(_ENV_PREFIX) :].lower())
    return sorted(found)


class BalanceUnavailable(Exception):
    """The balance could not be read; the message says why, in words safe to show."""


def read_balance(conn_id: str) -> float:
    """Credits left on the Clipia account of ``conn_id`` (one ``GET /v1/account``)."""
    from clipgen_provider.hooks.clipia import ClipiaHook

    hook = ClipiaHook(conn_id)
    try:
        return float(hook.get_account()["balance"]["credits"])
    except AirflowNotFoundException as err:
        raise BalanceUnavailable(f"There is no connection {conn_id!r}.") from err
    except ClipgenError as err:
        raise BalanceUnavailable(str(err)) from err
    except (KeyError, TypeError, ValueError) as err:
        raise BalanceUnavailable(f"Clipia's account answer has no balance ({type(err).__name__})") from err
    finally:
        hook.close()
