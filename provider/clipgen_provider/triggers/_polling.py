"""A trigger that watches one remote job by polling its status until it is terminal.

Built for triggerers holding thousands of waits: one shared HTTP pool per event loop (the hook's
``async with``), one connection lookup per loop and connection (not one per wait), no per-poll
client, jittered poll times so waits started together do not poll together, and an absolute
deadline that survives triggerer restarts. The trigger only reads: it
never submits or pays for anything, so a triggerer restart that re-runs :meth:`run` costs nothing.
"""

from __future__ import annotations

import asyncio
import random
import time
import weakref
from abc import abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from clipgen_provider.exceptions import ClipgenApiError
from clipgen_provider.hooks._base import ClipgenApiHook
from clipgen_provider.hooks._transport import RetryPolicy
from clipgen_provider.jobs import EventStatus, JobState, StatusTracker, trigger_event

#: polls are spread by up to this fraction of the interval
_JITTER = 0.1
#: one attempt per poll: the trigger's own tolerance of consecutive failures does the retrying
TRIGGER_RETRY = RetryPolicy(max_attempts=1)
#: seconds the waits of one event loop share a connection that one of them looked up
CONNECTION_TTL_SECONDS = 30.0

if TYPE_CHECKING:
    from airflow.sdk import Connection


@dataclass(eq=False)
class _CachedConnection:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    connection: Connection | None = None
    expires: float = 0.0


class LoopConnections:
    """Connections looked up by the waits of one event loop, shared for a short while per ``conn_id``.

    A triggerer starting 5,000 waits on one connection would otherwise make 5,000 lookups, each a
    round trip to its supervisor and on to a secrets backend or the database; here the first wait
    looks it up and the others wait for that answer. Only successful lookups are kept, for
    :data:`CONNECTION_TTL_SECONDS`, so a rotated key reaches new waits within that time (a wait keeps
    its connection for its whole life, as before). The key stays in the process memory that holds it
    anyway, never on disk, and one triggerer serves one team, so a ``conn_id`` names one connection.
    """

    def __init__(self, ttl: float = CONNECTION_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _CachedConnection]]
        self._loops = weakref.WeakKeyDictionary()

    async def get(self, conn_id: str, lookup: Callable[[str], Awaitable[Connection]]) -> Connection:
        """The connection ``conn_id``: from this loop's cache, or from ``lookup`` once for all waiters."""
        entries = self._loops.setdefault(asyncio.get_running_loop(), {})
        entry = entries.get(conn_id)
        if entry is None:
            entry = entries[conn_id] = _CachedConnection()
        async with entry.lock:
            if entry.connection is None or time.monotonic() >= entry.expires:
                entry.connection = await lookup(conn_id)
                entry.expires = time.monotonic() + self.ttl
            return entry.connection


loop_connections = LoopConnections()


class JobPollingTrigger(BaseTrigger):
    """Poll a job's status every ``poll_interval`` seconds until it is terminal or ``deadline`` passes.

    :param job_id: the remote job (Clipia request id, Clipwise generation id, …)
    :param conn_id: the Airflow connection to read it with
    :param poll_interval: seconds between status polls
    :param deadline: absolute UNIX time after which a ``timeout`` event is sent (None: no limit)
    :param max_consecutive_errors: transient failures in a row tolerated before an ``error`` event
    :param max_poll_interval: when set, the pause doubles after every poll that found the job
        still running, up to this many seconds (a safety-net poll for a long job costs a few
        calls, not one per ``poll_interval``); None: a steady ``poll_interval``
    """

    def __init__(
        self,
        *,
        job_id: str,
        conn_id: str,
        poll_interval: float = 5.0,
        deadline: float | None = None,
        max_consecutive_errors: int = 5,
        max_poll_interval: float | None = None,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.conn_id = conn_id
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.max_consecutive_errors = max_consecutive_errors
        self.max_poll_interval = max_poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Plain JSON kwargs: the trigger is rebuilt from them after a triggerer restart."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "conn_id": self.conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "max_consecutive_errors": self.max_consecutive_errors,
                "max_poll_interval": self.max_poll_interval,
            },
        )

    @abstractmethod
    def make_hook(self) -> ClipgenApiHook:
        """The hook to poll with (built with :data:`TRIGGER_RETRY`)."""

    @abstractmethod
    async def fetch_state(self, hook: Any) -> JobState:
        """Read the job's current state once."""

    @property
    def job_label(self) -> str:
        """How log lines name the job, e.g. ``Clipia request abc``."""
        return f"job {self.job_id}"

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until terminal, timed out, or the API keeps failing; yield exactly one event."""
        hook = await self.open_hook()
        async with hook:
            payload = await self._watch(hook)
        yield TriggerEvent(payload)

    async def open_hook(self) -> ClipgenApiHook:
        """:meth:`make_hook`, given the connection this loop's waits share (:class:`LoopConnections`)."""
        hook = self.make_hook()
        connection = await loop_connections.get(hook.conn_id, hook.aget_connection)
        hook._transport = hook._transport_for(connection)
        return hook

    def _event(self, state: JobState | None, status: EventStatus, message: str) -> dict[str, Any]:
        return trigger_event(state, status, self.job_id, message)

    async def _watch(self, hook: Any) -> dict[str, Any]:
        tracker = StatusTracker()
        errors = 0
        state: JobState | None = None
        interval = self.poll_interval
        while True:
            if self.deadline is not None and time.time() >= self.deadline:
                return self._event(state, "timeout", f"{self.job_label} was not finished by the deadline")
            pause = interval * (1 + random.uniform(-_JITTER, _JITTER))
            try:
                state = await self.fetch_state(hook)
            except ClipgenApiError as err:
                errors += 1
                if not err.is_transient or errors >= self.max_consecutive_errors:
                    return self._event(state, "error", f"could not read {self.job_label}: {err}")
                self.log.warning("Reading %s failed (%d in a row): %s", self.job_label, errors, err)
                pause = max(pause, err.retry_after or 0.0)
            else:
                errors = 0
                if line := tracker.change(state):
                    self.log.info("%s: %s", self.job_label, line)
                if state.terminal:
                    verdict: EventStatus = "success" if state.succeeded else "failed"
                    return self._event(state, verdict, f"{self.job_label} ended {state.describe()}")
                if self.max_poll_interval is not None:
                    interval = min(interval * 2, max(self.max_poll_interval, self.poll_interval))
            if self.deadline is not None:
                pause = min(pause, max(self.deadline - time.time(), 0.0))
            await asyncio.sleep(pause)
