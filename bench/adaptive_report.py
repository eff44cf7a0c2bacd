"""The *Adaptive polling* section of ``docs/benchmarks.md`` and its rows of the summary table."""

from __future__ import annotations

from typing import Any

from clipgen_provider.triggers._schedule import NEAR_PACE

#: the issue's goals for the adaptive schedule: (figure key, comparison, bound or the key it must not exceed)
GOALS: tuple[tuple[str, str, str], ...] = (
    ("adaptive_api_calls_per_60s_job", "≤ 5", "5"),
    ("adaptive_api_calls_per_10min_job", "≤ 10", "10"),
    ("adaptive_notice_delay_p95_s", "≤ fixed", "fixed_notice_delay_p95_s"),
    ("adaptive_notice_delay_p95_s_short_jobs", "≤ fixed", "fixed_notice_delay_p95_s_short_jobs"),
    ("adaptive_triggers_concurrent_max", "≥ 15,000", "15000"),
)


def goal_met(r: dict[str, Any], key: str, bound: str) -> bool:
    """Whether figure ``key`` meets its goal (``bound``: a number, or the key of the fixed figure)."""
    limit = float(r[bound]) if bound in r else float(bound)
    return r[key] >= limit if key == "adaptive_triggers_concurrent_max" else r[key] <= limit


def summary_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """The summary table's rows for the adaptive schedule: ours, the fixed interval beside it, goal."""
    fixed = "fixed 5 s interval, same jobs"
    return [
        (
            "API calls per 60 s render, adaptive (`adaptive_api_calls_per_60s_job`)",
            f"{r['adaptive_api_calls_per_60s_job']:.1f}",
            f"{r['fixed_api_calls_per_60s_job']:.1f}",
            fixed,
            "≤ 5",
        ),
        (
            "API calls per 10-minute render, adaptive (`adaptive_api_calls_per_10min_job`)",
            f"{r['adaptive_api_calls_per_10min_job']:.1f}",
            f"{r['fixed_api_calls_per_10min_job']:.1f}",
            fixed,
            "≤ 10",
        ),
        (
            "Job end → noticed, p95 s, renders (`adaptive_notice_delay_p95_s`)",
            f"{r['adaptive_notice_delay_p95_s']:.2f}",
            f"{r['fixed_notice_delay_p95_s']:.2f}",
            f"{fixed} (`fixed_notice_delay_p95_s`)",
            "≤ fixed",
        ),
        (
            "… jobs of 10 s or less (`adaptive_notice_delay_p95_s_short_jobs`)",
            f"{r['adaptive_notice_delay_p95_s_short_jobs']:.2f}",
            f"{r['fixed_notice_delay_p95_s_short_jobs']:.2f}",
            f"{fixed} (`fixed_notice_delay_p95_s_short_jobs`)",
            "≤ fixed",
        ),
        (
            "Waits of 60 s renders one loop keeps, adaptive (`adaptive_triggers_concurrent_max`)",
            _count(r["adaptive_triggers_concurrent_max"], r["details"]["adaptive"]["plan"]["load_sizes"]),
            f"{r['triggers_concurrent_max']:,}",
            "fixed 5 s polls (`triggers_concurrent_max`)",
            "≥ 15,000",
        ),
    ]


def _count(value: int, sizes: list[int]) -> str:
    return f"{value:,}" if value else f"< {min(sizes):,}"


def _delays(figures: dict[str, Any]) -> str:
    d = figures["notice_delay_s"]
    return f"{d['p50']:.2f} / {d['p95']:.2f} / {d['p99']:.2f} / {d['max']:.1f}"


def _stream_rows(streams: dict[str, Any]) -> str:
    lines = [
        "| Stream | Schedule | Jobs | API calls per job: mean (first jobs, no history yet) / p95 "
        "| Job end → noticed, s: p50 / p95 / p99 / max |",
        "|---|---|---|---|---|",
    ]
    for name, by_schedule in streams["runs"].items():
        for schedule, figures in by_schedule.items():
            cold = figures["calls_mean_cold"]
            first = f" ({cold:.1f}, {figures['cold_jobs']} jobs)" if schedule == "adaptive" and cold else ""
            lines.append(
                f"| {name} (mean {figures['job_seconds_mean']:g} s) | {schedule} | {figures['jobs']:,} "
                f"| {figures['calls_mean']:.1f}{first} / {figures['calls_p95']} | {_delays(figures)} |"
            )
    return "\n".join(lines)


def _even_rows(even: dict[str, Any]) -> str:
    lines = [
        "| Stream, even timelines | Schedule | API calls per job | Job end → noticed, s: p50 / p95 / max |",
        "|---|---|---|---|",
    ]
    for name, by_schedule in even.items():
        for schedule, figures in by_schedule.items():
            d = figures["notice_delay_s"]
            lines.append(
                f"| {name} | {schedule} | {figures['calls_mean']:.1f} "
                f"| {d['p50']:.2f} / {d['p95']:.2f} / {d['max']:.1f} |"
            )
    return "\n".join(lines)


def _kind_rows(streams: dict[str, Any], names: list[str]) -> str:
    header = "| Kind of job | " + " | ".join(f"{name}: calls, end → noticed p95 s" for name in names) + " |"
    lines = [header, "|---|" + "---|" * len(names)]
    kinds = streams["runs"][names[0]]["adaptive"]["by_kind"]
    for kind in kinds:
        cells = []
        for name in names:
            row = streams["runs"][name]["adaptive"]["by_kind"].get(kind)
            cells.append(f"{row['calls_mean']:.1f}, {row['notice_delay_p95_s']:.1f}" if row else "—")
        lines.append(f"| {kind} ({kinds[kind]['jobs']} of {names[0]}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _sweep_rows(sweep: list[dict[str, Any]], names: list[str]) -> str:
    lines = [
        "| `max_poll_interval`, s | "
        + " | ".join(f"calls per job, {name}" for name in names)
        + " | end → noticed p95, s |",
        "|---|" + "---|" * (len(names) + 1),
    ]
    for row in sweep:
        cells = " | ".join(f"{row[name]:.1f}" for name in names)
        lines.append(f"| {row['max_poll_interval']:g} | {cells} | {row['notice_delay_p95_s']:.2f} |")
    return "\n".join(lines)


def _live_rows(live: dict[str, Any]) -> str:
    lines = [
        "| Schedule | Calls per job, real time | … virtual time | End → noticed p50 / p95 s, real time "
        "| … virtual time |",
        "|---|---|---|---|---|",
    ]
    for schedule in ("adaptive", "fixed"):
        real, virtual = live["live"][schedule], live["virtual"][schedule]
        lines.append(
            f"| {schedule} | {real['calls_mean']:.2f} | {virtual['calls_mean']:.2f} "
            f"| {real['notice_delay_s']['p50']:.2f} / {real['notice_delay_s']['p95']:.2f} "
            f"| {virtual['notice_delay_s']['p50']:.2f} / {virtual['notice_delay_s']['p95']:.2f} |"
        )
    return "\n".join(lines)


def _load_rows(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| Waits | Lag p50 / p99 / max, ms | Polls served (per wait-minute) | Jobs ended | Loop CPU "
        "| CPU per poll, ms | Memory per wait, KB | Sandbox answer p95, ms "
        "| Machine before: load, CPU pressure | Held |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lag = f"{run['lag_p50_ms']:.0f} / {run['lag_p99_ms']:.0f} / {run['lag_max_ms']:.0f}"
        per_poll = "—" if run["cpu_ms_per_poll"] is None else f"{run['cpu_ms_per_poll']:.3f}"
        lines.append(
            f"| {run['waits']:,} | {lag} "
            f"| {run['polls_served']:,} ({run['polls_per_wait_minute']:.2f}) | {run['jobs_ended']:,} "
            f"| {run['cpu_share']:.0%} | {per_poll} "
            f"| {run['rss_kb_per_wait']:.1f} | {run['sandbox_answer_p95_ms']:.0f} "
            f"| {run['quiet']['loadavg_1m']}, {run['quiet']['cpu_pressure_avg10']} % "
            f"| {'yes' if run['keeps_up'] else 'no'} |"
        )
    return "\n".join(lines)


def _goals(r: dict[str, Any]) -> str:
    lines = []
    for key, words, bound in GOALS:
        limit = f" (fixed: {r[bound]:g})" if bound in r else ""
        verdict = "met" if goal_met(r, key, bound) else "**not met**"
        lines.append(f"* `{key}` {words}: {r[key]:,g}{limit}, {verdict}.")
    if not all(goal_met(r, key, bound) for key, _, bound in GOALS):
        lines.append(
            "\nWhat a goal missed here comes from is in the tables below: the kinds of job that surprise "
            "the schedule (by kind), and the same streams on even timelines, where nothing surprises it."
        )
    return "\n".join(lines)


def render(r: dict[str, Any]) -> str:
    """The section's Markdown, from the report's figures."""
    a = r["details"]["adaptive"]
    streams, plan, live = a["streams"], a["plan"], a["live"]
    names = list(streams["runs"])
    renders = names[:-1]
    job = plan["load_job"]
    return f"""`poll_schedule="adaptive"` (the default) against `poll_schedule="fixed"` (a status poll every
5 s, the operators' default interval and the provider's only behaviour before), on the same jobs:
the sandbox's `realism` timelines, seed {plan["seed"]}: progress that starts slowly, wobbles, stalls
and jumps, queues whose positions move, and a fifth of the jobs whose end an estimate gets wrong
(they run two to three times as long, sit at 90-99 % for the last fifth of their run, or end while
their progress says 60-85 %): see [the sandbox](sandbox.md#realistic-timelines) and
[Polling](polling.md) for the schedule itself. Measured {a["started_at"]} in {a["duration_s"] // 60} min
{a["duration_s"] % 60} s (`.venv/bin/python -m bench --only adaptive` runs this section alone).

{_goals(r)}

**Calls and notice delay, in virtual time.** A 10-minute job cannot be waited for hundreds of times
in a benchmark of reasonable length, so these waits run in virtual time: an asyncio event loop
whose clock jumps to the next timer instead of sleeping (`bench/virtual_time.py`; `time.time` follows
it). Nothing else is simulated. Each stream submits its jobs, one every few seconds, to the
sandbox's own Clipia job store (`ClipiaStore`, the code behind its HTTP routes, `realism` on), and one
second after each submit a real `ClipiaRequestTrigger` starts waiting for it with the kwargs
`ClipiaGenerateOperator` gives it (schedule, submit time, job kind); only its HTTP GET is replaced by a
direct read of the store's status answer, mapped by the hook's own `clipia_job_state`. A stream's
triggers share one loop and the process's duration history, as in a triggerer, so the first jobs of
a stream wait without history ("first jobs"). API calls per job = 1 submit + the trigger's status
polls + 1 result read (as `api_calls_per_job_poll` counts them); the notice delay is the job's end
in the store → the trigger's event. The p95 over the renders pools both render streams; the short
jobs are those of the short stream that took 10 s or less ({streams["short_jobs"]:,} jobs). The
seed also seeds the triggers' jitter, so these figures repeat exactly from run to run.

{_stream_rows(streams)}

By kind of timeline, adaptive: what the surprises cost. Jobs that end while their progress says
60-85 % (`early_end`) cannot be seen coming and are noticed up to one longest pause late; jobs stuck
near the end (`stuck_tail`) are read every {NEAR_PACE:g} of the interval until they end, as the
schedule reads any job whose earliest plausible end has passed (so that those ends are noticed no
later than a fixed interval would notice them).

{_kind_rows(streams, renders)}

For comparison, the same render streams on the sandbox's default, even timelines (every job
exactly as long, progress rising evenly): the schedule's best case, not a measurement of it.

{_even_rows(a["even"])}

**The longest pause is the trade-off.** `max_poll_interval` bounds how late an end is noticed in
the worst case; the same render streams with other values:

{_sweep_rows(a["longest_sweep"], renders)}

**Checked in real time.** The stream "{live["profile"]["name"]}" ({live["profile"]["jobs"]} jobs, one every
{live["profile"]["spacing"]:g} s) was also run for real: real triggers polling the sandbox process over
loopback, calls counted in its call log, each schedule on its own API key (so on the same seeded
jobs), then in virtual time as above:

{_live_rows(live)}

**Concurrent waits of 60 s renders.** The fixed-interval trigger runs wait for hour-long jobs that
never end while measured; the adaptive schedule's poll rate depends on where each job is, so here
each of N waits in one loop submits a realistic {job[0] + job[1]:g} s render ({job[0]:g} s queue +
{job[1]:g} s run on average), waits for it with the trigger as `ClipiaGenerateOperator` defers to it
(greenback portal, logging at INFO to a file, as in the triggerer), and starts over when it ends: a
triggerer whose waits are renewed as they end (the submits, which a triggerer does not make, run on
the same loop). The waits start one after another over one job length; after that and
{plan["load_settle"]:g} s more, a {plan["load_window"]:g} s window is measured. A size is held when the
loop's lag p99 stays under 100 ms and every wait ended in success. Sizes are tried smallest first,
each after waiting (up to 5 minutes) for the shared machine's CPU pressure to drop under 20 %; the
table gives the load each started under (the CPU time and lag of a loop with busy neighbours are
theirs as much as its own). CPU per poll counts everything the loop did, the submits included.

{_load_rows(a["load_runs"])}{_carried(a)}"""


def _carried(a: dict[str, Any]) -> str:
    """Where the load runs come from when they were carried over from an earlier run."""
    note = a.get("load_runs_note")
    return f"\n\n{note}" if note else ""
