"""Identifiers of sandbox records.

Every id starts with a prefix naming its kind (``gen_``, ``upl_``, ``prod_``, ``res_``, ``med_``,
``ext_``, ``req_``) so a log line or a test failure tells at a glance what an id points at.
"""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    """Return a fresh, unguessable id such as ``gen_3f9c1a2b4d5e6f70``."""
    return f"{prefix}_{secrets.token_hex(8)}"
