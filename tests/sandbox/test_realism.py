"""The sandbox's ``realism`` setting, and the adaptive poll schedule on the timelines it serves.

* the paces themselves (``sandbox/pace.py``): seeded, uneven the way their kind says, queues that
  move; checked on thousands of draws, no HTTP;
* the sandbox serves them: both APIs, every account, over loopback;
* the schedule stays within its bounds on them: in virtual time on thousands of seeded jobs, and in
  real time with the real triggers against the sandbox (both APIs, a triggerer restart).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import math
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import httpx
import pytest

from clipgen_provider.jobs import JobState
from clipgen_provider.sandbox.__main__ import parse_args, settings_from_args
from clipgen_provider.sandbox.pace import KIND_SHARES, MAX_PLACES_AHEAD, Pace, draw_pace
from clipgen_provider.sandbox.server import SandboxServer
from clipgen_provider.triggers import _polling as polling
from clipgen_provider.triggers._polling import JobPollingTrigger
from clipgen_provider.triggers._schedule import DurationHistory, PollPlanner, PollSettings, handover
from clipgen_provider.triggers.clipia import ClipiaRequestTrigger
from clipgen_provider.triggers.clipwise import ClipwiseGenerationTrigger

from .conftest import FAST_SETTINGS

SEED = 17


def progress_curve(pace: Pace, steps: int = 1000) -> list[int]:
    return [pace.progress(pace.run_seconds * step / steps) for step in range(steps)]


# -- the paces ----------------------------------------------------------------------------------


def test_a_seed_and_an_index_always_give_the_same_pace() -> None:
    assert draw_pace(SEED, 3, 5.0, 55.0) == draw_pace(SEED, 3, 5.0, 55.0)
    assert draw_pace(SEED, 3, 5.0, 55.0) != draw_pace(SEED, 4, 5.0, 55.0)
    assert draw_pace(SEED, 3, 5.0, 55.0) != draw_pace(SEED + 1, 3, 5.0, 55.0)


def test_kinds_come_in_their_documented_shares() -> None:
    kinds = Counter(draw_pace(SEED, index, 5.0, 55.0).kind for index in range(5000))
    for kind, share in KIND_SHARES:
        assert kinds[kind] / 5000 == pytest.approx(share, abs=0.02), kind


def test_progress_rises_from_a_slow_start_and_ends_as_its_kind_says() -> None:
    for index in range(600):
        pace = draw_pace(SEED, index, 5.0, 55.0)
        curve = progress_curve(pace)
        assert all(0 <= a <= b <= 99 for a, b in pairwise(curve)), index
        assert curve[40] <= 5, "4 % of the run in, a slow start has done little"
        at_end = pace.progress(pace.run_seconds * 0.9999)
        if pace.kind == "stuck_tail":
            assert 89 <= curve[820] == at_end, "the last fifth of the run sits at 90-99 %"
        elif pace.kind == "early_end":
            assert 59 <= at_end <= 85, "it ends while its progress says 60-85 %"
        else:
            assert at_end >= 98


def test_stalls_stand_still_and_jumps_leap() -> None:
    paces = [draw_pace(SEED, index, 5.0, 55.0) for index in range(800)]
    for pace in paces:
        stretches = list(pairwise(pace.curve))
        stands_still = any(t1 - t0 >= 0.04 and w1 == w0 for (t0, w0), (t1, w1) in stretches[1:])
        assert stands_still == (pace.kind in ("stalls", "stuck_tail")), pace.kind  # past the slow start
        if pace.kind == "jumps":
            curve = progress_curve(pace)
            assert max(b - a for a, b in zip(curve, curve[10:], strict=False)) >= 15, (
                "15 points in 1 % of the run"
            )


def test_a_queue_moves_up_at_uneven_moments_and_its_wait_grows_with_the_place() -> None:
    paces = [draw_pace(SEED, index, 10.0, 60.0) for index in range(2000)]
    for pace in paces[:200]:
        positions = [pace.queue_position(pace.queue_seconds * step / 100) for step in range(100)]
        assert positions[0] == len(pace.queue_moves) <= MAX_PLACES_AHEAD
        assert all(a >= b for a, b in pairwise(positions))
        assert pace.queue_position(pace.queue_seconds) == 0
    assert statistics.mean(pace.queue_seconds for pace in paces) == pytest.approx(10.0, rel=0.15)
    front = [pace.queue_seconds for pace in paces if not pace.queue_moves]
    back = [pace.queue_seconds for pace in paces if len(pace.queue_moves) == MAX_PLACES_AHEAD]
    assert statistics.mean(back) > 4 * statistics.mean(front)


def test_without_a_queue_there_is_no_wait() -> None:
    pace = draw_pace(SEED, 0, 0.0, 2.0)
    assert (pace.queue_seconds, pace.queue_moves, pace.queue_position(0.0)) == (0.0, (), 0)


# -- the sandbox serves them --------------------------------------------------------------------


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    """The session sandbox; its fast, even settings restored after each test."""
    yield sandbox_server
    sandbox_server.update_settings(**FAST_SETTINGS)


def epoch(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def assert_served(pace: Pace, created: float, before: float, after: float, progress: int) -> None:
    """``progress`` read between ``before`` and ``after`` is the pace's (timestamps are to the ms)."""
    low = pace.progress(before - created - 0.002)
    high = pace.progress(after - created + 0.002)
    assert low <= progress <= high, (pace.kind, low, progress, high)


def test_realism_serves_each_accounts_nth_job_its_seeded_pace_on_both_apis(sandbox: SandboxServer) -> None:
    sandbox.update_settings(realism=True, realism_seed=SEED, queue_seconds=0.0, run_seconds=20.0)
    for _account in range(2):
        clipia = httpx.Client(
            base_url=sandbox.url, headers={"Authorization": f"Bearer clipia_test_{uuid.uuid4().hex}"}
        )
        clipwise = httpx.Client(
            base_url=f"{sandbox.url}/api/sdk/v1",
            headers={"Authorization": f"Bearer cw_test_{uuid.uuid4().hex}"},
        )
        with clipia, clipwise:
            requests = [
                clipia.post("/v1/models/nano-banana-2", json={"input": {"prompt": "x"}}) for _ in range(3)
            ]
            generations = [
                clipwise.post("/generations/", json={"format": "smart", "prompt": "x"}) for _ in range(3)
            ]
            time.sleep(0.5)  # let some progress happen: the even sandbox would show 2 %
            for index, submitted in enumerate(requests):
                before = time.time()
                status = clipia.get(f"/v1/requests/{submitted.json()['request_id']}/status").json()
                created = epoch(status["logs"][0]["timestamp"])
                assert_served(
                    draw_pace(SEED, index, 0.0, 20.0), created, before, time.time(), status["progress"]
                )
            for index, created_answer in enumerate(generations):
                before = time.time()
                view = clipwise.get(f"/generations/{created_answer.json()['id']}/").json()["generation"]
                created = epoch(view["created_at"])
                assert_served(
                    draw_pace(SEED, index, 0.0, 20.0), created, before, time.time(), view["progress"]
                )


def test_a_realistic_clipia_queue_reports_the_pace_s_places(sandbox: SandboxServer) -> None:
    sandbox.update_settings(realism=True, realism_seed=SEED, queue_seconds=30.0, run_seconds=5.0)
    headers = {"Authorization": f"Bearer clipia_test_{uuid.uuid4().hex}"}
    answers = [
        httpx.post(f"{sandbox.url}/v1/models/nano-banana-2", json={"input": {"prompt": "x"}}, headers=headers)
        for _ in range(4)
    ]
    for index, answer in enumerate(answers):
        assert answer.json()["queue_position"] == len(draw_pace(SEED, index, 30.0, 5.0).queue_moves)


def test_the_realism_setting_is_a_boolean_and_a_command_line_flag(sandbox: SandboxServer) -> None:
    answer = httpx.patch(f"{sandbox.url}/_sandbox/settings", json={"realism": 1})
    assert answer.status_code == 400
    assert "'realism' must be true or false" in answer.json()["error"]["message"]
    settings = settings_from_args(parse_args(["--realism", "--realism-seed", "3"]))
    assert (settings.realism, settings.realism_seed) == (True, 3)
    assert settings_from_args(parse_args([])).realism is False


# -- the schedule on them, in virtual time ------------------------------------------------------


def state_at(pace: Pace, age: float) -> JobState:
    """What the sandbox says of a job with ``pace``, ``age`` seconds after its submit."""
    if age < pace.queue_seconds:
        return JobState("j", "IN_QUEUE", False, False, queue_position=pace.queue_position(age))
    if age >= pace.queue_seconds + pace.run_seconds:
        return JobState("j", "COMPLETED", True, True)
    return JobState("j", "IN_PROGRESS", False, False, progress=pace.progress(age - pace.queue_seconds))


def drive(
    pace: Pace, settings: PollSettings, history: DurationHistory, rng: random.Random
) -> tuple[int, float, list[float]]:
    """Wait for one job as the trigger does (first pause, jittered pauses); polls, lateness, pauses."""
    plan = PollPlanner(settings, submitted_at=0.0, kind="k", history=history)
    first = plan.first_pause(1.0)
    pauses: list[float] = []
    at, polls = 1.0 + (plan.jittered(first, rng) if first else 0.0), 0
    while True:
        state = state_at(pace, at)
        polls += 1
        if state.terminal:
            plan.finished(at)
            return polls, at - pace.queue_seconds - pace.run_seconds, pauses
        pauses.append(plan.jittered(plan.after(state, at), rng))
        at += pauses[-1]


@pytest.mark.parametrize(("queue_seconds", "run_seconds"), [(0.5, 4.0), (5.0, 55.0), (30.0, 570.0)])
def test_on_realistic_timelines_every_pause_keeps_the_bounds_and_every_end_is_noticed(
    queue_seconds: float, run_seconds: float
) -> None:
    adaptive, fixed = PollSettings(interval=5.0, shortest=2.0, longest=60.0), PollSettings("fixed", 5.0)
    late: dict[str, list[float]] = {"adaptive": [], "fixed": []}
    polls: dict[str, list[int]] = {"adaptive": [], "fixed": []}
    for name, settings in (("adaptive", adaptive), ("fixed", fixed)):
        history, rng = DurationHistory(), random.Random(SEED)
        for index in range(1500):
            pace = draw_pace(SEED, index, queue_seconds, run_seconds)
            count, lateness, pauses = drive(pace, settings, history, rng)
            if name == "adaptive":
                assert all(2.0 <= pause <= 60.0 for pause in pauses), (index, pace.kind)
                assert 0 <= lateness <= 60.0, "noticed within the longest pause"
            late[name].append(lateness)
            polls[name].append(count)
    if queue_seconds + run_seconds > 10:
        assert statistics.mean(polls["adaptive"]) < statistics.mean(polls["fixed"]) / 2
    else:
        assert statistics.median(late["adaptive"]) <= statistics.median(late["fixed"]), (
            "short jobs: not later"
        )
    assert statistics.median(late["adaptive"]) < 2.5


# -- the real triggers against the sandbox --------------------------------------------------------


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> dict[str, str]:
    """A Clipia and a Clipwise connection to the sandbox, each on a fresh key; conn id -> key."""
    keys = {
        "clipia_realism": f"clipia_test_{uuid.uuid4().hex}",
        "clipwise_realism": f"cw_test_{uuid.uuid4().hex}",
    }
    for conn_id, key in keys.items():
        conn_type = conn_id.split("_")[0]
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}",
            json.dumps({"conn_type": conn_type, "host": sandbox.url, "password": key}),
        )
    return keys


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every pause the polling triggers take (they still sleep it, in real time)."""
    taken: list[float] = []

    class Recording:
        """``asyncio`` as the trigger module sees it, with a recording ``sleep``."""

        def __getattr__(self, name: str) -> Any:
            return getattr(asyncio, name)

        @staticmethod
        async def sleep(seconds: float) -> None:
            taken.append(seconds)
            await asyncio.sleep(seconds)

    monkeypatch.setattr(polling, "asyncio", Recording())
    return taken


async def first_event(trigger: JobPollingTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("no event")


def submit(sandbox: SandboxServer, api: str, key: str) -> str:
    if api == "clipia":
        answer = httpx.post(
            f"{sandbox.url}/v1/models/nano-banana-2",
            json={"input": {"prompt": "realism"}},
            headers={"Authorization": f"Bearer {key}"},
        )
        return str(answer.json()["request_id"])
    answer = httpx.post(
        f"{sandbox.url}/api/sdk/v1/generations/",
        json={"format": "smart", "prompt": "realism"},
        headers={"Authorization": f"Bearer {key}"},
    )
    return str(answer.json()["id"])


async def test_real_triggers_on_realistic_jobs_keep_their_bounds_and_poll_less_than_fixed(
    sandbox: SandboxServer, connections: dict[str, str], pauses: list[float]
) -> None:
    sandbox.update_settings(realism=True, realism_seed=SEED, queue_seconds=0.3, run_seconds=2.5)
    bounds: dict[str, Any] = {"poll_interval": 0.5, "min_poll_interval": 0.1, "max_poll_interval": 0.8}
    triggers: list[JobPollingTrigger] = []
    for api, conn_id, trigger_class in (
        ("clipia", "clipia_realism", ClipiaRequestTrigger),
        ("clipwise", "clipwise_realism", ClipwiseGenerationTrigger),
    ):
        for _ in range(4):
            job_id = submit(sandbox, api, connections[conn_id])
            triggers.append(
                trigger_class(
                    job_id=job_id,
                    conn_id=conn_id,
                    schedule_state=handover(seen_at=time.time()),
                    job_kind=f"{api}:realism-test",
                    **bounds,
                )
            )
    events = await asyncio.wait_for(asyncio.gather(*(first_event(t) for t in triggers)), timeout=60)
    assert [event["status"] for event in events] == ["success"] * len(triggers)
    assert pauses
    assert all(0.1 <= pause <= 0.8 for pause in pauses), sorted(pauses)
    polls = sum(
        len([c for c in sandbox.calls(api_key=key, method="GET") if trigger.job_id in c["path"]])
        for trigger in triggers
        for key in connections.values()
    )
    job_seconds = [draw_pace(SEED, index, 0.3, 2.5) for index in range(4)] * 2
    fixed_polls = sum(math.ceil((pace.queue_seconds + pace.run_seconds) / 0.5) + 1 for pace in job_seconds)
    assert polls < fixed_polls, (polls, fixed_polls)


async def test_a_trigger_rebuilt_from_its_kwargs_mid_wait_resumes_from_the_job_s_real_age(
    sandbox: SandboxServer, connections: dict[str, str]
) -> None:
    """A triggerer restart: Airflow rebuilds the trigger from the kwargs stored when the task deferred."""
    sandbox.update_settings(realism=True, realism_seed=SEED, queue_seconds=0.0, run_seconds=4.0)
    job_id = submit(sandbox, "clipia", connections["clipia_realism"])
    submitted = time.time()
    first = ClipiaRequestTrigger(
        job_id=job_id, conn_id="clipia_realism", poll_interval=1.0, schedule_state=handover(seen_at=submitted)
    )
    classpath, stored = first.serialize()
    assert classpath == "clipgen_provider.triggers.clipia.ClipiaRequestTrigger"
    assert json.loads(json.dumps(stored)) == stored, "plain JSON, as Airflow stores it"
    waiting = asyncio.ensure_future(first_event(first))
    await asyncio.sleep(2.5)
    waiting.cancel()  # the triggerer goes away mid-wait
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert first.serialize()[1]["schedule_state"]["last"] is not None, "serialize() carries what it learned"
    rebuilt = ClipiaRequestTrigger(**stored)
    planner = rebuilt.make_planner()
    assert planner.submitted_at == pytest.approx(submitted), "its age is the job's, not the new trigger's"
    assert planner.first_pause(time.time()) == 0.0, "its first poll was due: it polls at once"
    event = await asyncio.wait_for(first_event(rebuilt), timeout=30)
    assert event["status"] == "success"
