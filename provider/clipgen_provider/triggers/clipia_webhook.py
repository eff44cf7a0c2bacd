"""Trigger that waits for a Clipia request by webhook, with a status poll as the safety net.

Normally the trigger sees nothing: the webhook receiver resumes the deferred task itself as soon
as the signed delivery is stored (see ``docs/webhooks.md``). The trigger covers the other cases:

* the delivery arrived before the task deferred (the receiver stored it but had nothing to
  resume): the trigger reads the mailbox first thing, then every ``check_interval`` seconds;
* the delivery never comes (lost, refused, misrouted): the status poll, every ``poll_interval``
  seconds (slow: it is only the fallback), sees the terminal state.

Whichever sees the end first wins; the operator's ``execute_complete`` confirms with one result
GET. The mailbox is read through the Task SDK (triggers have no database access in Airflow 3).

Without a mailbox (a try that re-attached to, or resubmitted, a request whose webhook goes to an
earlier try) it is a status poll from the start. Either way no event is yielded before
``not_before``: resuming a task while the worker that deferred it may still be exiting makes
Airflow 3.3.2's scheduler fail it (:func:`~clipgen_provider.webhooks.mailbox.resume_settle_seconds`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from clipgen_provider.triggers.clipia import ClipiaRequestTrigger
from clipgen_provider.webhooks import mailbox as mailboxes


class ClipiaWebhookTrigger(ClipiaRequestTrigger):
    """Wait for ``job_id`` through its webhook mailbox, polling its status as a fallback.

    :param mailbox: where the delivery lands (``MailboxRef.as_dict()`` of the task instance try),
        or None when no webhook will come to this try
    :param check_interval: seconds between mailbox reads (the receiver normally resumes the task
        before the first one is due)
    :param poll_interval: seconds between status polls; with a mailbox also before the first one
    :param not_before: UNIX time before which no event is yielded (see the module docstring)

    Plus the options of :class:`~clipgen_provider.triggers.clipia.ClipiaRequestTrigger`. Yields the
    same event schema, with ``via`` saying who saw the end first: ``mailbox`` or ``poll``.
    """

    def __init__(
        self,
        *,
        mailbox: dict[str, Any] | None,
        check_interval: float = 30.0,
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
        """Race the mailbox against the status poll; yield exactly one event, not before ``not_before``."""
        hook = self.make_hook()
        async with hook:
            if self.mailbox is None:
                payload = {**await self._watch(hook), "via": "poll"}
            else:
                payload = await self._first_of(self._watch_mailbox(self.mailbox), self._poll_later(hook))
        if self.not_before is not None:
            await asyncio.sleep(max(self.not_before - time.time(), 0.0))
        yield TriggerEvent(payload)

    @staticmethod
    async def _first_of(*waits: Any) -> dict[str, Any]:
        """The result of whichever wait ends first; the others are cancelled (also on cancellation)."""
        tasks = [asyncio.ensure_future(wait) for wait in waits]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return dict(next(task for task in tasks if task in done).result())
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch_mailbox(self, ref: dict[str, Any]) -> dict[str, Any]:
        """Read the mailbox now, then every ``check_interval``, until it holds this request's delivery."""
        while True:
            try:
                box = await mailboxes.aread(ref)
            except Exception as err:  # the SDK call failing must not end the wait: the poll remains
                self.log.warning("Could not read the webhook mailbox of %s: %s", self.job_label, err)
            else:
                if box is not None and box["state"] == mailboxes.DELIVERED:
                    if box.get("request_id") == self.job_id:
                        self.log.info("%s: webhook delivery found in the mailbox.", self.job_label)
                        return mailboxes.event_from_delivery(box, "mailbox")
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

    async def _poll_later(self, hook: Any) -> dict[str, Any]:
        """The status poll, starting one interval late: a timely webhook costs no status call."""
        first = self.poll_interval
        if self.deadline is not None:
            first = min(first, max(self.deadline - time.time(), 0.0))
        await asyncio.sleep(first)
        return {**await self._watch(hook), "via": "poll"}
