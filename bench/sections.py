"""The Markdown of this benchmark's sections of ``docs/benchmarks.md``, rendered from the figures."""

from __future__ import annotations

from typing import Any

from bench import adaptive_report
from bench.triggers import CLIPWISE_JOBS_PER_KEY

#: the ``##`` sections this benchmark writes, in page order; any other section belongs to someone else
OWNED = (
    "Summary",
    "Triggers and polling",
    "Adaptive polling",
    "Worker slots and API calls",
    "Import cost",
    "Sandbox capacity",
    "What made the difference",
)

PREAMBLE = """
# Benchmarks

How the provider behaves under load, measured against the local sandbox over loopback on the
2-core machine the project is built on. Each `##` section belongs to one benchmark and says how it
was measured. *Summary* through *What made the difference* come from `make bench`
(`.venv/bin/python -m bench`, needs `pip install -e ".[bench]"`): it starts the sandbox itself,
takes 10 to 15 minutes, writes every figure to `docs/benchmarks.json` and rewrites only its own
sections here. Timings on a shared 2-core machine are noisy: the JSON records the machine's load
during the run.
"""


def _num(value: Any, digits: int = 0) -> str:
    """A figure for a table: thousands separated, ``—`` when not measured."""
    if value is None:
        return "—"
    if isinstance(value, int) or digits == 0:
        return f"{round(value):,}"
    return f"{value:,.{digits}f}"


def _max(value: int, sizes: list[int]) -> str:
    """A concurrency maximum: the size that held, or below the smallest size tried."""
    return f"{value:,}" if value else f"< {min(sizes):,}"


def _summary(r: dict[str, Any]) -> str:
    d = r["details"]
    sizes, peer_size = d["plan"]["sizes"], d["plan"]["peer_size"]
    flows = d["job_flows"]
    imports = d["imports"]
    interval = d["plan"]["poll_interval"]
    rows = [
        ("Figure (key in `benchmarks.json`)", "Ours", "Peer", "Peer is", "Goal"),
        ("---", "---", "---", "---", "---"),
        (
            f"Clipia triggers one loop keeps, {interval:g} s polls (`triggers_concurrent_max`)",
            _max(r["triggers_concurrent_max"], sizes),
            _max(r["http_sensor_triggers_concurrent_max"], sizes),
            "`HttpSensorTrigger`",
            "≥ 5,000",
        ),
        (
            "Clipwise triggers one loop keeps (`clipwise_triggers_concurrent_max`)",
            _max(r["clipwise_triggers_concurrent_max"], sizes),
            _max(r["http_sensor_triggers_concurrent_max"], sizes),
            "`HttpSensorTrigger`",
            "≥ 5,000",
        ),
        (
            "… the machine's floor: bare pollers on one shared aiohttp session, no Airflow "
            "(`floor_pollers_concurrent_max`)",
            _max(r["floor_pollers_concurrent_max"], sizes),
            "",
            "",
            "",
        ),
        (
            f"Memory per waiting trigger at {peer_size:,}, KB (`trigger_rss_kb_per_waiting`)",
            _num(r["trigger_rss_kb_per_waiting"], 1),
            _num(r["http_sensor_rss_kb_per_waiting"], 1),
            "`HttpSensorTrigger`",
            "≤ 50",
        ),
        (
            "… ours ÷ peer (`rss_ratio_vs_http_sensor`)",
            _num(r["rss_ratio_vs_http_sensor"], 2),
            "1",
            "",
            "≤ 1",
        ),
        (
            f"CPU per status poll at {peer_size:,}, ms (floor: {_num(r['floor_poll_cpu_ms'], 3)})",
            _num(r["poll_cpu_ms"], 3),
            _num(r["http_sensor_poll_cpu_ms"], 3),
            "`HttpSensorTrigger`",
            "",
        ),
        (
            "… ours ÷ peer (`poll_cpu_ratio_vs_http_sensor`)",
            _num(r["poll_cpu_ratio_vs_http_sensor"], 2),
            "1",
            "",
            "≤ 0.5",
        ),
        *adaptive_report.summary_rows(r),
        (
            f"API calls per {flows['job_seconds']:g} s job, fixed 5 s polls, even progress "
            "(`api_calls_per_job_poll`)",
            _num(r["api_calls_per_job_poll"]),
            _num(r["api_calls_per_job_blocking"]),
            f"SDK-style wait, {flows['blocking_poll_interval_s']:g} s polls",
            "",
        ),
        (
            f"API calls per {flows['job_seconds']:g} s job, webhook (`api_calls_per_job_webhook`)",
            _num(r["api_calls_per_job_webhook"], 1),
            _num(r["api_calls_per_job_poll"]),
            "ours, polling",
            "≤ 3",
        ),
        (
            "Webhook resume p95, s: delivery received → `execute_complete` (`webhook_resume_p95_s`)",
            _num(r["webhook_resume_p95_s"], 2),
            _num(r["webhook_resume_p95_s_default_scheduler"], 2),
            "same, Airflow's default `scheduler_idle_sleep_time` (1 s)",
            "≤ 1",
        ),
        (
            f"Worker-slot seconds per {flows['job_seconds']:g} s job (`worker_slot_s_per_job_deferrable`)",
            _num(r["worker_slot_s_per_job_deferrable"], 2),
            _num(r["worker_slot_s_per_job_blocking"], 1),
            "blocking `PythonOperator` (`worker_slot_s_per_job_blocking`)",
            "≤ 1",
        ),
        (
            "Operator import time ÷ peer's (`import_cost_ratio_vs_http_operator`)",
            f"{_num(r['import_cost_ratio_vs_http_operator'], 2)} ({imports['ours_seconds']:.2f} s)",
            f"1 ({imports['peer_seconds']:.2f} s)",
            "`HttpOperator`",
            "≤ 1.2",
        ),
        (
            "Sandbox capacity, status polls/s (`sandbox_requests_per_second`)",
            _num(r["sandbox_requests_per_second"]),
            f"{max(sizes) / interval:,.0f} needed",
            f"{max(sizes):,} triggers at {interval:g} s",
            "",
        ),
    ]
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    machine, quiet = d["machine"], d["quiet"]
    packages = machine["packages"]
    return f"""{table}

Webhook mode: {r["notes"]["api_calls_per_job_webhook"]}. Resume latency:
{r["notes"]["webhook_resume_p95_s"]} (p50 {_num(r["webhook_resume_p50_s"], 2)} s).

Measured {d["started_at"]} in {d["duration_s"] // 60} min {d["duration_s"] % 60} s on {machine["cpus"]} x
{machine["cpu_model"]}, Python {machine["python"]}, Airflow {packages["apache-airflow"]},
apache-airflow-providers-http {packages["apache-airflow-providers-http"]}, httpx {packages["httpx"]},
httpx-aiohttp {packages["httpx-aiohttp"]}, aiohttp {packages["aiohttp"]}. CPU pressure before the trigger
runs {quiet["cpu_pressure_avg10"]} % (waited {quiet["waited_s"]} s for a quiet machine), load average
{d["load_before"]["loadavg_1m"]} before and {d["load_after"]["loadavg_1m"]} after, the benchmark's
processes at niceness {d.get("niceness", 0)}. Command: `.venv/bin/python -m bench{_nice_option(d)}`
(`make bench` runs it without options)."""


def _nice_option(details: dict[str, Any]) -> str:
    niceness = details.get("niceness", 0)
    return f" --nice {niceness}" if niceness else ""


def _run_rows(runs: dict[str, list[dict[str, Any]]]) -> str:
    header = (
        "| Trigger | Count | Lag p50 / p99 / max, ms | Polls served / expected | Sandbox answer p95, ms "
        "| CPU per poll, ms | Memory per trigger, KB | GC pauses gen 0/1/2, s (longest, ms) | Held |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    lines = [header]
    for kind_runs in runs.values():
        for run in kind_runs:
            gc_seconds = "/".join(f"{value:.2f}" for value in run["gc_seconds"])
            lines.append(
                f"| {run['label']} | {run['triggers']:,} "
                f"| {run['lag_p50_ms']:.0f} / {run['lag_p99_ms']:.0f} / {run['lag_max_ms']:.0f} "
                f"| {run['polls_served']:,} / {run['polls_expected']:,} ({run['served_ratio']:.0%}) "
                f"| {run['sandbox_answer_p95_ms']:.0f} "
                f"| {_num(run['cpu_ms_per_poll'], 3)} | {run['rss_kb_per_trigger']:.1f} "
                f"| {gc_seconds} ({max(run['gc_longest_ms']):.0f}) | {'yes' if run['keeps_up'] else 'no'} |"
            )
    return "\n".join(lines)


def _triggers(r: dict[str, Any]) -> str:
    d = r["details"]
    plan = d["plan"]
    clipwise_per_key = CLIPWISE_JOBS_PER_KEY
    return f"""**What is measured.** A fresh child process runs N triggers in one asyncio loop the way
Airflow's triggerer does: one task per trigger's `run()`, created one after another with a yield to
the loop in between (as `TriggerRunner.create_triggers` does), each task first opening a greenback
portal (as `TriggerRunner.run_trigger` does; greenback on: {"yes" if plan["greenback"] else "no"}).
Every trigger waits for its own sandbox job, which runs for an hour, so none ends while measured, and
polls every {plan["poll_interval"]:g} s. After a {plan["warmup"]:g} s warm-up (the start-up burst is not
the steady state) a {plan["window"]:g} s window is measured:

* **lag**: a task sleeping 20 ms over and over records how late the loop wakes it; p99 of those;
* **polls served**: the sandbox's own call log, status answers given in the window, against N x
  window ÷ interval expected, with the sandbox's 95th-percentile answer time (it must stay small:
  the sandbox, not the loop, would otherwise be what is measured);
* **CPU per poll**: the process's CPU seconds in the window ÷ polls served, so everything the loop
  did for them counts (HTTP, JSON, timers, logging, garbage collection);
* **memory per trigger**: (resident memory at the end of the window minus before the first trigger,
  after imports and one connection lookup) ÷ N; the shared connection pool is in it;
* **GC pauses**: seconds spent in collections of each generation, and the longest pause.

A size is held when lag p99 < 100 ms, at least 95 % of the expected polls were served and no trigger
ended. Clipia triggers share one connection. Clipwise jobs are spread over one API key (and
connection) per {clipwise_per_key} jobs, as many teams' connections would be (and because the Clipwise
sandbox once slowed down with a key's generation count: see *Sandbox capacity*).
Sizes are tried smallest first, stopping at the first that is not held. The triggers log at
INFO to a file, as in a triggerer. Connections come from `AIRFLOW_CONN_*` environment variables:
outside a triggerer there are no Task SDK comms for `aget_connection`.

**The peer** is the http provider's `HttpSensorTrigger`, polling the same sandbox route
(`GET /v1/requests/<id>/status`) in the same loop setup. It fires on any answer but 404, so it is
pointed at unknown request ids and keeps waiting; it opens a new aiohttp session (and connection) for
every poke, and logs a warning for each 404.

**The floor** is what this machine allows at all: one bare coroutine per job that GETs the status
over a single shared aiohttp session, decodes it and sleeps the jittered interval, with no Airflow,
httpx or provider code (but the same greenback portal, loop and sandbox). No trigger can do better;
where the floor does not hold a size, neither can anything else on this machine at that time.

{_run_rows(d["trigger_runs"])}"""


def _slots(r: dict[str, Any]) -> str:
    flows = r["details"]["job_flows"]
    ours, blocking = flows["deferrable"], flows["blocking"]
    calls, blocking_calls = ours["api_calls"], blocking["api_calls"]
    return f"""One generation of {flows["job_seconds"]:g} s (sandbox queue + run time) is run two ways at
once, outside a worker, calling the operators as the task runner does:

* **ours**: `ClipiaGenerateOperator(deferrable=True, poll_interval={flows["poll_interval_s"]:g},
  poll_schedule="fixed")` (the adaptive default is measured in *Adaptive polling*).
  `execute()` submits and raises `TaskDeferred` ({ours["execute_seconds"]:.3f} s, including the first
  use of the HTTP client); the trigger waits {ours["trigger_wait_seconds"]:.1f} s on no worker slot;
  `execute_complete()` reads the result ({ours["execute_complete_seconds"]:.3f} s). Worker-slot time =
  the two: **{ours["slot_seconds"]:.2f} s**.
* **blocking**: a `PythonOperator` whose callable does what the official SDKs' `subscribe()` does:
  submit, poll the status every {flows["blocking_poll_interval_s"]:g} s until it ends, fetch the
  result. The slot is held the whole time: **{blocking["slot_seconds"]:.1f} s**.

The deferrable slot time does not grow with the job: whatever the length, it is one submit and one
result read (a 1 s job measures the same); the blocking one grows one second per second. Not counted
on either side: the task-process start a worker pays per run (the deferrable task runs twice).

**API calls** (the sandbox's call log, one key per way): ours {calls["total"]} = {calls.get("submit", 0)}
submit + {calls.get("status", 0)} status polls + {calls.get("result", 0)} result read; the blocking wait
{blocking_calls["total"]} = {blocking_calls.get("submit", 0)} + {blocking_calls.get("status", 0)} +
{blocking_calls.get("result", 0)}. A fixed interval costs one call per interval; the adaptive
default costs {_num(r["adaptive_api_calls_per_60s_job"], 1)} per 60 s render (see *Adaptive polling*).
The webhook mode
(`wait_for_webhook=True`) replaces the polls with one signed delivery and a safety-net poll
(first 60 s after deferring, then at doubling pauses up to 600 s):
{_num(r["api_calls_per_job_webhook"], 1)} calls per job ({_webhook_kinds(r)}), measured on a real
deployment because the receiver must run on an API server: {r["notes"]["api_calls_per_job_webhook"]}."""


def _webhook_kinds(r: dict[str, Any]) -> str:
    kinds = r["details"]["webhook"].get("by_kind")
    if not kinds:
        return "not measured"
    return ", ".join(f"{kind} {count:g}" for kind, count in sorted(kinds.items()))


def _imports(r: dict[str, Any]) -> str:
    imports = r["details"]["imports"]
    return f"""Best of {imports["runs"]} fresh interpreters each, alternating, timing the import statement
inside the interpreter: `{imports["ours_statement"]}` **{imports["ours_seconds"]:.2f} s** against
`{imports["peer_statement"]}` **{imports["peer_seconds"]:.2f} s**, a ratio of
**{imports["ratio"]:.2f}**. Both are mostly `airflow.sdk`; our operator modules import their hooks,
triggers and HTTP stack (httpx, aiohttp) only when a task runs, so DAG parsing pays for none of it."""


def _sandbox(r: dict[str, Any]) -> str:
    throughput = r["details"]["throughput"]
    rates = ", ".join(f"{rate:,}/s at {level}" for level, rate in throughput["requests_per_second"].items())
    clipwise = ", ".join(
        f"{rate:,}/s at {level}" for level, rate in throughput["clipwise_requests_per_second"].items()
    )
    sizes = r["details"]["plan"]["sizes"]
    interval = r["details"]["plan"]["poll_interval"]
    needed = max(sizes) / interval
    return f"""The sandbox must not be what limits the trigger runs. A closed loop of raw aiohttp clients
(a fixed number of requests always in flight, {throughput["seconds_each"]:g} s per level) reads one
job's status. Clipia request status: {rates} in flight. {max(sizes):,} triggers polling every
{interval:g} s need {needed:,.0f} polls/s, so the sandbox has {throughput["best"] / needed:.1f} times
that on its one core; each run's table row also gives the sandbox's answer time. It runs uvicorn with
uvloop and httptools, the Clipia status route is a plain Starlette endpoint writing its JSON without
FastAPI's encoder, and the call-log and fault middlewares are pure ASGI.

Clipwise generation, on a key holding {throughput["clipwise_generations_on_the_key"]} generations:
{clipwise} in flight. The Clipwise sandbox settles an account (adds the media records of jobs
that completed) on every authenticated request. It used to walk all of the key's generations, so
its answers slowed down with their count: 3,958 reads/s with 1 generation on the key, 2,039 with
500 and 435 with 5,000 (50 in flight, measured on this machine while a test suite ran). It now
looks only at jobs whose end has passed, kept in a heap by end time (`Account.settle` in
`sandbox/clipwise/state.py`): 4,599, 4,696 and 2,223 reads/s in the same conditions, enough for
5,000 Clipwise triggers on one key."""


def _difference(r: dict[str, Any]) -> str:
    runs = r["details"]["trigger_runs"]
    largest = {kind: max(kind_runs, key=lambda run: run["triggers"]) for kind, kind_runs in runs.items()}
    ours, floor = largest["clipia"], largest["aiohttp_floor"]
    return f"""Measured while building this benchmark, on this machine, Clipia triggers with greenback on
(single runs on a shared machine, so read the trends, not the digits):

1. **A lean `send` on the loop's shared client.** Every async call went through httpx's full
   `AsyncClient.send`: an auth-flow generator, a redirect loop, a cookie jar (which builds urllib
   request and response objects for every answer) and a log call. Our calls use none of them, so the
   shared client (`_PollingAsyncClient` in `hooks/_transport.py`) asks the transport httpx would
   choose (`_transport_for_url`, which test mocks replace as well) and reads the body, nothing else.
   It keeps no cookies either, so one credential's answers never shape another's requests.
2. **A poll goes straight over aiohttp.** A plain GET (a status poll) is built once per trigger and
   reused (`ApiTransport._plain_get`), sent on the transport's own aiohttp session, and a 2xx JSON
   answer is decoded without building any httpx response object (`_PollingAsyncClient.poll`); any
   other answer (an error, an empty or compressed body) becomes an httpx response and takes the usual
   checks. At 1,000 triggers CPU per poll went from about 1.5 ms (httpx's `request`) to 0.9 ms with 1
   and the reused request, and to about 0.65 ms with 2; young-generation collections in a 20 s
   window from about 180 to 10 to 20.
3. **Less garbage, fewer long pauses.** What decided 5,000 was not the average CPU but the pauses:
   each full collection walks every live object (over half a million with 5,000 triggers and Airflow
   loaded) and took 0.3 to 2 s on this virtual machine. Objects that live through a collection are
   promoted, and enough promotions trigger the next full one; fewer objects per poll mean fewer of
   them. Back to back at 5,000 (on a busy machine): httpx response objects per poll 8 full
   collections in 30 s (5.1 s of pauses), direct decoding 5 (2.3 s). In this run, at
   {ours["triggers"]:,}: {ours["gc_collections"][2]} full collections, longest pause
   {max(ours["gc_longest_ms"]):.0f} ms, lag p99 {ours["lag_p99_ms"]:.0f} ms.
4. **One connection lookup per loop and connection.** `JobPollingTrigger.open_hook` takes the
   connection from `LoopConnections` (`triggers/_polling.py`): the first trigger of a loop looks
   `conn_id` up and the others wait for that answer; successful lookups are kept 30 s. Through the
   environment backend a lookup costs about 1.2 ms here (0.5 ms CPU, run in a thread by asgiref), so
   5,000 starts spent about 6 s on lookups; in a triggerer each is a round trip to the supervisor and
   on to a secrets backend or the database. The key stays in process memory that holds it anyway,
   and one triggerer serves one team, so a `conn_id` names one connection in it.
5. **Already in place:** one aiohttp connection pool per loop for all triggers (the http
   provider's trigger opens a session and a connection per poke), jittered poll times, one log line
   per status change rather than per poll, lazy imports of the HTTP stack in the operator modules.

**What is left** is mostly the machine: the floor (bare pollers on one aiohttp session, no Airflow)
spent {_num(floor["cpu_ms_per_poll"], 3)} ms per poll at {floor["triggers"]:,}, against our
{_num(ours["cpu_ms_per_poll"], 3)} ms, and reached lag p99 {floor["lag_p99_ms"]:.0f} ms itself; a
loopback `send` system call alone is about a third of a poll's CPU on this virtual machine. So
5,000 waits at 5 s polls is close to what one loop can hold here, whatever the trigger."""


def render_sections(results: dict[str, Any]) -> dict[str, str]:
    """Our sections' Markdown bodies, keyed by title."""
    return {
        "Summary": _summary(results),
        "Triggers and polling": _triggers(results),
        "Adaptive polling": adaptive_report.render(results),
        "Worker slots and API calls": _slots(results),
        "Import cost": _imports(results),
        "Sandbox capacity": _sandbox(results),
        "What made the difference": _difference(results),
    }
