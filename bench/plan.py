"""How big and how long each measurement runs: the full benchmark, and a tiny smoke-test size."""

from __future__ import annotations

from dataclasses import dataclass

from bench.adaptive import Profile
from bench.triggers import LoadPlan


@dataclass(frozen=True)
class AdaptivePlan:
    """The adaptive-polling measurements (:mod:`bench.adaptive`, ``adaptive_live``, ``adaptive_load``).

    :param seed: the sandbox's ``realism_seed``: every run here waits for the same jobs
    :param renders: streams of renders waited for in virtual time, the 60 s one first, then the
        10-minute one
    :param short: a stream of short jobs (the report keeps those of 10 s or less)
    :param live: the stream run in real time over HTTP to check the virtual figures
    :param load_sizes: concurrent waits tried in one loop, smallest first
    :param load_job: queue and run seconds of the load runs' renders
    :param load_settle: seconds after the ramp (one job length) before the window opens
    :param load_window: measured seconds of each load run
    """

    seed: int
    renders: tuple[Profile, Profile]
    short: Profile
    live: Profile
    load_sizes: tuple[int, ...]
    load_job: tuple[float, float]
    load_settle: float
    load_window: float


@dataclass(frozen=True)
class BenchPlan:
    """Every size and duration the benchmark uses.

    :param sizes: trigger counts tried, smallest first, for each kind
    :param peer_size: the count at which ours and ``HttpSensorTrigger`` are compared (one of ``sizes``)
    :param load: poll interval, warm-up and measured window of each trigger run
    :param job_queue_seconds: queue time of the end-to-end job
    :param job_run_seconds: run time of the end-to-end job (queue + run = the generation's length)
    :param job_poll_interval: our operator's poll interval in the end-to-end job
    :param import_runs: fresh interpreters per import statement
    :param throughput_concurrency: requests in flight while measuring the sandbox's capacity
    :param throughput_seconds: seconds per concurrency
    :param quiet_wait_seconds: longest wait for a quiet machine before the load runs
    :param webhook_jobs: webhook-mode jobs run on a real deployment per scheduler setting (0: skip)
    :param adaptive: the adaptive-polling measurements
    """

    sizes: tuple[int, ...]
    peer_size: int
    load: LoadPlan
    job_queue_seconds: float
    job_run_seconds: float
    job_poll_interval: float
    import_runs: int
    throughput_concurrency: tuple[int, ...]
    throughput_seconds: float
    quiet_wait_seconds: float
    webhook_jobs: int
    adaptive: AdaptivePlan


FULL = BenchPlan(
    sizes=(1000, 2000, 5000),
    peer_size=1000,
    load=LoadPlan(poll_interval=5.0, warmup=10.0, window=30.0),
    job_queue_seconds=5.0,
    job_run_seconds=55.0,
    job_poll_interval=5.0,
    import_runs=7,
    throughput_concurrency=(10, 50, 200),
    throughput_seconds=3.0,
    quiet_wait_seconds=300.0,
    webhook_jobs=20,
    adaptive=AdaptivePlan(
        seed=1,
        renders=(
            Profile("60 s renders", 5.0, 55.0, 1000, 6.0),
            Profile("10-minute renders", 30.0, 570.0, 600, 60.0),
        ),
        short=Profile("short jobs", 0.5, 4.0, 1000, 1.0),
        live=Profile("20 s renders, real time", 2.0, 18.0, 40, 2.0),
        load_sizes=(10_000, 15_000, 20_000, 25_000),
        load_job=(5.0, 55.0),
        load_settle=15.0,
        load_window=30.0,
    ),
)

SMOKE = BenchPlan(
    sizes=(20,),
    peer_size=20,
    load=LoadPlan(poll_interval=0.5, warmup=0.5, window=1.5),
    job_queue_seconds=0.2,
    job_run_seconds=0.8,
    job_poll_interval=0.2,
    import_runs=1,
    throughput_concurrency=(10,),
    throughput_seconds=1.0,
    quiet_wait_seconds=0.0,
    webhook_jobs=0,
    adaptive=AdaptivePlan(
        seed=1,
        renders=(
            Profile("60 s renders", 5.0, 55.0, 30, 6.0),
            Profile("10-minute renders", 30.0, 570.0, 20, 60.0),
        ),
        short=Profile("short jobs", 0.5, 4.0, 30, 1.0),
        live=Profile("3 s jobs, real time", 0.3, 2.7, 3, 1.0),
        load_sizes=(30,),
        load_job=(0.3, 1.7),
        load_settle=1.0,
        load_window=2.0,
    ),
)
