"""The production load run: N concurrent webhook-driven generations through a full cluster.

Run from the repository root, with PostgreSQL and Redis on loopback (about 20 minutes for 500
on a shared 2-core machine)::

    .venv/bin/python -m tests.production.load_run --generations 500

It creates a fresh PostgreSQL database and Redis namespace, starts a sandbox whose jobs run
``--run-seconds`` (long enough for every submit to land before the first job ends, so all the
generations are in flight at once), starts the production cluster (two API servers, schedulers,
triggerers and Celery workers, one DAG processor) with the load settings below, runs
:func:`tests.production.load.run_load` once, prints the figures as JSON (also written to
``load-run.json`` in the run directory, which keeps every log), and removes the database and
the Redis keys. Exits non-zero when a generation failed or was not paid for exactly once.
``--setting SECTION__KEY=VALUE`` overrides an Airflow setting on every component.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clipgen_provider.sandbox.server import SandboxServer
from tests.production.cluster import ProductionCluster
from tests.production.load import LOAD_SECRET, run_load
from tests.production.services import MetadataDatabase, RedisNamespace, require_services

#: Airflow settings of the load run, over the suite's (see docs/deployment.md)
LOAD_SETTINGS = {
    # a busy API server can delay heartbeats: do not take a slow heartbeat for a dead worker
    "SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "120",
}


def healthy(figures: dict[str, Any]) -> list[str]:
    """What went wrong, in words (empty when every generation succeeded and was paid once)."""
    n = figures["generations"]
    checks = {
        "the run succeeded": figures["run_state"] == "success",
        "every task succeeded": figures["task_states"] == {"success": n},
        "one submit per generation": figures["submits"] == n == figures["distinct_idempotency_keys"],
        "one charge per generation": figures["account_requests"] == n,
        "one accepted delivery per generation": figures["requests_with_one_accepted_delivery"] == n,
    }
    return [name for name, ok in checks.items() if not ok]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--generations", type=int, default=500, help="mapped generations (default 500)")
    parser.add_argument("--run-seconds", type=float, default=600.0, help="sandbox job duration (default 600)")
    parser.add_argument(
        "--worker-concurrency", type=int, default=4, help="slots per Celery worker (default 4)"
    )
    parser.add_argument("--baseline-seconds", type=float, default=60.0, help="idle baseline (default 60)")
    parser.add_argument("--setting", action="append", default=[], help="Airflow setting SECTION__KEY=VALUE")
    args = parser.parse_args(argv)
    settings = {**LOAD_SETTINGS, **dict(item.split("=", 1) for item in args.setting)}

    require_services()
    run_dir = Path(tempfile.mkdtemp(prefix="clipgen-load-run-"))
    database, broker = MetadataDatabase.create(), RedisNamespace.create()
    sandbox_args = (
        "--webhook-secret",
        LOAD_SECRET,
        "--queue-seconds",
        "0.2",
        "--run-seconds",
        str(args.run_seconds),
    )
    started = time.monotonic()
    try:
        with (
            SandboxServer(*sandbox_args, log_path=run_dir / "sandbox.log") as sandbox,
            ProductionCluster(
                run_dir / "airflow",
                database,
                broker,
                worker_concurrency=args.worker_concurrency,
                settings=settings,
            ) as cluster,
        ):
            ready = time.monotonic() - started
            figures = run_load(cluster, sandbox, args.generations, baseline_seconds=args.baseline_seconds)
    finally:
        broker.clear()
        database.drop()
    figures.pop("request_ids")
    figures["cluster_start_seconds"] = round(ready, 1)
    figures["run_seconds"] = args.run_seconds
    figures["worker_concurrency"] = args.worker_concurrency
    figures["airflow_settings"] = settings
    figures["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures["logs"] = str(run_dir)
    (run_dir / "load-run.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    problems = healthy(figures)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
