"""Delivery of signed Clipia webhooks: on time, retried, optionally sabotaged, always logged.

Each delivery is an asyncio task that sleeps until its job turns terminal, then POSTs the outcome
with ``X-Clipia-Signature`` (HMAC-SHA256 with the first of ``settings.webhook_secrets``) through
one shared ``httpx.AsyncClient``, retrying every ``webhook_retry_seconds`` while the receiver
answers non-2xx or cannot be reached, up to ``webhook_max_attempts``. Webhook fault rules may
drop, duplicate, delay or forge the next deliveries. Every attempt lands in :attr:`attempts`.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from clipgen_provider.sandbox.clipia_http import dumps, iso_utc
from clipgen_provider.sandbox.faults import FaultBook
from clipgen_provider.sandbox.settings import SandboxSettings
from clipgen_provider.webhooks.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

_LOG_LIMIT = 10_000
_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Delivery:
    """A webhook to send once its job is terminal."""

    request_id: str
    url: str
    #: unix time at which the job turns terminal
    due: float
    #: fingerprint of the job's API key, for key-scoped webhook fault rules
    key_fingerprint: str
    #: builds the body once due, from the job's terminal state
    payload: Callable[[], dict[str, Any]]


class WebhookSender:
    """Schedules deliveries as background tasks and records every attempt."""

    def __init__(self, settings: SandboxSettings, faults: FaultBook) -> None:
        self.settings = settings
        self.faults = faults
        #: newest last; bounded so a long benchmark cannot exhaust memory
        self.attempts: deque[dict[str, Any]] = deque(maxlen=_LOG_LIMIT)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None

    def schedule(self, delivery: Delivery) -> None:
        """Send ``delivery`` when due, replacing a pending delivery of the same request."""
        previous = self._tasks.pop(delivery.request_id, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.get_running_loop().create_task(self._run(delivery))
        self._tasks[delivery.request_id] = task
        task.add_done_callback(functools.partial(self._forget, delivery.request_id))

    def _forget(self, request_id: str, task: asyncio.Task[None]) -> None:
        """Drop a finished task from the pending set (unless it was already replaced)."""
        if self._tasks.get(request_id) is task:
            del self._tasks[request_id]

    def reset(self) -> None:
        """Cancel pending deliveries and forget the attempt log."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
        self.attempts.clear()

    async def aclose(self) -> None:
        """Cancel pending deliveries and close the HTTP client (at server shutdown)."""
        tasks = list(self._tasks.values())
        self.reset()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def client(self) -> httpx.AsyncClient:
        """The one HTTP client all deliveries share (created on first use)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=_TIMEOUT_SECONDS,
                headers={"User-Agent": "clipgen-sandbox", "Content-Type": "application/json"},
            )
        return self._client

    async def _run(self, delivery: Delivery) -> None:
        """Wait until due, apply a webhook fault if one matches, then deliver."""
        while (remaining := delivery.due - time.time()) > 0:  # the loop clock may wake a hair early
            await asyncio.sleep(remaining)
        body = dumps(delivery.payload())
        fault = self.faults.take_webhook(delivery.key_fingerprint)
        effect = fault.webhook if fault is not None else None
        if effect == "drop":
            self._record(delivery, 1, effect, None, None, "dropped by a fault rule; nothing was sent")
            return
        if fault is not None and effect == "delay":
            await asyncio.sleep(fault.delay_seconds or 0.0)
        for _ in range(2 if effect == "duplicate" else 1):
            await self._deliver(delivery, body, effect)

    async def _deliver(self, delivery: Delivery, body: bytes, effect: str | None) -> None:
        """POST ``body`` until the receiver answers 2xx or the attempts run out."""
        for attempt in range(1, self.settings.webhook_max_attempts + 1):
            if attempt > 1:
                await asyncio.sleep(self.settings.webhook_retry_seconds)
            secret = self.settings.webhook_secrets[0]
            timestamp = int(time.time())
            signature = sign(body, "forged-" + secret if effect == "forge" else secret, timestamp)
            headers = {SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: str(timestamp)}
            try:
                response = await self.client.post(delivery.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                self._record(delivery, attempt, effect, signature, None, f"{type(exc).__name__}: {exc}")
                continue
            self._record(delivery, attempt, effect, signature, response.status_code, None)
            if response.is_success:
                return

    def _record(
        self,
        delivery: Delivery,
        attempt: int,
        effect: str | None,
        signature: str | None,
        status_code: int | None,
        error: str | None,
    ) -> None:
        """Append one attempt to the log."""
        self.attempts.append(
            {
                "request_id": delivery.request_id,
                "url": delivery.url,
                "attempt": attempt,
                "status_code": status_code,
                "error": error,
                "sent_at": iso_utc(time.time()),
                "signature": signature,
                "fault": effect,
            }
        )
