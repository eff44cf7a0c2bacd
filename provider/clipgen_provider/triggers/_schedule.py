"""When a waiting trigger polls next: a fixed interval, a doubling backoff, or an ETA-driven schedule.

Pure logic, no I/O and no clock of its own (every call is given ``now``), so it can be tested and
benchmarked in virtual time. :class:`PollPlanner` is one wait's schedule:

``fixed``
    every ``interval`` seconds, first poll at once (the provider's behaviour before adaptive polling).
``backoff``
    first poll at once, then the pause doubles from ``interval`` up to ``longest`` (sensors'
    ``exponential_backoff``; the webhook trigger's safety-net poll).
``adaptive``
    estimate the window in which the job will plausibly end and poll near its start: back off
    while it is far, tighten as it nears. The estimate comes, in this order of trust, from the
    job's own progress over time (two observations; one, counted from the last moment the job was
    seen queued, is trusted less), from how long this kind of job (a model, a format) took lately
    in this process (:class:`DurationHistory`), and from its queue position moving up (which says
    when it starts). Each source has a relative error, so an estimate is a window
    ``[earliest, latest]``; the earliest end assumes the faster of the recent rate and the whole
    run's (a stall between two reads slows the recent rate, and the job may make up for it). The
    next poll comes at ``earliest`` plus a tolerated lateness (:data:`LATENESS` of ``interval``)
    but never after ``latest``, so a job that ends inside its window is noticed at most that late,
    and one that runs longer is polled again with a better estimate; once ``earliest`` has passed,
    every :data:`NEAR_PACE` of ``interval``. A rate measured over a short time is not extrapolated
    far (:data:`EXTRAPOLATION`). Progress that stands still backs the pauses off in proportion to
    how long it has (a stall), except near the end (:data:`NEAR_END`), where a job stuck at 9x %
    can finish any moment and is polled every :data:`NEAR_PACE` of ``interval``. A history aims
    the first poll a little before the quickest recent job of the kind ended. Nothing to estimate
    from (no progress, no queue movement, no history) or an estimate that has passed:
    ``interval``, as ``fixed``.

An ``adaptive`` pause stays within ``[shortest, longest]`` after jitter, so ``longest`` is the
most a job's end can go unnoticed (a server's ``Retry-After`` and the deadline are applied by the
trigger on top). A fixed pause keeps its ±10 % jitter; an adaptive one is jittered by at most
±10 % of ``interval``, so that waits started together do not poll together and an aimed poll still
lands near its aim. The constants below were tuned on the sandbox's ``realism`` timelines
(``docs/polling.md`` gives the figures).
"""

from __future__ import annotations

import random
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from clipgen_provider.exceptions import ClipgenConfigError
from clipgen_provider.jobs import JobState

PollScheduleName = Literal["adaptive", "fixed", "backoff"]
POLL_SCHEDULES: tuple[str, ...] = get_args(PollScheduleName)

#: polls are spread by up to this fraction of the pause (of ``interval`` at most, when adaptive)
JITTER = 0.1
#: relative error of a progress-based estimate beyond the rounding of progress to whole percents:
#: jobs do not progress evenly
PACE_ERROR = 0.4
#: relative error added when the run's start is only known to lie after the last time the job was
#: seen queued (or submitted): the estimate then counts that gap as running time
START_ERROR = 0.5
#: the share of ``interval`` an adaptive poll may come after the earliest plausible end
LATENESS = 0.75
#: how much longer than its pace so far a queue may take to move the last places (it starts from 0)
QUEUE_SPREAD = 1.5
#: relative error of an estimate from the recent durations of this kind of job, at the least; a
#: history aims the first poll this much before the quickest of them ended
HISTORY_ERROR = 0.1
#: a rate of progress measured over T seconds is not extrapolated more than this many times T ahead
EXTRAPOLATION = 3.0
#: ... and a rate from one observation (start unknown) not more than this many times T ahead
SINGLE_HORIZON = 0.5
#: while progress stands still, pauses are at least this share of the time it has stood still
STALL_BACKOFF = 0.5
#: progress from which a stall is taken for finishing touches, not for a job that stopped
NEAR_END = 80
#: share of ``interval`` between reads once the earliest plausible end has passed, or while a job
#: sits still near the end: even jittered, closer together than 95 % of a fixed interval's, so the
#: jobs that end there are noticed sooner than a fixed interval's 95th percentile
NEAR_PACE = 0.85
#: ``adaptive``'s default shortest and longest pause (seconds)
DEFAULT_SHORTEST = 1.0
DEFAULT_LONGEST = 120.0
#: finished jobs of a kind needed before their durations are used
HISTORY_MIN = 3
#: finished durations kept per kind of job, and kinds of job kept, in :class:`DurationHistory`
HISTORY_SIZE = 20
HISTORY_KINDS = 512


@dataclass(frozen=True, slots=True)
class PollSettings:
    """How a wait polls.

    :param schedule: ``adaptive``, ``fixed`` or ``backoff`` (see the module docstring)
    :param interval: the fixed interval; ``adaptive`` falls back to it when it has nothing to
        estimate from, and tolerates half of it as lateness; ``backoff`` starts from it
    :param shortest: shortest pause of ``adaptive`` (None: :data:`DEFAULT_SHORTEST`, or
        ``interval`` if that is shorter)
    :param longest: longest pause of ``adaptive`` (the most a job's end can go unnoticed; None:
        :data:`DEFAULT_LONGEST`, or ``interval`` if that is longer) and of ``backoff`` (None:
        ``interval``, so it never grows)
    """

    schedule: PollScheduleName = "adaptive"
    interval: float = 5.0
    shortest: float | None = None
    longest: float | None = None

    def problem(self) -> str | None:
        """What is wrong with these settings, in words a DAG author can act on, or None."""
        if self.schedule not in POLL_SCHEDULES:
            return (
                f"poll_schedule must be one of {', '.join(map(repr, POLL_SCHEDULES))}, not {self.schedule!r}"
            )
        if not self.interval > 0:
            return f"poll_interval must be a positive number of seconds, not {self.interval!r}"
        if self.shortest is not None and not self.shortest > 0:
            return f"min_poll_interval must be a positive number of seconds, not {self.shortest!r}"
        if self.longest is not None and not self.longest >= self.floor:
            return (
                f"max_poll_interval ({self.longest!r}) must be at least min_poll_interval "
                f"({self.floor!r}): it is the longest pause between two polls"
            )
        return None

    @property
    def floor(self) -> float:
        """The shortest pause of ``adaptive``."""
        return self.shortest if self.shortest is not None else min(DEFAULT_SHORTEST, self.interval)

    @property
    def ceiling(self) -> float:
        """The longest pause this schedule makes."""
        if self.schedule == "backoff":
            return max(self.longest or 0.0, self.interval)
        if self.longest is not None:
            return self.longest
        return max(DEFAULT_LONGEST, self.interval)


@dataclass(frozen=True, slots=True)
class Typical:
    """How long recent jobs of one kind took: median seconds from submit to end, spread, shortest."""

    total: float
    #: relative spread (half the 10th-90th percentile range over the median)
    spread: float
    #: the quickest of them (seconds from submit to end)
    shortest: float


class DurationHistory:
    """The durations of the last :data:`HISTORY_SIZE` successful jobs of each kind, in this process.

    A kind is what the operator names (``clipia:<model>``, ``clipwise:<format>``): jobs of one kind
    take alike long, so a new wait can aim its first poll at the typical end. Shared by every wait
    of a triggerer (one event loop, no locks needed); bounded to :data:`HISTORY_KINDS` kinds, the
    least recently finished dropped first. Lost when the process ends: a new triggerer relearns.
    """

    def __init__(self, size: int = HISTORY_SIZE, kinds: int = HISTORY_KINDS) -> None:
        self.size = size
        self.kinds = kinds
        self._durations: OrderedDict[str, deque[float]] = OrderedDict()
        self._typical: dict[str, Typical] = {}

    def record(self, kind: str, seconds: float) -> None:
        """Remember that a job of ``kind`` took ``seconds`` from submit to end."""
        if seconds <= 0:
            return
        durations = self._durations.pop(kind, None) or deque(maxlen=self.size)
        durations.append(seconds)
        self._durations[kind] = durations
        if len(self._durations) > self.kinds:
            dropped, _ = self._durations.popitem(last=False)
            self._typical.pop(dropped, None)
        if len(durations) < HISTORY_MIN:
            return
        ordered = sorted(durations)
        median = ordered[len(ordered) // 2]
        low, high = ordered[int(0.1 * (len(ordered) - 1))], ordered[round(0.9 * (len(ordered) - 1))]
        self._typical[kind] = Typical(median, (high - low) / 2 / median, ordered[0])

    def typical(self, kind: str | None) -> Typical | None:
        """How long jobs of ``kind`` took lately, or None before :data:`HISTORY_MIN` finished here."""
        return self._typical.get(kind) if kind else None

    def clear(self) -> None:
        """Forget everything (a benchmark starting a fresh triggerer)."""
        self._durations.clear()
        self._typical.clear()


#: the history the triggers of this process share
HISTORY = DurationHistory()


@dataclass(frozen=True, slots=True)
class Estimate:
    """When the job may plausibly end: seconds from the moment asked to the earliest and the latest.

    :param horizon: how far ahead it is trusted (a rate measured over a short time is not
        extrapolated far: progress is seldom even)
    :param late_ok: whether the poll may come up to the tolerated lateness after the earliest
        plausible end (it saves a poll); not for a history estimate, whose first poll must come
        before nearly every job of the kind ends, or the durations it records (a job seen ended
        at the first poll records that poll) would only ever grow
    """

    earliest: float
    latest: float
    horizon: float = float("inf")
    late_ok: bool = True


class PollPlanner:
    """One wait's poll schedule: feed it each observation, ask it for the next pause.

    :param settings: the schedule and its bounds
    :param submitted_at: UNIX time the job was submitted (or first seen); the schedule's origin
    :param kind: what kind of job this is, for :class:`DurationHistory` (None: no history)
    :param history: the history to read and feed (default: the process's)
    :param state: what an earlier planner of this wait knew (:meth:`snapshot`), or None
    """

    __slots__ = (
        "_anchor",
        "_idle_until",
        "_last",
        "_pause",
        "_polled_at",
        "_queue_first",
        "_queue_last",
        "_still_since",
        "history",
        "kind",
        "settings",
        "submitted_at",
    )

    def __init__(
        self,
        settings: PollSettings,
        *,
        submitted_at: float,
        kind: str | None = None,
        history: DurationHistory = HISTORY,
        state: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.submitted_at = submitted_at
        self.kind = kind
        self.history = history
        #: latest moment the job is known not to have been running yet
        self._idle_until = submitted_at
        #: (time, position) of the first and the latest queued observation
        self._queue_first: tuple[float, int] | None = None
        self._queue_last: tuple[float, int] | None = None
        #: (time, progress) of the first and the latest running observation with a progress
        self._anchor: tuple[float, int] | None = None
        self._last: tuple[float, int] | None = None
        #: since when the progress has not changed
        self._still_since = submitted_at
        #: the last pause planned (``backoff`` doubles it)
        self._pause = 0.0
        #: when the job was last observed not finished
        self._polled_at: float | None = None
        if state:
            self._restore(state)

    # -- what the trigger calls ------------------------------------------------------------
    def first_pause(self, now: float) -> float:
        """Seconds to wait before the first poll (0: poll at once)."""
        if self.settings.schedule != "adaptive":
            return 0.0
        origin = self._polled_at if self._polled_at is not None else self.submitted_at
        return max(self._adaptive_pause(origin) - (now - origin), 0.0)

    def after(self, state: JobState, now: float) -> float:
        """Record a running job's state read at ``now``; return the pause before the next poll."""
        self.observe(state, now)
        return self.next_pause(now)

    def after_error(self, now: float) -> float:
        """The pause after a failed read: the estimate unchanged, a backoff not grown."""
        return self.next_pause(now, grow=False)

    def finished(self, now: float) -> None:
        """The job was seen completed at ``now``: feed its duration to the history.

        Its end lies between the previous poll and this one; the middle is recorded. A job seen
        completed at the first poll records that poll's time: an upper bound, and a history first
        poll comes before most jobs of the kind end (see :class:`Estimate`'s ``late_ok``).
        """
        if self.kind is None:
            return
        ended = now if self._polled_at is None else (self._polled_at + now) / 2
        self.history.record(self.kind, ended - self.submitted_at)

    # -- the estimate ----------------------------------------------------------------------
    def observe(self, state: JobState, now: float) -> None:
        """Take in one observation of a job still running or queued."""
        self._polled_at = now
        if state.queue_position is not None:
            self._idle_until = now
            self._queue_last = (now, state.queue_position)
            if self._queue_first is None:
                self._queue_first = self._queue_last
            return
        progress = state.progress
        if progress is None:
            return
        last = self._last
        if last is None or progress != last[1]:
            if last is not None and last[0] > self._still_since:
                # progress moves again after a stall: measure the rate from the stall's end on
                self._anchor = last
            self._still_since = now
        self._last = (now, progress)
        if self._anchor is None:
            self._anchor = self._last

    def estimate(self, now: float) -> Estimate | None:
        """When the job should end, from the best-informed source, or None if nothing hints at it.

        The job's own progress wins over the history of its kind (it knows this job); the history
        over the queue (which tells when the job starts, not when it ends).
        """
        return self._from_progress(now) or self._from_history(now) or self._from_queue(now)

    def _from_progress(self, now: float) -> Estimate | None:
        if self._last is None or self._anchor is None:
            return None
        seen_at, progress = self._last
        if progress <= 0:
            return None
        anchor_at, anchor_progress = self._anchor
        # the pace over the whole run, counted from the last moment the job was seen idle
        whole_run = seen_at - self._idle_until
        if progress > anchor_progress:
            moved, took = progress - anchor_progress, seen_at - anchor_at
            error, horizon = PACE_ERROR, EXTRAPOLATION * took
        else:
            # one observation: the rate assumes the run started when the job was last seen idle
            moved, took = progress, whole_run
            error, horizon = PACE_ERROR + START_ERROR, SINGLE_HORIZON * took
        if took <= 0:
            return None
        per_point, spread, since = took / moved, 1 + error + 1 / moved, now - seen_at
        # a stall between two reads slows the rate they measure, and the job may make up for it:
        # the earliest end assumes the faster of that rate and the whole run's (which errs slow)
        fastest = min(per_point, whole_run / progress) if whole_run > 0 else per_point
        # progress is a whole percent rounded down: between 99 - p and 100 - p points are left
        earliest = (99 - progress) * fastest / spread - since
        return Estimate(earliest, (100 - progress) * per_point * spread - since, horizon)

    def _from_history(self, now: float) -> Estimate | None:
        typical = self.history.typical(self.kind)
        if typical is None:
            return None
        spread = 1 + max(typical.spread, HISTORY_ERROR)
        age = now - self.submitted_at
        # the first poll comes before nearly every job of the kind ends: the durations it records
        # can then shrink as well as grow
        earliest = typical.shortest / (1 + HISTORY_ERROR) - age
        return Estimate(earliest, typical.total * spread - age, late_ok=False)

    def _from_queue(self, now: float) -> Estimate | None:
        """When the job leaves the queue, from how fast it moved up so far (the start, not the end:
        polling just after the start anchors the progress estimate)."""
        if self._queue_first is None or self._queue_last is None or self._last is not None:
            return None
        (first_at, first_position), (last_at, position) = self._queue_first, self._queue_last
        if position >= first_position:
            return None
        per_place, since = (last_at - first_at) / (first_position - position), now - last_at
        return Estimate(position * per_place - since, (position + 1) * per_place * QUEUE_SPREAD - since)

    # -- the pause -------------------------------------------------------------------------
    def next_pause(self, now: float, grow: bool = True) -> float:
        """Seconds until the next poll, before jitter; ``grow``: a backoff doubles its pause."""
        settings = self.settings
        if settings.schedule == "fixed":
            return settings.interval
        if settings.schedule == "backoff":
            if grow or not self._pause:
                pause = self._pause * 2 if self._pause else settings.interval
                self._pause = min(pause, settings.ceiling)
            return self._pause
        return self._adaptive_pause(now)

    def _adaptive_pause(self, now: float) -> float:
        settings = self.settings
        estimate = self.estimate(now)
        stalled = self._last is not None and self._last[0] > self._still_since
        if estimate is None:
            pause = settings.interval
            if stalled:  # running with no progress yet: a slow start
                pause = max(pause, STALL_BACKOFF * (now - self._still_since))
        elif estimate.latest <= 0:
            # overdue (only a history or a queue estimate can be): it failed, so as with none
            pause = settings.interval
        else:
            if not estimate.late_ok:
                aim = max(estimate.earliest, 0.0)
            elif estimate.earliest > 0:
                aim = estimate.earliest + settings.interval * LATENESS
            else:
                aim = settings.interval * NEAR_PACE
            pause = min(estimate.latest, aim, estimate.horizon)
            if stalled:
                backoff = STALL_BACKOFF * (now - self._still_since)
                if self._last is not None and self._last[1] >= NEAR_END:
                    # finishing touches: the end can come any moment and progress no longer says
                    # when, so read at the near-end pace
                    pause = settings.interval * NEAR_PACE
                else:
                    pause = max(pause, backoff)
        return min(max(pause, settings.floor), settings.ceiling)

    def jittered(self, pause: float, rng: random.Random | None = None) -> float:
        """``pause`` spread by the jitter, kept within the schedule's bounds."""
        draw = (rng or random).uniform(-JITTER, JITTER)
        settings = self.settings
        if settings.schedule != "adaptive":
            return pause * (1 + draw)
        spread = draw * min(pause, settings.interval)
        return min(max(pause + spread, settings.floor), settings.ceiling)

    # -- surviving a triggerer restart -------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """What the estimate knows, as plain JSON: a planner given it as ``state`` goes on from there."""
        return {
            "submitted_at": self.submitted_at,
            "idle_until": self._idle_until,
            "queue_first": list(self._queue_first) if self._queue_first else None,
            "queue_last": list(self._queue_last) if self._queue_last else None,
            "anchor": list(self._anchor) if self._anchor else None,
            "last": list(self._last) if self._last else None,
            "still_since": self._still_since,
            "polled_at": self._polled_at,
        }

    def _restore(self, state: dict[str, Any]) -> None:
        def pair(value: Any) -> tuple[float, int] | None:
            return (float(value[0]), int(value[1])) if value else None

        def moment(name: str) -> float:
            value = state.get(name)
            return self.submitted_at if value is None else float(value)

        self._idle_until, self._still_since = moment("idle_until"), moment("still_since")
        self._queue_first, self._queue_last = pair(state.get("queue_first")), pair(state.get("queue_last"))
        self._anchor, self._last = pair(state.get("anchor")), pair(state.get("last"))
        polled_at = state.get("polled_at")
        self._polled_at = None if polled_at is None else float(polled_at)


def handover(*, seen_at: float, state: JobState | None = None) -> dict[str, Any]:
    """The ``schedule_state`` a task hands its trigger when it defers (plain JSON).

    :param seen_at: when the task submitted the job or, re-attaching, read it (UNIX time): the
        schedule counts the job's age from then
    :param state: what the read said (None: the task has just submitted the job)
    """
    planner = PollPlanner(PollSettings(), submitted_at=seen_at)
    if state is not None and not state.terminal:
        planner.observe(state, seen_at)
    return planner.snapshot()


def check_poll_settings(
    schedule: str, interval: float, shortest: float | None, longest: float | None
) -> None:
    """Refuse poll knobs that make no sense, naming the parameter, before anything is submitted."""
    if schedule not in ("adaptive", "fixed"):
        raise ClipgenConfigError(f"poll_schedule must be 'adaptive' or 'fixed', not {schedule!r}")
    if problem := PollSettings(cast(PollScheduleName, schedule), interval, shortest, longest).problem():
        raise ClipgenConfigError(problem)
