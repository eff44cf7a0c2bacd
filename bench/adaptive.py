"""Adaptive polling against the fixed interval, on the sandbox's realistic timelines, in virtual time.

A 10-minute job cannot be waited for hundreds of times in a benchmark of reasonable length, so the
waits run in virtual time (:mod:`bench.virtual_time`): nothing is simulated but the waiting. Each
profile is a stream of jobs submitted one every ``spacing`` seconds to the sandbox's own Clipia
job store (:class:`~clipgen_provider.sandbox.clipia_jobs.ClipiaStore`, the code that answers the
sandbox's HTTP routes, with ``realism`` on: seeded uneven timelines, see ``sandbox/pace.py``). One
second after each submit (a deferral's hand-over) a real
:class:`~clipgen_provider.triggers.clipia.ClipiaRequestTrigger` starts waiting for it, with the
kwargs ``ClipiaGenerateOperator`` gives it; only its HTTP call is replaced by a direct read of the
store's status answer, mapped by the hook's own ``clipia_job_state``. All of a stream's triggers
share one event loop and the process's duration history, as in a triggerer. The same seed gives
both schedules the same jobs, and seeds the triggers' jitter, so a run's figures repeat exactly.

Per job: API calls = 1 submit + the trigger's status reads + 1 result read (what
``api_calls_per_job_poll`` counts), and the notice delay = the moment the trigger yields its event
minus the job's end in the store.
"""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bench import virtual_time
from bench.kinds import CLIPIA_JOB_KIND, CLIPIA_MODEL
from bench.lag import percentile
from clipgen_provider.hooks.clipia import clipia_job_state
from clipgen_provider.jobs import JobState
from clipgen_provider.sandbox.clipia_jobs import ClipiaStore
from clipgen_provider.sandbox.faults import FaultBook
from clipgen_provider.sandbox.settings import SandboxSettings
from clipgen_provider.sandbox.webhook_sender import WebhookSender
from clipgen_provider.triggers import _schedule
from clipgen_provider.triggers._schedule import PollScheduleName
from clipgen_provider.triggers.clipia import ClipiaRequestTrigger

#: seconds between an operator's submit and its trigger's start (the deferral's hand-over)
HANDOVER_SECONDS = 1.0
#: the fixed interval compared, and the adaptive schedule's fallback: the operators' default
POLL_INTERVAL = 5.0
#: jobs of at most this many seconds are the "short jobs" of the report
SHORT_JOB_SECONDS = 10.0
_API_KEY = "clipia_test_bench_virtual"
_QUIET = logging.getLogger("bench.adaptive.waits")
_QUIET.setLevel(logging.WARNING)


@dataclass(frozen=True)
class Profile:
    """A stream of jobs: sandbox timing (the realism's averages), how many, one every ``spacing`` s."""

    name: str
    queue_seconds: float
    run_seconds: float
    jobs: int
    spacing: float


@dataclass
class _Wait:
    job_id: str
    polls: int = 0
    noticed_at: float | None = None
    cold: bool = True


class QuietClipiaTrigger(ClipiaRequestTrigger):
    """The Clipia trigger with a quiet log: hundreds of waits' progress lines would drown the
    benchmark's own (the per-poll cost of logging is measured by the trigger load runs, not here)."""

    @property
    def log(self) -> Any:
        return _QUIET


class _StoreTrigger(QuietClipiaTrigger):
    """The Clipia trigger, reading the sandbox store in-process instead of over HTTP."""

    def __init__(self, *, store: ClipiaStore, wait: _Wait, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store, self.wait = store, wait

    async def open_hook(self) -> Any:
        @asynccontextmanager
        async def no_client() -> AsyncIterator[None]:
            yield None

        return no_client()

    async def fetch_state(self, hook: Any) -> JobState:
        self.wait.polls += 1
        return clipia_job_state(self.store.status(_API_KEY, self.job_id))


def _store(profile: Profile, seed: int, realism: bool) -> ClipiaStore:
    settings = SandboxSettings(
        queue_seconds=profile.queue_seconds,
        run_seconds=profile.run_seconds,
        initial_credits=1e15,
        realism=realism,
        realism_seed=seed,
    )
    return ClipiaStore(settings, WebhookSender(settings, FaultBook()))


async def _stream(
    profile: Profile, schedule: PollScheduleName, store: ClipiaStore, max_poll_interval: float | None
) -> list[_Wait]:
    """Submit the profile's jobs and wait for each with its own trigger, all in this loop."""
    loop = asyncio.get_running_loop()
    waits: list[_Wait] = []

    async def one(index: int) -> None:
        await asyncio.sleep(index * profile.spacing)
        submitted = store.submit(
            _API_KEY, CLIPIA_MODEL, {"input": {"prompt": f"job {index}"}}, None, "http://sandbox/"
        )
        seen_at = loop.time()
        wait = _Wait(str(submitted["request_id"]))
        waits.append(wait)
        await asyncio.sleep(HANDOVER_SECONDS)
        wait.cold = _schedule.HISTORY.typical(CLIPIA_JOB_KIND) is None
        trigger = _StoreTrigger(
            store=store,
            wait=wait,
            job_id=wait.job_id,
            conn_id="bench_virtual",
            poll_interval=POLL_INTERVAL,
            poll_schedule=schedule,
            max_poll_interval=max_poll_interval,
            job_kind=CLIPIA_JOB_KIND,
            schedule_state=_schedule.handover(seen_at=seen_at),
        )
        async for event in trigger.run():
            assert event.payload["status"] == "success", event.payload
        wait.noticed_at = loop.time()

    await asyncio.gather(*(one(index) for index in range(profile.jobs)))
    return waits


def _figures(waits: list[_Wait], store: ClipiaStore) -> dict[str, Any]:
    jobs = store.accounts[_API_KEY].jobs
    rows = []
    for wait in waits:
        job = jobs[wait.job_id]
        assert wait.noticed_at is not None
        length = job.end - job.created
        rows.append(
            (
                wait.polls + 2,
                wait.noticed_at - job.end,
                length,
                job.pace.kind if job.pace else "even",
                wait.cold,
            )
        )
    delays = [row[1] for row in rows]
    calls = [row[0] for row in rows]
    kinds: dict[str, dict[str, float]] = {}
    for kind in sorted({row[3] for row in rows}):
        of_kind = [row for row in rows if row[3] == kind]
        kinds[kind] = {
            "jobs": len(of_kind),
            "calls_mean": round(statistics.mean(row[0] for row in of_kind), 2),
            "notice_delay_p95_s": round(percentile([row[1] for row in of_kind], 0.95), 2),
        }
    cold = [row[0] for row in rows if row[4]]
    return {
        "jobs": len(rows),
        "job_seconds_mean": round(statistics.mean(row[2] for row in rows), 1),
        "calls_mean": round(statistics.mean(calls), 2),
        "calls_p95": percentile(calls, 0.95),
        "calls_mean_cold": round(statistics.mean(cold), 2) if cold else None,
        "cold_jobs": len(cold),
        "notice_delay_s": {
            "p50": round(percentile(delays, 0.50), 2),
            "p95": round(percentile(delays, 0.95), 2),
            "p99": round(percentile(delays, 0.99), 2),
            "max": round(max(delays), 2),
        },
        "by_kind": kinds,
        "short_delays": [row[1] for row in rows if row[2] <= SHORT_JOB_SECONDS],
        "delays": delays,
    }


def simulate(
    profile: Profile,
    schedule: PollScheduleName,
    seed: int,
    max_poll_interval: float | None = None,
    realism: bool = True,
) -> dict[str, Any]:
    """One stream of ``profile`` under ``schedule`` (``adaptive`` or ``fixed``), in virtual time;
    ``realism=False``: every job exactly ``queue_seconds`` + ``run_seconds``, progress even."""
    _schedule.HISTORY.clear()  # each stream starts in a fresh triggerer
    random.seed(seed)  # the triggers' jitter: the same figures on every run
    store = _store(profile, seed, realism)
    waits = virtual_time.run(_stream(profile, schedule, store, max_poll_interval))
    return _figures(waits, store)


def even_renders(renders: tuple[Profile, ...], seed: int) -> dict[str, dict[str, Any]]:
    """The render streams on the sandbox's default, even timelines: the schedule's best case."""
    even: dict[str, dict[str, Any]] = {}
    for profile in renders:
        even[profile.name] = {}
        for schedule in ("adaptive", "fixed"):
            figures = simulate(profile, schedule, seed, realism=False)
            even[profile.name][schedule] = {
                "calls_mean": figures["calls_mean"],
                "notice_delay_s": figures["notice_delay_s"],
            }
    return even


def sweep_longest(
    renders: tuple[Profile, ...], seed: int, longest: tuple[float, ...]
) -> list[dict[str, Any]]:
    """The adaptive renders again with other ``max_poll_interval`` values: calls against lateness."""
    rows = []
    for ceiling in longest:
        row: dict[str, Any] = {"max_poll_interval": ceiling}
        delays: list[float] = []
        for profile in renders:
            figures = simulate(profile, "adaptive", seed, ceiling)
            row[profile.name] = figures["calls_mean"]
            delays += figures["delays"]
        row["notice_delay_p95_s"] = round(percentile(delays, 0.95), 2)
        rows.append(row)
    return rows


def compare(renders: tuple[Profile, ...], short: Profile, seed: int) -> dict[str, Any]:
    """Both schedules on every stream: per stream, and the notice delays pooled over the renders
    and over the short stream's jobs of :data:`SHORT_JOB_SECONDS` or less."""
    runs: dict[str, dict[str, Any]] = {}
    pooled: dict[str, list[float]] = {"adaptive": [], "fixed": []}
    shorts: dict[str, list[float]] = {"adaptive": [], "fixed": []}
    for profile in (*renders, short):
        runs[profile.name] = {}
        for schedule in ("adaptive", "fixed"):
            figures = simulate(profile, schedule, seed)
            delays, short_delays = figures.pop("delays"), figures.pop("short_delays")
            if profile is short:
                shorts[schedule] += short_delays
            else:
                pooled[schedule] += delays
            runs[profile.name][schedule] = {**figures, "profile": vars(profile)}
    return {
        "seed": seed,
        "runs": runs,
        "notice_delay_p95_s": {name: round(percentile(delays, 0.95), 2) for name, delays in pooled.items()},
        "notice_delay_p95_s_short_jobs": {
            name: round(percentile(delays, 0.95), 2) for name, delays in shorts.items()
        },
        "short_jobs": len(shorts["adaptive"]),
    }
