"""Trigger that waits until a Clipia account holds at least a given number of credits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from clipgen_provider.exceptions import ClipgenApiError


class ClipiaBalanceTrigger(BaseTrigger):
    """Poll ``GET /v1/account`` until the balance reaches ``min_credits`` or ``deadline`` passes.

    Yields ``{"status": "success" | "timeout" | "error", "balance", "message"}``.

    :param conn_id: the ``clipia`` connection
    :param min_credits: the balance to wait for
    :param poll_interval: seconds between balance reads
    :param deadline: absolute UNIX time after which a ``timeout`` event is sent (None: no limit)
    :param max_consecutive_errors: transient failures in a row tolerated before an ``error`` event
    """

    def __init__(
        self,
        *,
        conn_id: str,
        min_credits: float,
        poll_interval: float = 60.0,
        deadline: float | None = None,
        max_consecutive_errors: int = 5,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.min_credits = min_credits
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.max_consecutive_errors = max_consecutive_errors

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Plain JSON kwargs."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "min_credits": self.min_credits,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "max_consecutive_errors": self.max_consecutive_errors,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the balance; yield one event."""
        from clipgen_provider.hooks.clipia import ClipiaHook
        from clipgen_provider.triggers._polling import TRIGGER_RETRY

        hook = ClipiaHook(self.conn_id, retry=TRIGGER_RETRY)
        async with hook:
            payload = await self._watch(hook)
        yield TriggerEvent(payload)

    async def _watch(self, hook: Any) -> dict[str, Any]:
        errors = 0
        balance: float | None = None
        while self.deadline is None or time.time() < self.deadline:
            try:
                balance = float((await hook.aget_account())["balance"]["credits"])
                errors = 0
            except ClipgenApiError as err:
                errors += 1
                if not err.is_transient or errors >= self.max_consecutive_errors:
                    return {"status": "error", "balance": balance, "message": str(err)}
            else:
                if balance >= self.min_credits:
                    return {"status": "success", "balance": balance, "message": "enough credits"}
                self.log.info("Clipia balance %s < %s credits; waiting.", balance, self.min_credits)
            await asyncio.sleep(self.poll_interval)
        message = f"the Clipia balance stayed below {self.min_credits} credits (last seen {balance})"
        return {"status": "timeout", "balance": balance, "message": message}
