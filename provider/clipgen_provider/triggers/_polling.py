"""A trigger that watches one remote job by polling its status until it is terminal.

Built for triggerers holding thousands of waits: one shared HTTP pool per event loop (the hook's
``async with``), one connection lookup per loop and connection (not one per wait), no per-poll
client, jittered poll times so waits started together do not poll together, and an absolute
deadline that survives triggerer restarts. When to poll is the business of
:mod:`clipgen_provider.triggers._schedule` (by default near the job's estimated end, see
``docs/polling.md``). The trigger only reads: it never submits or pays for anything, so a
triggerer restart that re-runs :meth:`run` costs nothing.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from abc import abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from clipgen_provider.exceptions import ClipgenApiError, ClipgenConfigError
from clipgen_provider.hooks._base import ClipgenApiHook
from clipgen_provider.hooks._transport import RetryPolicy
from clipgen_provider.jobs import EventStatus, JobState, StatusTracker, trigger_event
from clipgen_provider.metrics import count_poll_error
from clipgen_provider.triggers._schedule import PollPlanner, PollScheduleName, PollSettings

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
    """Poll a job's status until it is terminal or ``deadline`` passes, on the schedule asked for.

    :param job_id: the remote job (Clipia request id, Clipwise generation id, …)
    :param conn_id: the Airflow connection to read it with
    :param poll_interval: seconds between status polls with ``poll_schedule="fixed"``; the
        ``adaptive`` schedule's pause when it has nothing to estimate from; ``backoff``'s first pause
    :param deadline: absolute UNIX time after which a ``timeout`` event is sent (None: no limit)
    :param max_consecutive_errors: transient failures in a row tolerated before an ``error`` event
    :param max_poll_interval: the longest pause between two polls: with ``adaptive`` the most a
        job's end can go unnoticed (None: 120 s, or ``poll_interval`` if longer); with ``backoff``
        the ceiling the pause doubles up to (None: it stays at ``poll_interval``)
    :param poll_schedule: ``adaptive``: poll near the job's estimated end (from its progress, its
        queue position, the recent durations of ``job_kind``), backing off while it is far;
        ``fixed``: every ``poll_interval``; ``backoff``: doubling pauses (see ``docs/polling.md``)
    :param min_poll_interval: the shortest pause of ``adaptive`` (None: 1 s, or ``poll_interval``
        if shorter)
    :param job_kind: what kind of job this is (e.g. ``Clipia request:nano-banana-2``): ``adaptive``
        learns how long such jobs take in this triggerer (None: it does not)
    :param schedule_state: what the task knew of the job when it deferred (its submit time, the
        progress it saw: :meth:`PollPlanner.snapshot`), so the schedule starts from the job's real
        age, also after a triggerer restart (None: its age is unknown, so the first poll is at once)
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
        poll_schedule: PollScheduleName = "adaptive",
        min_poll_interval: float | None = None,
        job_kind: str | None = None,
        schedule_state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.conn_id = conn_id
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.max_consecutive_errors = max_consecutive_errors
        self.max_poll_interval = max_poll_interval
        self.poll_schedule = poll_schedule
        self.min_poll_interval = min_poll_interval
        self.job_kind = job_kind
        self.schedule_state = schedule_state
        self.poll_settings = PollSettings(poll_schedule, poll_interval, min_poll_interval, max_poll_interval)
        if problem := self.poll_settings.problem():
            raise ClipgenConfigError(problem)
        #: the running wait's schedule (set by :meth:`run`)
        self._planner: PollPlanner | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Plain JSON kwargs: the trigger is rebuilt from them after a triggerer restart.

        Airflow stores them when the task defers; ``schedule_state`` is then what the task knew of
        the job (once the wait runs, what its schedule has learned since).
        """
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "conn_id": self.conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "max_consecutive_errors": self.max_consecutive_errors,
                "max_poll_interval": self.max_poll_interval,
                "poll_schedule": self.poll_schedule,
                "min_poll_interval": self.min_poll_interval,
                "job_kind": self.job_kind,
                "schedule_state": self._planner.snapshot() if self._planner else self.schedule_state,
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

    def make_planner(self) -> PollPlanner:
        """This wait's schedule, resumed from ``schedule_state`` when the task left one."""
        state = self.schedule_state or {}
        submitted_at = state.get("submitted_at")
        return PollPlanner(
            self.poll_settings,
            submitted_at=time.time() if submitted_at is None else float(submitted_at),
            kind=self.job_kind,
            state=self.schedule_state,
        )

    async def _watch(self, hook: Any) -> dict[str, Any]:
        tracker = StatusTracker()
        planner = self._planner = self.make_planner()
        errors = 0
        state: JobState | None = None
        pause = planner.first_pause(time.time()) if self.schedule_state else 0.0
        if pause:
            pause = planner.jittered(pause)
        while True:
            if pause:
                if self.deadline is not None:
                    pause = min(pause, max(self.deadline - time.time(), 0.0))
                await asyncio.sleep(pause)
            if self.deadline is not None and time.time() >= self.deadline:
                return self._event(state, "timeout", f"{self.job_label} was not finished by the deadline")
            try:
                state = await self.fetch_state(hook)
            except ClipgenApiError as err:
                errors += 1
                count_poll_error(err.api_name, err.status_code)
                if not err.is_transient or errors >= self.max_consecutive_errors:
                    return self._event(state, "error", f"could not read {self.job_label}: {err}")
                self.log.warning("Reading %s failed (%d in a row): %s", self.job_label, errors, err)
                pause = max(planner.jittered(planner.after_error(time.time())), err.retry_after or 0.0)
            else:
                errors = 0
                if line := tracker.change(state):
                    self.log.info("%s: %s", self.job_label, line)
                if state.terminal:
                    if state.succeeded:
                        planner.finished(time.time())
                    verdict: EventStatus = "success" if state.succeeded else "failed"
                    return self._event(state, verdict, f"{self.job_label} ended {state.describe()}")
                pause = planner.jittered(planner.after(state, time.time()))
