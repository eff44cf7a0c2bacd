"""A webhook-driven load through a production cluster, and what it cost: the load run's engine.

:func:`run_load` starts one run of ``clipgen_load`` (``generations`` mapped
``ClipiaGenerateOperator`` tasks in webhook mode, spread over two connections whose webhooks go
to API server 0 and 1), waits for it while sampling how many tasks are deferred, and reports:

* wall time, and how many generations were in flight at once (sandbox clock: submitted, not yet
  delivered) and deferred at once (Airflow);
* resume latency: the receiver accepting the delivery (``received_at`` in the mailbox) to
  ``execute_complete`` starting (``resumed_at`` in the result), and how each task was resumed;
* money: submits, distinct idempotency keys and the account's usage, per generation;
* database load: the receiver's statements per delivery (the probe plugin) and the whole
  cluster's ``pg_stat_database`` counters per generation, net of an idle baseline taken first
  with the same sampling.

The suite runs it small (``tests/production/test_load.py``); ``load_run.py`` runs it big.
"""

from __future__ import annotations

import json
import re
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from clipgen_provider.sandbox.server import SandboxServer
from tests.production.cluster import ProductionCluster
from tests.production.services import STAT_COLUMNS

DAG_ID = "clipgen_load"
TASK_ID = "generate"
#: what the load sandbox signs its webhooks with
LOAD_SECRET = "whsec_load_7d1e93b0"
#: seconds between samples of the task states (the same during the baseline)
SAMPLE_SECONDS = 2.0
#: PostgreSQL publishes an idle backend's counters within about 10 s
STATS_SETTLE_SECONDS = 12.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))]


def _json(value: Any) -> Any:
    """An XCom value as stored: JSON, sometimes JSON-encoded once more."""
    return json.loads(value) if isinstance(value, str) else value


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


_ACCESS = re.compile(r"^(\S+) .*request finished .* method=(\w+) path=(\S+)")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def route(method: str, path: str) -> str:
    """A request's route: ids replaced by ``{id}``, an XCom path reduced to its key."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["execution", "xcoms"] and len(parts) > 5:
        parts = [*parts[:2], "…", *parts[5:]]
    return f"{method} /" + "/".join("{id}" if _UUID.fullmatch(part) else part for part in parts)


def api_requests(cluster: ProductionCluster, since: float, until: float) -> Counter[str]:
    """Requests the API servers answered between two UNIX times, by route (their access logs)."""
    routes: Counter[str] = Counter()
    for index in range(len(cluster.api_ports)):
        for line in (cluster.home / f"api-server-{index}.log").read_text(errors="replace").splitlines():
            match = _ACCESS.match(line)
            if match and since <= _epoch(match.group(1)) <= until:
                routes[route(match.group(2), match.group(3))] += 1
    return routes


@dataclass
class LoadPlan:
    """The load: how many generations, on which sandbox key and connections."""

    generations: int
    api_key: str
    conn_ids: list[str]


def prepare(cluster: ProductionCluster, sandbox: SandboxServer, generations: int) -> LoadPlan:
    """One sandbox key, and one connection per API server (its webhooks go there)."""
    api_key = f"clipia_test_load_{uuid.uuid4().hex}"
    conn_ids = []
    for index in range(len(cluster.api_ports)):
        conn_id = f"clipia_load_{index}"
        cluster.set_connection(
            conn_id,
            conn_type="clipia",
            host=sandbox.url,
            password=api_key,
            extra={"webhook_secrets": LOAD_SECRET, "webhook_base_url": cluster.api_url(index)},
        )
        conn_ids.append(conn_id)
    return LoadPlan(generations, api_key, conn_ids)


class Sampler:
    """Samples the load run's task states on one connection, at a fixed cadence."""

    def __init__(self, cluster: ProductionCluster, run_id: str) -> None:
        self.conn = cluster.database.connect()
        self.run_id = run_id
        self.samples = 0
        self.peak_deferred = 0

    def sample(self) -> tuple[str | None, Counter[str]]:
        """The run's state and its tasks' states now."""
        self.samples += 1
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT ti.state, count(*), min(dr.state) FROM dag_run dr "
                "LEFT JOIN task_instance ti ON ti.dag_id = dr.dag_id AND ti.run_id = dr.run_id "
                "AND ti.task_id = %s WHERE dr.dag_id = %s AND dr.run_id = %s GROUP BY ti.state",
                (TASK_ID, DAG_ID, self.run_id),
            )
            rows = cur.fetchall()
        states = Counter({str(state): int(count) for state, count, _ in rows if state is not None})
        self.peak_deferred = max(self.peak_deferred, states.get("deferred", 0))
        return (rows[0][2] if rows else None), states

    def idle(self, seconds: float) -> None:
        """Sample for ``seconds`` without a run (the baseline's share of the sampling cost)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.sample()
            time.sleep(SAMPLE_SECONDS)  # the sampling cadence, matched by the load phase

    def until_ended(self, timeout: float) -> str:
        """Sample until the run ended; return its state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state, _ = self.sample()
            if state in ("success", "failed"):
                return str(state)
            time.sleep(SAMPLE_SECONDS)
        raise TimeoutError(f"{DAG_ID}/{self.run_id} did not end within {timeout:.0f} s")

    def close(self) -> None:
        self.conn.close()


def _probe_totals(cluster: ProductionCluster) -> dict[str, Any]:
    """Receiver requests by status and statements by verb, summed over the API servers."""
    deliveries: Counter[str] = Counter()
    statements: Counter[str] = Counter()
    for stats in cluster.probe_stats():
        deliveries.update(stats["deliveries"])
        statements.update(stats["statements"])
    return {"deliveries": deliveries, "statements": statements}


def _per_generation(delta: dict[str, int], baseline_rate: dict[str, float], seconds: float, n: int) -> dict:
    raw = {key: round(delta[key] / n, 1) for key in STAT_COLUMNS}
    net = {key: round((delta[key] - baseline_rate[key] * seconds) / n, 1) for key in STAT_COLUMNS}
    return {"raw": raw, "net_of_idle_baseline": net}


def run_load(
    cluster: ProductionCluster,
    sandbox: SandboxServer,
    generations: int,
    *,
    baseline_seconds: float = 30.0,
    timeout: float = 1800.0,
) -> dict[str, Any]:
    """Run the load once; return the figures (see the module docstring) and the raw checks."""
    plan = prepare(cluster, sandbox, generations)
    cluster.wait_for_dags([DAG_ID])
    placeholder = Sampler(cluster, "no-run-yet")
    try:
        base_stats, base_clock = cluster.database.stats(), time.monotonic()
        placeholder.idle(baseline_seconds)
        start_stats, start_clock = cluster.database.stats(), time.monotonic()
    finally:
        placeholder.close()
    baseline_rate = {
        key: (start_stats[key] - base_stats[key]) / (start_clock - base_clock) for key in STAT_COLUMNS
    }
    probe_before = _probe_totals(cluster)
    tables_before = cluster.database.table_stats()
    started_at = time.time()
    run_id = cluster.trigger(DAG_ID, generations=generations, conn_ids=plan.conn_ids)
    sampler = Sampler(cluster, run_id)
    try:
        state = sampler.until_ended(timeout)
        time.sleep(STATS_SETTLE_SECONDS)  # let every backend publish its counters (see services.stats)
        end_stats, end_clock = cluster.database.stats(), time.monotonic()
    finally:
        sampler.close()
    probe_after = _probe_totals(cluster)
    tables = _table_deltas(tables_before, cluster.database.table_stats(), generations)
    requests = api_requests(cluster, started_at, time.time())
    delta = {key: end_stats[key] - start_stats[key] for key in STAT_COLUMNS}
    figures = {
        "generations": generations,
        "run_id": run_id,
        "run_state": state,
        "peak_deferred_sampled": sampler.peak_deferred,
        "db_per_generation": _per_generation(delta, baseline_rate, end_clock - start_clock, generations),
        "db_idle_baseline_per_second": {key: round(rate, 1) for key, rate in baseline_rate.items()},
        "db_tables_per_generation": tables,
        "api_requests_per_generation": {
            name: round(count / generations, 2)
            for name, count in requests.most_common()
            if count >= generations
        },
        "api_requests_total_per_generation": round(sum(requests.values()) / generations, 1),
    }
    figures.update(_airflow_side(cluster, run_id))
    figures.update(_sandbox_side(sandbox, plan, cluster))
    figures["receiver"] = _receiver_side(probe_before, probe_after)
    return figures


def _table_deltas(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], n: int) -> dict:
    """Per generation, the tables read or written most during the load (``pg_stat_user_tables``)."""
    deltas = {
        table: {key: (value - before.get(table, {}).get(key, 0)) / n for key, value in counters.items()}
        for table, counters in after.items()
    }
    busiest = sorted(deltas.items(), key=lambda item: -sum(item[1].values()))[:6]
    return {
        table: {key: round(value, 1) for key, value in counters.items() if value}
        for table, counters in busiest
    }


def _airflow_side(cluster: ProductionCluster, run_id: str) -> dict[str, Any]:
    """Task states and tries, wall time, resume latency and how tasks resumed (from the database)."""
    ((started, ended),) = cluster.database.query(
        "SELECT start_date, end_date FROM dag_run WHERE dag_id = %s AND run_id = %s", DAG_ID, run_id
    )
    tis = cluster.database.query(
        "SELECT map_index, state, try_number FROM task_instance WHERE dag_id = %s AND run_id = %s "
        "AND task_id = %s",
        DAG_ID,
        run_id,
        TASK_ID,
    )
    xcoms = cluster.database.query(
        "SELECT map_index, key, value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = %s "
        "AND key IN ('return_value', 'clipia_webhook')",
        DAG_ID,
        run_id,
        TASK_ID,
    )
    by_index: dict[int, dict[str, Any]] = {}
    for map_index, key, value in xcoms:
        by_index.setdefault(map_index, {})[key] = _json(value)
    latencies, request_ids = [], []
    via: Counter[str] = Counter()
    for entry in by_index.values():
        result, box = entry.get("return_value") or {}, entry.get("clipia_webhook") or {}
        via[str(result.get("via"))] += 1
        request_ids.append(result.get("request_id"))
        if result.get("via") == "push" and box.get("received_at"):
            latencies.append(float(result["resumed_at"]) - float(box["received_at"]))
    return {
        "wall_seconds": round((ended - started).total_seconds(), 1),
        "task_states": dict(Counter(state for _, state, _ in tis)),
        "tasks_retried": sum(1 for _, _, tries in tis if tries > 1),
        "resumed_via": dict(via),
        "request_ids": request_ids,
        "resume_latency_seconds": _summary(latencies),
    }


def _summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50": round(percentile(values, 0.50), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def _sandbox_side(sandbox: SandboxServer, plan: LoadPlan, cluster: ProductionCluster) -> dict[str, Any]:
    """What the sandbox saw: submits, charges, deliveries per API server, generations in flight."""
    submits = sandbox.calls(api_key=plan.api_key, method="POST", path="/v1/models/")
    account = httpx.get(
        f"{sandbox.url}/v1/account", headers={"Authorization": f"Bearer {plan.api_key}"}, timeout=30
    ).json()
    attempts = sandbox.webhook_attempts()
    accepted = [a for a in attempts if a["status_code"] == 200]
    per_request = Counter(a["request_id"] for a in accepted)
    servers = Counter(
        next((i for i in range(len(cluster.api_ports)) if a["url"].startswith(cluster.api_url(i))), -1)
        for a in accepted
    )
    events = [(_epoch(c["time"]), 1) for c in submits if c["status"] == 200]
    events += [(min(_epoch(a["sent_at"]) for a in attempts if a["request_id"] == r), -1) for r in per_request]
    in_flight = peak = 0
    for _, step in sorted(events):
        in_flight += step
        peak = max(peak, in_flight)
    submit_times = sorted(t for t, step in events if step == 1)
    return {
        "submits": len(submits),
        "submit_statuses": dict(Counter(str(c["status"]) for c in submits)),
        "distinct_idempotency_keys": len({c["idempotency_key"] for c in submits}),
        "account_requests": int(account["usage_30d"]["requests"]),
        "account_credits_spent": float(account["usage_30d"]["credits_spent"]),
        "delivery_attempts": len(attempts),
        "deliveries_accepted": len(accepted),
        "requests_with_one_accepted_delivery": sum(1 for count in per_request.values() if count == 1),
        "deliveries_per_api_server": {str(k): v for k, v in sorted(servers.items())},
        "peak_in_flight": peak,
        "submit_span_seconds": round(submit_times[-1] - submit_times[0], 1) if submit_times else 0.0,
    }


def _receiver_side(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    deliveries = after["deliveries"] - before["deliveries"]
    statements = after["statements"] - before["statements"]
    answered = sum(deliveries.values())
    return {
        "requests_by_status": dict(deliveries),
        "statements_by_verb": dict(statements),
        "statements_per_delivery": round(sum(statements.values()) / answered, 2) if answered else None,
    }
