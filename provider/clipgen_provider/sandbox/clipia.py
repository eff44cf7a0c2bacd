"""The Clipia routes of the sandbox: ``/v1/...`` per the wire contract, plus an out-of-band cancel.

The handlers only authenticate, parse and answer; the rules live in :mod:`clipia_jobs` and
:mod:`clipia_catalog`. They are plain Starlette endpoints writing their answers with
:func:`json_response` (no FastAPI parameter solving or encoder pass) because the status poll
must stay cheap under benchmark load: the sandbox serves well over 1,000 polls/s on one core.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import APIRouter, Request
from starlette.responses import Response

from clipgen_provider.sandbox.clipia_catalog import catalog_payload, get_model
from clipgen_provider.sandbox.clipia_http import ClipiaError, bearer_token, json_object, json_response
from clipgen_provider.sandbox.clipia_jobs import ClipiaStore

_API_KEY = re.compile(r"clipia_(?:test|live)_[!-~]{1,200}")

#: plain Starlette routes: FastAPI's parameter machinery would cost more than the handlers
router = APIRouter()


def _store(request: Request) -> ClipiaStore:
    """The app's Clipia state."""
    return cast(ClipiaStore, request.app.state.clipia)


def authenticate(request: Request) -> str:
    """Return the request's API key, or raise ``401 invalid_api_key``."""
    key = bearer_token(request.headers.get("authorization"))
    if key is None or not _API_KEY.fullmatch(key):
        raise ClipiaError(
            401, "invalid_api_key", "Send Authorization: Bearer clipia_test_... (or clipia_live_...)"
        )
    return key


async def submit(request: Request) -> Response:
    """Queue a generation (``Idempotency-Key`` deduplicates retries)."""
    key = authenticate(request)
    slug = request.path_params["slug"]
    body = await json_object(request)
    idempotency_key = request.headers.get("idempotency-key")
    return json_response(_store(request).submit(key, slug, body, idempotency_key, str(request.base_url)))


async def status(request: Request) -> Response:
    """Where a request is in its lifecycle (the hot path of every waiting client)."""
    return json_response(_store(request).status(authenticate(request), request.path_params["request_id"]))


async def result(request: Request) -> Response:
    """``202`` with lifecycle fields while running, ``200`` with the result once terminal."""
    request_id = request.path_params["request_id"]
    code, payload = _store(request).result(authenticate(request), request_id, str(request.base_url))
    return json_response(payload, code)


async def list_models(request: Request) -> Response:
    """The catalog."""
    authenticate(request)
    return json_response(catalog_payload())


async def model_card(request: Request) -> Response:
    """One model card."""
    authenticate(request)
    return json_response(get_model(request.path_params["slug"]).as_dict())


async def estimate(request: Request) -> Response:
    """The credits a submit of this input would reserve."""
    authenticate(request)
    return json_response(_store(request).estimate(request.path_params["slug"], await json_object(request)))


async def account(request: Request) -> Response:
    """Balance and usage of the key's account."""
    return json_response(_store(request).account_payload(authenticate(request)))


async def cancel(request: Request) -> Response:
    """Cancel a running request out of band (no such call exists in the real API)."""
    return json_response(_store(request).cancel(authenticate(request), request.path_params["request_id"]))


_ROUTES: tuple[tuple[str, str, Callable[[Request], Awaitable[Response]]], ...] = (
    ("POST", "/v1/models/{slug}", submit),
    ("GET", "/v1/requests/{request_id}/status", status),
    ("GET", "/v1/requests/{request_id}", result),
    ("GET", "/v1/models", list_models),
    ("GET", "/v1/models/{slug}", model_card),
    ("POST", "/v1/models/{slug}/estimate", estimate),
    ("GET", "/v1/account", account),
    ("POST", "/_sandbox/clipia/requests/{request_id}/cancel", cancel),
)
for _method, _path, _endpoint in _ROUTES:
    router.add_route(_path, _endpoint, methods=[_method], include_in_schema=False)
