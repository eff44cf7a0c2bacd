"""Trigger that waits for a Clipia request by webhook, with a status poll as the safety net.

Normally the trigger sees nothing: the webhook receiver resumes the deferred task itself as soon
as the signed delivery is stored (see ``docs/webhooks.md``). The trigger covers the other cases:

* the delivery arrived before the task deferred (the receiver stored it but had nothing to
  resume): the trigger reads the mailbox first thing, then every ``check_interval`` seconds;
* the delivery never comes (lost, refused, misrouted): the status poll, every ``poll_interval``
  seconds (slow: it is only the fallback), sees the terminal state.

Whichever sees the end first wins; the operator's ``execute_complete`` confirms with one result
GET. The mailbox is read through the Task SDK (triggers have no database access in Airflow 3).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from clipgen_provider.triggers.clipia import ClipiaRequestTrigger
from clipgen_provider.webhooks import mailbox


class ClipiaWebhookTrigger(ClipiaRequestTrigger):
    """Wait for ``job_id`` through its webhook mailbox, polling its status slowly as a fallback.

    :param mailbox: where the delivery lands: ``MailboxRef.as_dict()`` of the task instance try
    :param check_interval: seconds between mailbox reads (the receiver normally resumes the task
        before the first one is due)
    :param poll_interval: seconds before the first, and between, status polls
    :param not_before: UNIX time before which no event is yielded, so the task is never resumed
        while the worker that deferred it may still be exiting (see
        :func:`~clipgen_provider.webhooks.mailbox.resume_settle_seconds`)

    Plus the options of :class:`~clipgen_provider.triggers.clipia.ClipiaRequestTrigger`. Yields the
    same event schema, with ``via`` saying who saw the end first: ``mailbox`` or ``poll``.
    """

    def __init__(
        self,
        *,
        mailbox: dict[str, Any],
        check_interval: float = 10.0,
        not_before: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.mailbox = mailbox
        self.check_interval = check_interval
        self.not_before = not_before
        self._foreign_reported = False

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The polling trigger's kwargs plus the mailbox address, check interval and not-before."""
        classpath, kwargs = super().serialize()
        kwargs.update(mailbox=self.mailbox, check_interval=self.check_interval, not_before=self.not_before)
        return classpath, kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Race the mailbox against the status poll; yield exactly one event."""
        hook = self.make_hook()
        async with hook:
            watchers = [
                asyncio.create_task(self._watch_mailbox(), name="clipia-webhook-mailbox"),
                asyncio.create_task(self._poll_after_first_interval(hook), name="clipia-webhook-poll"),
            ]
            try:
                done, _ = await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
                payload = next(task for task in watchers if task in done).result()
            finally:
                for task in watchers:
                    task.cancel()
                await asyncio.gather(*watchers, return_exceptions=True)
        if self.not_before is not None:
            await asyncio.sleep(max(self.not_before - time.time(), 0.0))
        yield TriggerEvent(payload)

    async def _watch_mailbox(self) -> dict[str, Any]:
        """Read the mailbox now, then every ``check_interval``, until it holds this request's delivery."""
        while True:
            try:
                box = await mailbox.aread(self.mailbox)
            except Exception as err:  # the SDK call failing must not end the wait: the poll remains
                self.log.warning("Could not read the webhook mailbox of %s: %s", self.job_label, err)
            else:
                if box is not None and box["state"] == mailbox.DELIVERED:
                    if box.get("request_id") == self.job_id:
                        self.log.info("%s: webhook delivery found in the mailbox.", self.job_label)
                        return mailbox.event_from_delivery(box, "mailbox")
                    self._report_foreign(box)
            await asyncio.sleep(self.check_interval)

    def _report_foreign(self, box: dict[str, Any]) -> None:
        if not self._foreign_reported:
            self._foreign_reported = True
            self.log.warning(
                "The webhook mailbox holds a delivery for request %s, not %s; ignoring it and "
                "waiting on the status poll.",
                box.get("request_id"),
                self.job_id,
            )

    async def _poll_after_first_interval(self, hook: Any) -> dict[str, Any]:
        """The status poll, starting one interval late: a timely webhook costs no status call."""
        first = self.poll_interval
        if self.deadline is not None:
            first = min(first, max(self.deadline - time.time(), 0.0))
        await asyncio.sleep(first)
        return {**await self._watch(hook), "via": "poll"}
