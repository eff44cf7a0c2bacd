"""Bearer-token authentication and scopes.

Any ``cw_…`` token is accepted (it is its own account). Scopes follow from the token's prefix so a
test can ask for a restricted token without any setup:

=========================  ============================================
token starts with          scopes
=========================  ============================================
``cw_test_readonly``       ``generations:read``, ``resources:read``
``cw_test_noresources``    ``generations:read``, ``generations:write``
``cw_test_nogenerations``  ``resources:read``, ``resources:write``
``cw_test_revoked``        none: every call answers ``401``
any other ``cw_…``         all four
=========================  ============================================
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from .errors import ClipwiseError
from .state import Account, clipwise_state
from .timeline import now

SCOPES = frozenset({"generations:read", "generations:write", "resources:read", "resources:write"})
_RESTRICTED: tuple[tuple[str, frozenset[str]], ...] = (
    ("cw_test_readonly", frozenset({"generations:read", "resources:read"})),
    ("cw_test_noresources", frozenset({"generations:read", "generations:write"})),
    ("cw_test_nogenerations", frozenset({"resources:read", "resources:write"})),
)
_REVOKED_PREFIX = "cw_test_revoked"
_TOKEN = re.compile(r"cw_[A-Za-z0-9_\-]{4,200}")


def _unauthorized(message: str) -> ClipwiseError:
    return ClipwiseError(401, "invalid_api_key", message)


def token_scopes(token: str) -> frozenset[str]:
    """Return the scopes a token carries by the prefix convention."""
    for prefix, scopes in _RESTRICTED:
        if token.startswith(prefix):
            return scopes
    return SCOPES


def bearer_token(header: str | None) -> str:
    """Return the token of an ``Authorization: Bearer cw_…`` header, or answer 401."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN.fullmatch(token):
        raise _unauthorized("send Authorization: Bearer cw_... with a Clipwise API token")
    if token.startswith(_REVOKED_PREFIX):
        raise _unauthorized("this API token was revoked")
    return token


def requires(scope: str | None) -> Callable[[Request], Awaitable[Account]]:
    """Build a dependency that authenticates, checks ``scope`` and returns the token's account."""

    async def authenticated(request: Request) -> Account:
        token = bearer_token(request.headers.get("authorization"))
        if scope is not None and scope not in token_scopes(token):
            raise ClipwiseError(
                403,
                "insufficient_scope",
                f"this token lacks the {scope} scope",
                {"required_scope": scope, "token_scopes": sorted(token_scopes(token))},
            )
        account = clipwise_state(request).account(token)
        account.settle(now())
        return account

    return authenticated


ReadResources = Annotated[Account, Depends(requires("resources:read"))]
WriteResources = Annotated[Account, Depends(requires("resources:write"))]
ReadGenerations = Annotated[Account, Depends(requires("generations:read"))]
WriteGenerations = Annotated[Account, Depends(requires("generations:write"))]
