"""The poll schedule (``triggers/_schedule.py``): pure decisions, each test one rule, in virtual time.

The schedule against the sandbox's uneven timelines is tested in ``tests/sandbox/test_realism.py``;
the trigger's use of it, here at the end, with a scripted ``fetch_state``.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
import uuid
from typing import Any

import pytest

from clipgen_provider.exceptions import ClipgenConfigError, ClipiaApiError
from clipgen_provider.jobs import JobState
from clipgen_provider.operators._job import ClipgenJobOperator
from clipgen_provider.sensors._job import ClipgenJobSensor
from clipgen_provider.triggers import _schedule as schedule
from clipgen_provider.triggers._polling import JobPollingTrigger
from clipgen_provider.triggers._schedule import (
    DEFAULT_LONGEST,
    DEFAULT_SHORTEST,
    DurationHistory,
    PollPlanner,
    PollSettings,
    check_poll_settings,
    handover,
)


def running(progress: int | None) -> JobState:
    return JobState("job", "IN_PROGRESS", terminal=False, succeeded=False, progress=progress)


def queued(position: int) -> JobState:
    return JobState("job", "IN_QUEUE", terminal=False, succeeded=False, queue_position=position)


def planner(history: DurationHistory | None = None, kind: str | None = None, **settings: Any) -> PollPlanner:
    return PollPlanner(
        PollSettings(**settings), submitted_at=0.0, kind=kind, history=history or DurationHistory()
    )


def history_of(*durations: float, kind: str = "k") -> DurationHistory:
    history = DurationHistory()
    for seconds in durations:
        history.record(kind, seconds)
    return history


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (PollSettings(schedule="sometimes"), "poll_schedule must be one of 'adaptive', 'fixed', 'backoff'"),  # type: ignore[arg-type]
        (PollSettings(interval=0), "poll_interval must be a positive number of seconds, not 0"),
        (PollSettings(shortest=-1), "min_poll_interval must be a positive number of seconds, not -1"),
        (PollSettings(shortest=5, longest=2), "max_poll_interval (2) must be at least min_poll_interval (5)"),
    ],
)
def test_settings_that_make_no_sense_are_named(settings: PollSettings, words: str) -> None:
    assert words in (settings.problem() or "")


def test_the_default_settings_are_sound() -> None:
    assert PollSettings().problem() is None


@pytest.mark.parametrize(
    ("settings", "ceiling"),
    [
        (PollSettings(), DEFAULT_LONGEST),
        (PollSettings(interval=300), 300),  # a long fixed interval is never cut short by the default
        (PollSettings(longest=30), 30),
        (PollSettings(schedule="backoff", interval=10), 10),  # no ceiling: backoff does not grow
        (PollSettings(schedule="backoff", interval=10, longest=50), 50),
    ],
)
def test_the_longest_pause(settings: PollSettings, ceiling: float) -> None:
    assert settings.ceiling == ceiling


def test_operators_offer_adaptive_and_fixed_and_say_which_parameter_is_wrong() -> None:
    check_poll_settings("adaptive", 5, 1, None)
    check_poll_settings("fixed", 5, 1, 60)
    with pytest.raises(
        ClipgenConfigError, match="poll_schedule must be 'adaptive' or 'fixed', not 'backoff'"
    ):
        check_poll_settings("backoff", 5, 1, None)
    with pytest.raises(ClipgenConfigError, match="max_poll_interval"):
        check_poll_settings("adaptive", 5, 10, 2)


def test_operators_and_sensors_leave_the_bounds_to_the_schedule() -> None:
    for cls in (ClipgenJobOperator, ClipgenJobSensor):
        parameters = inspect.signature(cls.__init__).parameters
        assert parameters["poll_schedule"].default == "adaptive", cls
        assert parameters["min_poll_interval"].default is None, cls
        assert parameters["max_poll_interval"].default is None, cls


@pytest.mark.parametrize(("interval", "floor"), [(5.0, DEFAULT_SHORTEST), (0.2, 0.2)])
def test_the_shortest_pause_is_never_longer_than_the_fixed_interval_by_default(
    interval: float, floor: float
) -> None:
    """A DAG that polls every 0.2 s must not get slower polls from the adaptive default."""
    assert PollSettings(interval=interval).floor == floor
    assert PollSettings(interval=interval, shortest=3.0).floor == 3.0


# -- fixed and backoff --------------------------------------------------------------------------


def test_fixed_polls_at_once_then_every_interval_with_ten_percent_jitter() -> None:
    plan = planner(schedule="fixed", interval=5)
    assert plan.first_pause(0.0) == 0.0
    rng = random.Random(7)
    pauses = [plan.jittered(plan.after(running(progress), 10.0 * progress), rng) for progress in range(1, 60)]
    assert all(4.5 <= pause <= 5.5 for pause in pauses)
    assert max(pauses) - min(pauses) > 0.5, "the jitter spreads the polls"


def test_backoff_doubles_up_to_its_ceiling_but_not_after_an_error() -> None:
    plan = planner(schedule="backoff", interval=10, longest=50)
    assert plan.first_pause(0.0) == 0.0
    assert [plan.after(running(None), 0.0) for _ in range(3)] == [10, 20, 40]
    assert plan.after_error(0.0) == 40, "a failed read does not grow the pause"
    assert [plan.after(running(None), 0.0) for _ in range(2)] == [50, 50]


# -- adaptive: nothing to estimate from ---------------------------------------------------------


def test_without_any_information_adaptive_polls_at_the_fixed_interval() -> None:
    plan = planner(interval=5)
    assert plan.first_pause(0.2) == pytest.approx(4.8), "the first poll one interval after the submit"
    assert plan.after(running(None), 5.0) == 5.0  # no progress reported (an extract-url task)
    assert plan.after(running(0), 10.0) == 5.0  # running, but no progress yet
    assert plan.after(queued(3), 15.0) == 5.0  # queued, not moving yet


def test_a_first_poll_whose_moment_has_passed_comes_at_once() -> None:
    """After a triggerer restart the job is older than the schedule planned for."""
    assert planner(interval=5).first_pause(60.0) == 0.0


# -- adaptive: progress -------------------------------------------------------------------------


def test_even_progress_aims_the_poll_at_the_earliest_plausible_end_plus_the_tolerated_lateness() -> None:
    plan = planner(interval=5, longest=600)
    plan.after(running(40), 40.0)
    pause = plan.after(running(80), 80.0)  # 1 point/s over 40 s: 19 to 20 points left
    spread = 1 + schedule.PACE_ERROR + 1 / 40
    estimate = plan.estimate(80.0)
    assert estimate is not None
    assert (estimate.earliest, estimate.latest) == pytest.approx((19 / spread, 20 * spread))
    assert pause == pytest.approx(19 / spread + 5 * schedule.LATENESS)


@pytest.mark.parametrize(
    ("length", "cold_polls", "warm_polls"),
    [(4.0, 2, 2), (60.0, 6, 3), (600.0, 10, 6), (3600.0, 25, 13)],
)
def test_an_even_job_is_noticed_within_an_interval_with_few_polls(
    length: float, cold_polls: int, warm_polls: int
) -> None:
    """A job submitted at 0 runs evenly for ``length`` s; cold: no history, warm: jobs like it took ``length``."""
    for history, most in ((None, cold_polls), (history_of(*[length] * 5), warm_polls)):
        plan = planner(history, kind="k", interval=5, longest=600)
        at, polls = plan.first_pause(0.5) + 0.5, 1
        while at < length:
            at += plan.after(running(min(99, int(100 * at / length))), at)
            polls += 1
        assert at - length <= 5.0, "no later than the fixed interval would have been"
        assert polls <= most


def test_far_from_the_end_it_backs_off_but_never_beyond_three_times_what_it_measured() -> None:
    plan = planner(interval=5, longest=600)
    plan.after(running(1), 10.0)
    pause = plan.after(running(3), 14.0)  # 0.5 %/s over only 4 s: 194 s to go, on thin evidence
    assert pause == pytest.approx(3 * 4.0)
    plan.after(running(20), 48.0)
    pause = plan.after(running(40), 88.0)  # now 39 points over 78 s: the estimate, not the cap, rules
    assert pause == pytest.approx(59 * 2.0 / (1 + schedule.PACE_ERROR + 1 / 39) + 5 * schedule.LATENESS)


def test_one_observation_counts_the_run_from_the_last_moment_the_job_was_seen_queued() -> None:
    plan = planner(interval=5, longest=600)
    plan.after(queued(0), 20.0)
    pause = plan.after(running(50), 40.0)  # at most 20 s of running for 50 %: 0.4 s a point
    spread = 1 + schedule.PACE_ERROR + schedule.START_ERROR + 1 / 50
    estimate = plan.estimate(40.0)
    assert estimate is not None
    assert (estimate.earliest, estimate.latest) == pytest.approx((49 * 0.4 / spread, 50 * 0.4 * spread))
    assert pause == schedule.SINGLE_HORIZON * 20.0, "one observation is not extrapolated far"


def test_the_pause_stays_within_the_bounds_the_user_set() -> None:
    plan = planner(interval=5, shortest=2, longest=30)
    plan.after(running(1), 1.0)
    assert plan.after(running(2), 500.0) == 30, "a far end: the longest pause"
    plan = planner(interval=5, shortest=2, longest=30)
    plan.after(running(10), 10.0)
    assert plan.after(running(99), 100.0) == 2, "an imminent end: the shortest pause"


def test_a_stall_mid_run_backs_off_in_proportion_to_its_length() -> None:
    plan = planner(interval=5, longest=600)
    plan.after(running(10), 10.0)
    plan.after(running(30), 30.0)
    assert plan.after(running(30), 70.0) >= schedule.STALL_BACKOFF * 40.0


def test_a_stall_near_the_end_polls_a_little_faster_than_the_interval() -> None:
    """Stuck at 9x %: finishing touches can end any moment, and progress no longer says when."""
    plan = planner(interval=5, longest=600)
    plan.after(running(40), 40.0)
    plan.after(running(95), 95.0)
    pauses = [plan.after(running(95), at) for at in (100.0, 130.0, 300.0)]
    assert pauses == [5 * schedule.NEAR_PACE] * 3
    assert (
        max(plan.jittered(pause, random.Random(seed)) for seed in range(200) for pause in pauses) < 0.95 * 5
    ), "jittered, still closer together than 95 % of a fixed interval's reads"


def test_once_the_earliest_end_has_passed_it_polls_at_the_near_end_pace() -> None:
    plan = planner(interval=5, longest=600)
    plan.after(running(40), 40.0)
    plan.after(running(90), 90.0)  # 1 %/s: 9 to 10 points left, the earliest end some 6 s away
    estimate = plan.estimate(97.0)
    assert estimate is not None
    assert estimate.earliest < 0 < estimate.latest
    assert plan.next_pause(97.0) == 5 * schedule.NEAR_PACE


def test_a_stall_between_two_reads_does_not_push_the_earliest_end_back() -> None:
    """Ten points in 60 s after fifty in 50 s: the job may have stalled and be back at 1 %/s."""
    plan = planner(interval=5, longest=600)
    plan.after(running(50), 50.0)
    plan.after(running(60), 110.0)
    estimate = plan.estimate(110.0)
    assert estimate is not None
    spread = 1 + schedule.PACE_ERROR + 1 / 10
    whole_run = 110.0 / 60
    assert estimate.earliest == pytest.approx(39 * whole_run / spread), "the whole run's faster pace"
    assert estimate.latest == pytest.approx(40 * 6.0 * spread), "the recent, slower one"


def test_after_a_stall_the_rate_is_measured_from_the_stalls_end() -> None:
    plan = planner(interval=5, longest=600)
    plan.after(running(10), 10.0)
    plan.after(running(20), 20.0)
    plan.after(running(20), 80.0)  # stalled for a minute
    plan.after(running(40), 100.0)  # 1 %/s again since the stall ended at 80 s
    estimate = plan.estimate(100.0)
    assert estimate is not None
    spread = 1 + schedule.PACE_ERROR + 1 / 20
    assert estimate.latest == pytest.approx(60 * 1.0 * spread), "the stall does not slow the estimate"


# -- adaptive: history and queue --------------------------------------------------------------


def test_history_keeps_the_median_and_spread_of_recent_jobs_of_a_kind() -> None:
    history = history_of(50, 60, 70, 58, 62)
    typical = history.typical("k")
    assert typical is not None
    assert typical.total == 60
    assert typical.spread == pytest.approx((70 - 50) / 2 / 60)
    assert history.typical("other") is None
    assert history.typical(None) is None


def test_history_needs_a_few_jobs_and_forgets_old_ones_and_old_kinds() -> None:
    history = DurationHistory(size=3, kinds=2)
    history.record("a", 10)
    history.record("a", 10)
    assert history.typical("a") is None, "two jobs are not yet a history"
    for seconds in (10, 90, 90, 90):
        history.record("a", seconds)
    assert history.typical("a").total == 90  # type: ignore[union-attr]
    for kind in ("b", "c"):
        for _ in range(3):
            history.record(kind, 5)
    assert history.typical("a") is None, "the least recently finished kind is dropped"
    assert history.typical("c") is not None


def test_history_aims_the_first_poll_before_nearly_every_job_of_the_kind_ends() -> None:
    history = history_of(50, 60, 70, 58, 62)
    plan = planner(history, kind="k", interval=5)
    first = plan.first_pause(1.0)
    assert 1.0 + first == pytest.approx(50 / (1 + schedule.HISTORY_ERROR)), "before the quickest, no slack"


def test_a_history_can_learn_that_jobs_got_quicker() -> None:
    """Jobs that end before the first poll record that poll: it comes before the quickest, so the
    durations recorded shrink with the jobs instead of sticking at the first poll."""
    history = history_of(*[60.0] * 3)
    firsts: list[float] = []
    while len(firsts) < 20:  # every job now ends at 30 s
        plan = planner(history, kind="k", interval=5)
        firsts.append(plan.first_pause(0.0))
        if firsts[-1] < 30.0:
            break  # the first poll comes before the end again
        plan.finished(firsts[-1])  # seen ended at the first poll
    assert firsts[-1] < 30.0, firsts


def test_a_jobs_own_progress_wins_over_the_history_of_its_kind() -> None:
    plan = planner(history_of(*[60.0] * 5), kind="k", interval=5, longest=600)
    plan.after(running(10), 50.0)
    plan.after(running(20), 60.0)  # this one runs far slower than the others did
    estimate = plan.estimate(60.0)
    assert estimate is not None
    assert estimate.latest == pytest.approx(80 * 1.0 * (1 + schedule.PACE_ERROR + 1 / 10))


def test_an_overdue_history_estimate_falls_back_to_the_interval() -> None:
    plan = planner(history_of(*[60.0] * 5), kind="k", interval=5)
    assert plan.after(running(None), 200.0) == 5.0


def test_finished_jobs_feed_the_history_with_the_middle_of_their_last_pause() -> None:
    history = DurationHistory()
    for _ in range(3):
        plan = planner(history, kind="k")
        plan.after(running(90), 50.0)
        plan.finished(54.0)
    assert history.typical("k").total == 52.0  # type: ignore[union-attr]


def test_a_moving_queue_aims_the_poll_at_the_start() -> None:
    plan = planner(interval=5, longest=600)
    plan.after(queued(8), 0.0)
    pause = plan.after(queued(4), 20.0)  # 5 s a place: 4 moves and the start to go, 20 s or more
    assert pause == pytest.approx(4 * 5.0 + 5 * schedule.LATENESS)


# -- jitter, bounds, state ----------------------------------------------------------------------


def test_adaptive_jitter_is_a_tenth_of_the_interval_at_most_and_keeps_the_bounds() -> None:
    plan = planner(interval=5, shortest=1, longest=60)
    rng = random.Random(3)
    long_pauses = [plan.jittered(40.0, rng) for _ in range(200)]
    assert all(39.5 <= pause <= 40.5 for pause in long_pauses), "an aimed poll lands near its aim"
    assert all(plan.jittered(60.0, rng) <= 60 for _ in range(200)), "never beyond the longest pause"
    assert all(plan.jittered(1.0, rng) >= 1 for _ in range(200)), "never below the shortest"


def test_any_sequence_of_observations_keeps_every_pause_within_the_bounds() -> None:
    rng = random.Random(11)
    for _ in range(300):
        shortest, longest = rng.uniform(0.1, 5), rng.uniform(5, 300)
        plan = planner(
            history_of(*[rng.uniform(1, 900) for _ in range(4)]),
            kind="k",
            interval=rng.uniform(0.5, 60),
            shortest=shortest,
            longest=longest,
        )
        at, progress = rng.uniform(0, 100), 0
        for _ in range(30):
            at += rng.uniform(0, 200)
            if rng.random() < 0.2:
                state = queued(rng.randint(0, 9))
            else:
                progress = min(99, progress + rng.choice([0, 0, 1, 5, 30]))
                state = running(rng.choice([progress, None]))
            pause = plan.jittered(plan.after(state, at), rng)
            assert shortest <= pause <= longest


def test_a_planner_resumed_from_its_snapshot_plans_the_same_pause() -> None:
    plan = planner(interval=5, longest=600)
    for at, state in ((3.0, queued(2)), (9.0, queued(0)), (20.0, running(10)), (40.0, running(40))):
        plan.after(state, at)
    resumed = PollPlanner(PollSettings(interval=5, longest=600), submitted_at=0.0, state=plan.snapshot())
    assert resumed.next_pause(41.0) == plan.next_pause(41.0)
    assert resumed.snapshot() == plan.snapshot()


def test_handover_carries_the_submit_time_or_what_a_reattaching_task_saw() -> None:
    fresh = handover(seen_at=100.0)
    assert (fresh["submitted_at"], fresh["last"], fresh["polled_at"]) == (100.0, None, None)
    reattached = handover(seen_at=200.0, state=running(40))
    assert (reattached["last"], reattached["polled_at"]) == ([200.0, 40], 200.0)


# -- the trigger's use of it ------------------------------------------------------------------


class ScriptedTrigger(JobPollingTrigger):
    """A trigger whose reads return ``script`` in turn (an exception is raised instead)."""

    script: list[Any]

    def make_hook(self) -> Any:
        raise AssertionError("not used")

    async def fetch_state(self, hook: Any) -> JobState:
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def scripted(script: list[Any], **kwargs: Any) -> ScriptedTrigger:
    trigger = ScriptedTrigger(job_id="job", conn_id="c", **kwargs)
    trigger.script = list(script)
    return trigger


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the trigger's pauses instead of sleeping them."""
    recorded: list[float] = []
    real_sleep = asyncio.sleep

    async def record(seconds: float) -> None:
        recorded.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", record)
    return recorded


async def test_a_trigger_without_schedule_state_polls_at_once(sleeps: list[float]) -> None:
    trigger = scripted([JobState("job", "COMPLETED", terminal=True, succeeded=True)])
    assert (await trigger._watch(None))["status"] == "success"
    assert sleeps == []


async def test_a_trigger_handed_a_fresh_submit_waits_before_its_first_poll(sleeps: list[float]) -> None:
    done = JobState("job", "COMPLETED", terminal=True, succeeded=True)
    trigger = scripted([done], poll_interval=5, schedule_state=handover(seen_at=time.time()))
    await trigger._watch(None)
    assert len(sleeps) == 1
    assert 4.0 < sleeps[0] <= 5.5


async def test_retry_after_wins_over_the_schedule(sleeps: list[float]) -> None:
    busy = ClipiaApiError("slow down", status_code=429, code="rate_limit_exceeded", retry_after=400.0)
    done = JobState("job", "COMPLETED", terminal=True, succeeded=True)
    trigger = scripted([busy, done], poll_interval=5, max_poll_interval=30)
    await trigger._watch(None)
    assert sleeps == [400.0]


async def test_completed_jobs_teach_the_process_history_and_serialize_carries_the_schedule(
    sleeps: list[float],
) -> None:
    kind = f"Clipia request:test-{uuid.uuid4().hex}"
    for _ in range(schedule.HISTORY_MIN):
        states = [running(50), running(60), JobState("job", "COMPLETED", terminal=True, succeeded=True)]
        trigger = scripted(states, job_kind=kind)
        await trigger._watch(None)
    assert schedule.HISTORY.typical(kind) is not None, "the next wait of this kind can aim its first poll"
    kwargs = trigger.serialize()[1]
    assert kwargs["job_kind"] == kind
    assert kwargs["schedule_state"]["last"][1] == 60, "what the wait learned, as plain JSON"
    assert (kwargs["poll_schedule"], kwargs["min_poll_interval"]) == ("adaptive", None)


async def test_a_failed_job_teaches_the_history_nothing(sleeps: list[float]) -> None:
    kind = f"Clipia request:test-{uuid.uuid4().hex}"
    for _ in range(schedule.HISTORY_MIN):
        failed = JobState("job", "FAILED", terminal=True, succeeded=False)
        await scripted([running(5), failed], job_kind=kind)._watch(None)
    assert schedule.HISTORY.typical(kind) is None
