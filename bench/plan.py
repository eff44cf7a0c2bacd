"""How big and how long each measurement runs: the full benchmark, and a tiny smoke-test size."""

from __future__ import annotations

from dataclasses import dataclass

from bench.triggers import LoadPlan


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
    webhook_jobs=1,
)
