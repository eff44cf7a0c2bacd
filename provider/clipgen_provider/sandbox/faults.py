"""Fault rules: make the sandbox misbehave on purpose so clients can prove they survive it.

A rule is added through ``POST /_sandbox/faults``, matches requests by method, path prefix (or
regex) and optionally API key, affects the next ``times`` matching requests (or webhook
deliveries) and then disappears. HTTP effects are applied by :class:`FaultMiddleware`, a pure
ASGI middleware in front of every route except ``/_sandbox/*`` and ``/healthz``; webhook effects
are taken by the webhook sender.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
import struct
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clipgen_provider.sandbox.clipia_http import (
    default_code,
    dumps,
    error_payload,
    key_fingerprint,
    scope_key_fingerprint,
)

#: paths no fault rule touches (the control API and the health check)
EXEMPT_PREFIXES = ("/_sandbox/", "/healthz")
#: ASGI scope key under which the middleware records the id of the rule it applied
FAULT_SCOPE_KEY = "clipgen.sandbox.fault"
WEBHOOK_EFFECTS = ("drop", "duplicate", "delay", "forge")
_CLIPWISE_PREFIX = "/api/sdk/"

_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "method": str,
    "path": str,
    "path_regex": str,
    "api_key": str,
    "times": int,
    "status": int,
    "code": str,
    "message": str,
    "retry_after": (str, int),
    "body": str,
    "reset": bool,
    "after_handler": bool,
    "delay_seconds": (int, float),
    "webhook": str,
}


def _typed(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check the JSON types of a rule's fields; raise ``ValueError`` naming the first bad one."""
    unknown = sorted(set(data) - set(_FIELD_TYPES))
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(unknown)}")
    for name, value in data.items():
        expected = _FIELD_TYPES[name]
        wrong = not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool)
        if value is not None and wrong:
            raise ValueError(f"fault field {name!r} has the wrong type")
    return {k: v for k, v in data.items() if v is not None}


@dataclass
class FaultRule:
    """One fault: which requests (or webhook deliveries) it matches and what it does to them."""

    id: str
    times: int = 1
    method: str = "*"
    path: str = "/"
    path_regex: re.Pattern[str] | None = None
    key_fingerprint: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: str | None = None
    body: str | None = None
    reset: bool = False
    after_handler: bool = False
    delay_seconds: float | None = None
    webhook: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], rule_id: str) -> FaultRule:
        """Build a rule from its JSON form, raising ``ValueError`` for inconsistent rules."""
        fields = _typed(data)
        api_key = fields.pop("api_key", None)
        regex = fields.pop("path_regex", None)
        if "retry_after" in fields:
            fields["retry_after"] = str(fields["retry_after"])
        try:
            rule = cls(
                id=rule_id,
                key_fingerprint=key_fingerprint(api_key) if api_key else None,
                path_regex=re.compile(regex) if regex is not None else None,
                **fields,
            )
        except re.error as exc:
            raise ValueError(f"path_regex does not compile: {exc}") from exc
        rule.method = rule.method.upper()
        rule._check()
        return rule

    def _check(self) -> None:
        """Reject combinations that have no clear meaning."""
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if self.delay_seconds is not None and not 0 <= self.delay_seconds <= 600:
            raise ValueError("delay_seconds must be between 0 and 600")
        if self.webhook is not None:
            self._check_webhook()
            return
        if not self.path.startswith("/"):
            raise ValueError("path must start with '/'")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if self.status is not None and self.status < 400 and self.body is None:
            raise ValueError("an error answer needs a status of 400 or more (or give a body)")
        if self.reset and (self.status is not None or self.body is not None or self.after_handler):
            raise ValueError("reset drops the connection: it takes no status, body or after_handler")
        if self.after_handler and (self.status is None or self.body is not None):
            raise ValueError("after_handler needs a status (and no body)")
        if (self.code or self.message or self.retry_after) and (self.status is None or self.body is not None):
            raise ValueError("code, message and retry_after go with a status (and no body)")
        if not (self.reset or self.status is not None or self.body is not None or self.delay_seconds):
            raise ValueError("a fault needs an effect: status, body, reset, delay_seconds or webhook")

    def _check_webhook(self) -> None:
        """Webhook rules take only ``times``, ``api_key`` and (for ``delay``) ``delay_seconds``."""
        if self.webhook not in WEBHOOK_EFFECTS:
            raise ValueError(f"webhook must be one of {', '.join(WEBHOOK_EFFECTS)}")
        http_fields = (self.status, self.code, self.message, self.retry_after, self.body, self.path_regex)
        if any(v is not None for v in http_fields) or self.reset or self.after_handler:
            raise ValueError("webhook rules take only times, api_key and delay_seconds")
        if (self.webhook == "delay") != (self.delay_seconds is not None):
            raise ValueError("delay_seconds goes with webhook 'delay' (and only with it)")

    def matches(self, method: str, path: str, fingerprint: str | None) -> bool:
        """Tell whether an HTTP request falls under this (non-webhook) rule."""
        if self.webhook is not None or self.method not in ("*", method):
            return False
        if self.key_fingerprint is not None and self.key_fingerprint != fingerprint:
            return False
        if self.path_regex is not None:
            return self.path_regex.search(path) is not None
        return path.startswith(self.path)

    def as_dict(self) -> dict[str, Any]:
        """Return the rule as ``GET /_sandbox/faults`` shows it (the key only as a fingerprint)."""
        return {
            "id": self.id,
            "times": self.times,
            "method": self.method,
            "path": self.path,
            "path_regex": self.path_regex.pattern if self.path_regex else None,
            "key_fingerprint": self.key_fingerprint,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "retry_after": self.retry_after,
            "body": self.body,
            "reset": self.reset,
            "after_handler": self.after_handler,
            "delay_seconds": self.delay_seconds,
            "webhook": self.webhook,
        }


class FaultBook:
    """The active fault rules, in the order they were added (the first match wins)."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        #: uvicorn's live set of open connections, set by the CLI so ``reset`` can reach a socket
        self.connections: Collection[Any] = ()

    def add(self, data: Mapping[str, Any]) -> FaultRule:
        """Validate and append a rule (``ValueError`` when invalid)."""
        rule = FaultRule.from_json(data, f"fault_{next(self._ids)}")
        self.rules.append(rule)
        return rule

    def clear(self) -> int:
        """Remove every rule and return how many there were."""
        count = len(self.rules)
        self.rules.clear()
        return count

    def take_request(self, method: str, path: str, fingerprint: str | None) -> FaultRule | None:
        """Return the first rule matching an HTTP request, using up one of its ``times``."""
        for rule in self.rules:
            if rule.matches(method, path, fingerprint):
                return self._use(rule)
        return None

    def take_webhook(self, fingerprint: str | None) -> FaultRule | None:
        """Return the first webhook rule for a delivery of ``fingerprint``'s key, using it up."""
        for rule in self.rules:
            if rule.webhook is not None and rule.key_fingerprint in (None, fingerprint):
                return self._use(rule)
        return None

    def _use(self, rule: FaultRule) -> FaultRule:
        """Count one use of ``rule`` and drop it once exhausted."""
        rule.times -= 1
        if rule.times <= 0:
            self.rules.remove(rule)
        return rule


def _error_body(path: str, status: int, code: str, message: str) -> bytes:
    """Return an error body in the envelope of the API that owns ``path``."""
    if path.startswith(_CLIPWISE_PREFIX):
        return dumps(
            {
                "error": {"code": code, "message": message, "details": {}},
                "request_id": f"req_{uuid.uuid4().hex}",
            }
        )
    return dumps(error_payload(status, code, message))


async def _discard(message: Message) -> None:
    """An ASGI ``send`` that swallows the real handler's answer (``after_handler`` faults)."""


class FaultMiddleware:
    """Apply the first matching fault rule to each request; a no-op while there are no rules."""

    def __init__(self, app: ASGIApp, book: FaultBook) -> None:
        self.app = app
        self.book = book

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not self.book.rules or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        rule = self.book.take_request(scope["method"], path, scope_key_fingerprint(scope))
        if rule is None:
            await self.app(scope, receive, send)
            return
        scope[FAULT_SCOPE_KEY] = rule.id
        if rule.delay_seconds:
            await asyncio.sleep(rule.delay_seconds)
        if rule.reset:
            await self._drop_connection(scope, receive)
        elif rule.status is None and rule.body is None:
            await self.app(scope, receive, send)
        else:
            if rule.after_handler:
                await self.app(scope, receive, _discard)
            await self._answer(rule, path, send)

    async def _answer(self, rule: FaultRule, path: str, send: Send) -> None:
        """Send the rule's canned answer: a raw ``body``, or an error envelope for ``status``."""
        headers = [(b"content-type", b"application/json")]
        if rule.body is not None:
            status, body = rule.status or 200, rule.body.encode("utf-8")
        else:
            status = rule.status or 500
            code = rule.code or default_code(status)
            body = _error_body(path, status, code, rule.message or f"sandbox fault {rule.id}: {code}")
        if rule.retry_after is not None:
            headers.append((b"retry-after", rule.retry_after.encode("latin-1")))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _drop_connection(self, scope: Scope, receive: Receive) -> None:
        """Reset the TCP connection carrying ``scope`` without answering.

        ASGI has no verb for this, so the socket is found among uvicorn's open connections (the
        one whose current request is this scope), set to linger 0 and aborted: the client sees
        a connection reset. Then wait for the server to notice, so it does not answer a 500.
        """
        for connection in list(self.book.connections):
            cycle = getattr(connection, "cycle", None)
            if cycle is not None and getattr(cycle, "scope", None) is scope:
                transport = connection.transport
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
                while (await receive())["type"] != "http.disconnect":
                    pass
                return
        raise RuntimeError("reset faults need the server started by `python -m clipgen_provider.sandbox`")
