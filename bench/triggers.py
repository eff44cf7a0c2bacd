"""Parent side of the trigger benchmarks: jobs on the sandbox, one child loop per run, served polls.

:func:`run_load` starts ``count`` jobs' worth of triggers of one kind in a fresh child process
(:mod:`bench.trigger_load`) and combines what the child measured (lag, CPU, memory) with what the
sandbox's call log says it served in the same window. :func:`find_max` walks the sizes upwards
and keeps the largest one the loop handled.
"""

from __future__ import annotations

import datetime
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


def new_api_key(kind: TriggerKind) -> str:
    """A fresh key: the sandbox keeps one account per key, so runs never share jobs."""
    prefix = "cw_bench_" if kind.name == "clipwise" else "clipia_test_bench_"
    return prefix + uuid.uuid4().hex


def prepare_jobs(sandbox: SandboxServer, kind: TriggerKind, api_key: str, count: int) -> list[str]:
    """Ids for ``count`` triggers to wait on: running jobs, or unknown ids for the 404-polling peer."""
    if kind.name == "http_sensor":
        return [f"bench-missing-{index}" for index in range(count)]
    sandbox.update_settings(queue_seconds=0.0, run_seconds=JOB_RUN_SECONDS, initial_credits=1e9)
    return submit_jobs(kind.name, sandbox.url, api_key, count)


def _epoch(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def served_polls(sandbox: SandboxServer, kind: TriggerKind, start: float, end: float) -> int:
    """Polls of ``kind`` the sandbox answered as expected between ``start`` and ``end``."""
    calls = sandbox.calls(method="GET", path=kind.poll_path, status=str(kind.poll_status))
    return sum(1 for call in calls if start <= _epoch(call["time"]) < end)


REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ChildRun:
    """What one child run left behind: its figures and how many log lines the triggers wrote."""

    figures: dict[str, Any]
    log_lines: int


def _child(spec: dict[str, Any], env: dict[str, str]) -> ChildRun:
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


def run_load(
    sandbox: SandboxServer, kind_name: str, job_ids: list[str], api_key: str, plan: LoadPlan
) -> dict[str, Any]:
    """Run ``len(job_ids)`` triggers of one kind in one child loop; return the run's figures."""
    kind = KINDS[kind_name]
    count = len(job_ids)
    spec = {
        "kind": kind.name,
        "job_ids": job_ids,
        "api_key": api_key,
        "poll_interval": plan.poll_interval,
        "warmup": plan.warmup,
        "window": plan.window,
        "greenback": plan.greenback,
    }
    sandbox.clear_calls()
    child = _child(spec, kind.connection_env(sandbox.url, api_key))
    figures = child.figures
    window = figures["window_end"] - figures["window_start"]
    served = served_polls(sandbox, kind, figures["window_start"], figures["window_end"])
    expected = count * window / plan.poll_interval
    result = {
        "kind": kind.name,
        "label": kind.label,
        "triggers": count,
        "poll_interval_s": plan.poll_interval,
        "window_s": round(window, 2),
        "polls_served": served,
        "polls_expected": round(expected),
        "served_ratio": round(served / expected, 3) if expected else 0.0,
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
    api_key = new_api_key(kind)
    job_ids = prepare_jobs(sandbox, kind, api_key, max(sizes))
    best, runs = 0, []
    for size in sorted(sizes):
        result = run_load(sandbox, kind_name, job_ids[:size], api_key, plan)
        runs.append(result)
        log(
            f"  {kind.label} x{size}: lag p99 {result['lag_p99_ms']} ms, served "
            f"{result['polls_served']}/{result['polls_expected']}, {result['cpu_ms_per_poll']} ms CPU/poll, "
            f"{result['rss_kb_per_trigger']} KB each, GC {result['gc_seconds']} s "
            f"(longest {max(result['gc_longest_ms'])} ms), events {result['events']}"
        )
        if not result["keeps_up"]:
            break
        best = size
    return best, runs
