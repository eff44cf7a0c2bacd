"""Parent side of the trigger benchmarks: jobs on the sandbox, one child loop per run, served polls.

:func:`run_load` starts ``count`` jobs' worth of triggers of one kind in a fresh child process
(:mod:`bench.trigger_load`) and combines what the child measured (lag, CPU, memory) with what the
sandbox's call log says it served in the same window. :func:`find_max` walks the sizes upwards
and keeps the largest one the loop handled.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.jobs import submit_jobs
from bench.kinds import KINDS, TriggerKind
from bench.lag import percentile
from clipgen_provider.sandbox.server import SandboxServer

#: the loop keeps up while its p99 lag is under this
LAG_P99_LIMIT_MS = 100.0
#: and while at least this share of the expected polls were served in the window
SERVED_MIN_RATIO = 0.95
#: jobs run this long, so no trigger's job finishes while it is measured
JOB_RUN_SECONDS = 3600.0


@dataclass(frozen=True)
class LoadPlan:
    """How one run is timed: poll interval, warm-up before measuring, measured window (seconds)."""

    poll_interval: float
    warmup: float
    window: float
    greenback: bool = True


#: Clipwise jobs per API key (and connection), as many teams' connections would hold them; it also
#: kept the sandbox from being the limit while its settle walked all of a key's generations
CLIPWISE_JOBS_PER_KEY = 100


@dataclass(frozen=True)
class Fleet:
    """The jobs a run's triggers wait for: ``(job id, connection id, API key)`` each."""

    jobs: list[tuple[str, str, str]]

    def first(self, count: int) -> Fleet:
        """The fleet of the first ``count`` jobs."""
        return Fleet(self.jobs[:count])

    def connections(self) -> dict[str, str]:
        """Connection id to API key, for every connection the jobs use."""
        return {conn_id: api_key for _, conn_id, api_key in self.jobs}


def new_api_key(kind: TriggerKind) -> str:
    """A fresh key: the sandbox keeps one account per key, so runs never share jobs."""
    prefix = "cw_bench_" if kind.api == "clipwise" else "clipia_test_bench_"
    return prefix + uuid.uuid4().hex


def prepare_fleet(sandbox: SandboxServer, kind: TriggerKind, count: int) -> Fleet:
    """Running jobs for ``count`` triggers (unknown ids for the 404-polling peer), on one API key
    and connection, or for Clipwise one per :data:`CLIPWISE_JOBS_PER_KEY` jobs."""
    if kind.api is None:
        api_key = new_api_key(kind)
        return Fleet([(f"bench-missing-{index}", kind.conn_id, api_key) for index in range(count)])
    sandbox.update_settings(queue_seconds=0.0, run_seconds=JOB_RUN_SECONDS, initial_credits=1e9)
    per_key = CLIPWISE_JOBS_PER_KEY if kind.api == "clipwise" else count
    groups = []
    for index, start in enumerate(range(0, count, per_key)):
        conn_id = kind.conn_id if per_key >= count else f"{kind.conn_id}_{index}"
        api_key = new_api_key(kind)
        ids = submit_jobs(kind.api, sandbox.url, api_key, min(per_key, count - start))
        groups.append([(job_id, conn_id, api_key) for job_id in ids])
    # interleaved, so that the first N jobs spread over every connection in use
    return Fleet([job for row in itertools.zip_longest(*groups) for job in row if job is not None])


def _epoch(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def served_polls(sandbox: SandboxServer, kind: TriggerKind, start: float, end: float) -> tuple[int, float]:
    """Polls of ``kind`` the sandbox answered as expected between ``start`` and ``end``, and the
    95th percentile of its answer times (ms), which shows whether the sandbox kept up."""
    calls = sandbox.calls(method="GET", path=kind.poll_path, status=str(kind.poll_status))
    durations = [call["duration_ms"] for call in calls if start <= _epoch(call["time"]) < end]
    return len(durations), percentile(durations, 0.95)


REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ChildRun:
    """What one child run left behind: its figures and how many log lines the triggers wrote."""

    figures: dict[str, Any]
    log_lines: int


def run_child(spec: dict[str, Any], env: dict[str, str]) -> ChildRun:
    """Run :mod:`bench.trigger_load` on ``spec``, its logs going to a file, as a triggerer's do."""
    timeout = spec["warmup"] + spec["window"] + 180
    with tempfile.TemporaryDirectory(prefix="clipgen-bench-") as workdir:
        spec_path, result_path, log_path = (Path(workdir) / name for name in ("spec", "result", "log"))
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        with log_path.open("wb") as log:
            done = subprocess.run(  # noqa: S603 - our own module with our own arguments
                [sys.executable, "-m", "bench.trigger_load", str(spec_path), str(result_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env={**os.environ, **env},
                timeout=timeout,
                check=False,
            )
        logged = log_path.read_text(encoding="utf-8", errors="replace")
        if done.returncode != 0 or not result_path.exists():
            raise RuntimeError(f"trigger load run failed ({done.returncode}):\n{logged[-3000:]}")
        return ChildRun(json.loads(result_path.read_text(encoding="utf-8")), logged.count("\n"))


def run_load(sandbox: SandboxServer, kind_name: str, fleet: Fleet, plan: LoadPlan) -> dict[str, Any]:
    """Run one trigger per job of ``fleet`` in one child loop; return the run's figures."""
    kind = KINDS[kind_name]
    count = len(fleet.jobs)
    spec = {
        "kind": kind.name,
        "jobs": fleet.jobs,
        "base_url": sandbox.url,
        "poll_interval": plan.poll_interval,
        "warmup": plan.warmup,
        "window": plan.window,
        "greenback": plan.greenback,
    }
    env: dict[str, str] = {}
    for conn_id, api_key in fleet.connections().items():
        env.update(kind.connection_env(conn_id, sandbox.url, api_key))
    sandbox.clear_calls()
    child = run_child(spec, env)
    figures = child.figures
    window = figures["window_end"] - figures["window_start"]
    served, answer_p95 = served_polls(sandbox, kind, figures["window_start"], figures["window_end"])
    expected = count * window / plan.poll_interval
    result = {
        "kind": kind.name,
        "label": kind.label,
        "triggers": count,
        "connections": len(fleet.connections()),
        "poll_interval_s": plan.poll_interval,
        "window_s": round(window, 2),
        "polls_served": served,
        "polls_expected": round(expected),
        "served_ratio": round(served / expected, 3) if expected else 0.0,
        "sandbox_answer_p95_ms": round(answer_p95, 1),
        "cpu_ms_per_poll": round(figures["cpu_seconds"] * 1000 / served, 3) if served else None,
        "rss_kb_per_trigger": round((figures["rss_after_kb"] - figures["rss_before_kb"]) / count, 2),
        "log_lines": child.log_lines,
        "greenback": plan.greenback,
        **{k: v for k, v in figures.items() if k not in ("window_start", "window_end")},
    }
    result["keeps_up"] = keeps_up(result)
    return result


def keeps_up(result: dict[str, Any]) -> bool:
    """The loop handled the load: lag p99 under the limit, the polls served, no trigger ended."""
    return (
        result["lag_p99_ms"] < LAG_P99_LIMIT_MS
        and result["served_ratio"] >= SERVED_MIN_RATIO
        and not result["events"]
    )


def find_max(
    sandbox: SandboxServer, kind_name: str, sizes: list[int], plan: LoadPlan, log: Any = print
) -> tuple[int, list[dict[str, Any]]]:
    """Run each size in turn (smallest first, stopping at the first failure); return the largest kept."""
    kind = KINDS[kind_name]
    fleet = prepare_fleet(sandbox, kind, max(sizes))
    best, runs = 0, []
    for size in sorted(sizes):
        result = run_load(sandbox, kind_name, fleet.first(size), plan)
        runs.append(result)
        log(
            f"  {kind.label} x{size}: lag p99 {result['lag_p99_ms']} ms, served "
            f"{result['polls_served']}/{result['polls_expected']} "
            f"(sandbox p95 {result['sandbox_answer_p95_ms']} ms), "
            f"{result['cpu_ms_per_poll']} ms CPU/poll, "
            f"{result['rss_kb_per_trigger']} KB each, GC {result['gc_seconds']} s "
            f"(longest {max(result['gc_longest_ms'])} ms), events {result['events']}"
        )
        if not result["keeps_up"]:
            break
        best = size
    return best, runs
