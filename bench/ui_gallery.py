"""How fast the Clipgen page and the Media tab answer with 100,000 generation task instances.

``python -m bench.ui_gallery`` (also run by ``python -m bench``, key ``ui_gallery_page_ms_100k``)
builds a fresh SQLite metadata database (``airflow db migrate``), seeds it with
:mod:`bench.ui_seed` (100,000 generations over 50 DAGs and 90 days, ~400,000 XCom rows), then
requests the pages through the real UI app with a real JWT of Airflow's SimpleAuthManager,
in-process over ASGI, and reports the median and p95 time of each request kind. The database
work runs in a child process with its own ``AIRFLOW_HOME``, so the caller's Airflow is untouched.
Standalone, it writes its figures into ``docs/benchmarks.json`` and its section of
``docs/benchmarks.md`` (every other section is kept).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

REPO = Path(__file__).resolve().parents[1]
SECTION = "Clipgen page and Media tab"
KEY = "ui_gallery_page_ms_100k"
#: the same request's CPU time: what the page costs, whatever else the machine is doing
CPU_KEY = "ui_gallery_page_cpu_ms_100k"
#: 50 DAGs x 200 runs x 10 mapped generations = 100,000 generation task instances
FULL = {"dags": 50, "runs_per_dag": 200, "generations_per_run": 10, "days": 90, "repeats": 15}
SMOKE = {"dags": 4, "runs_per_dag": 5, "generations_per_run": 5, "days": 9, "repeats": 3}


def _timed(call: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Median and p95 wall milliseconds of ``call`` (after one warm-up call), and its median CPU
    milliseconds (this process, all threads: the figure a busy shared machine skews least)."""
    call()
    times, cpu = [], []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        call()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
        "cpu_ms": round(statistics.median(cpu), 1),
    }


def _measure(size: dict[str, int]) -> dict[str, Any]:
    """In the child process: migrate, seed, and time every request kind."""
    from airflow.api_fastapi.app import create_auth_manager, init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.utils.session import create_session
    from sqlalchemy import text
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    from bench.ui_seed import MODELS, SeedPlan, seed
    from clipgen_provider.ui import URL_PREFIX
    from clipgen_provider.ui.app import create_ui_app

    plan = SeedPlan(
        size["dags"], size["runs_per_dag"], size["generations_per_run"], size["days"], prefix="studio"
    )
    started, seeded_at = time.perf_counter(), datetime.now(tz=timezone.utc)
    with create_session() as session:
        dag_ids = seed(session, plan, now=seeded_at)
    seed_seconds = time.perf_counter() - started
    with create_session() as session:  # statistics, as Postgres's autovacuum keeps them
        session.execute(text("ANALYZE"))
    init_auth_manager()
    manager = create_auth_manager()
    jwt = manager.generate_jwt(SimpleAuthManagerUser(username="bench", role="viewer"))
    headers = {"Authorization": f"Bearer {jwt}"}

    def new_client() -> TestClient:
        return TestClient(Starlette(routes=[Mount(URL_PREFIX, create_ui_app())]), base_url="http://airflow")

    client = new_client()
    repeats = size["repeats"]

    def page(**params: Any) -> Callable[[], Any]:
        def call() -> Any:
            answer = client.get(f"{URL_PREFIX}/page", params=params, headers=headers)
            assert answer.status_code == 200, answer.text[:300]
            assert 'class="clipgen-gallery-item"' in answer.text
            return answer

        return call

    first = page()()
    cursor = first.text.split('id="clipgen-next-page" href="page?', 1)[1].split('"', 1)[0]
    deep = dict(parse_qsl(unescape(cursor).split("#", 1)[0]))
    # the day of the middle run of the first DAG (seeded as bench.ui_seed spreads them)
    middle = seeded_at - timedelta(days=plan.days) / plan.runs_per_dag * (
        plan.runs_per_dag - 1 - plan.runs_per_dag // 2
    )
    middle_day = middle.date().isoformat()
    tab = {
        "dag_id": dag_ids[0],
        "run_id": "seed__000100" if plan.runs_per_dag > 100 else "seed__000001",
        "task_id": "generate",
        "map_index": 3,
    }

    def media_tab() -> Any:
        answer = client.get(f"{URL_PREFIX}/media", params=tab, headers=headers)
        assert answer.status_code == 200
        assert 'class="clipgen-job-id"' in answer.text
        return answer

    def cold_page() -> Any:  # a new app: its spend cache is empty, the spend is summed again
        answer = new_client().get(f"{URL_PREFIX}/page", headers=headers)
        assert answer.status_code == 200
        return answer

    timings = {
        "page": _timed(page(), repeats),
        "page_cold": _timed(cold_page, max(3, repeats // 3)),
        "page_next": _timed(page(**deep), repeats),
        "page_one_dag": _timed(page(dag_id=dag_ids[len(dag_ids) // 2]), repeats),
        "page_one_model": _timed(page(model=MODELS[1]), repeats),
        "page_one_day": _timed(page(day=middle_day), repeats),
        "media_tab": _timed(media_tab, repeats),
    }
    return {
        "generations": plan.generations,
        "dags": plan.dags,
        "seed_seconds": round(seed_seconds, 1),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
        "timings": timings,
    }


def run(smoke: bool = False, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the measurement in a child process against a fresh database; return the figures."""
    size = SMOKE if smoke else FULL
    with tempfile.TemporaryDirectory(prefix="clipgen-ui-bench-") as home:
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__API_AUTH__JWT_SECRET": "bench-" + "x" * 64,
        }
        airflow = str(Path(sys.executable).with_name("airflow"))
        log("UI page: migrating a fresh SQLite metadata database")
        subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True, env=env)  # noqa: S603
        count = size["dags"] * size["runs_per_dag"] * size["generations_per_run"]
        log(f"UI page: seeding {count:,} generations and timing the pages")
        child = subprocess.run(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", "bench.ui_gallery", "--child", json.dumps(size)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
        )
    details = json.loads(child.stdout.strip().splitlines()[-1])
    log(f"  page {details['timings']['page']['median_ms']} ms (median)")
    return {
        KEY: details["timings"]["page"]["median_ms"],
        CPU_KEY: details["timings"]["page"]["cpu_ms"],
        "details": {"ui_gallery": details},
    }


def render_section(figures: dict[str, Any]) -> str:
    """The Markdown of this benchmark's section of ``docs/benchmarks.md``."""
    details = figures["details"]["ui_gallery"]
    names = {
        "page": "Clipgen page, first gallery page, all DAGs (`ui_gallery_page_ms_100k`)",
        "page_cold": "Clipgen page, first request of a minute (spend summed again)",
        "page_next": "Clipgen page, next gallery page (keyset cursor)",
        "page_one_dag": "Clipgen page filtered to one DAG",
        "page_one_model": "Clipgen page filtered to one model",
        "page_one_day": "Clipgen page filtered to one day",
        "media_tab": "Media tab of one mapped task instance",
    }
    rows = "\n".join(
        f"| {names[kind]} | {t['median_ms']:,.1f} | {t['p95_ms']:,.1f} | {t['cpu_ms']:,.1f} |"
        for kind, t in details["timings"].items()
    )
    return f"""`.venv/bin/python -m bench.ui_gallery` (also part of `make bench`) seeds a fresh SQLite
metadata database with {details["generations"]:,} generation task instances ({details["dags"]} DAGs,
mapped, with their `return_value`, `media_urls`, `stored_paths`, `request_id` XComs and rendered
fields; seeding took {details["seed_seconds"]:,.0f} s), then requests each view through the real
UI app with a real JWT, in-process over ASGI: every figure includes authentication, the
permission lookup, the database queries and the HTML. Each page carries the spend plot
(last 30 days), the jobs waiting now and 24 gallery items. The spend is summed at most once a
minute per API server (`ui/spend.py`); the *first request of a minute* row pays for it. The
database has statistics (`ANALYZE` after seeding, what Postgres's autovacuum keeps up to date).
The machine was shared (1-minute load average {details["load_average_1m"]} on {details["cpus"]} CPUs
while timing): wall times include waiting for a CPU; the CPU column is the work itself
(`ui_gallery_page_cpu_ms_100k`).

| Request | Median ms | p95 ms | CPU ms (median) |
| --- | --- | --- | --- |
{rows}

A gallery page is a short walk down the XCom table's primary key from a keyset cursor (a
generation is a task instance with a `media_urls` XCom); the result and stored paths are then
fetched by primary key for the rows of that page only. See `docs/ui.md`."""


def write(figures: dict[str, Any], out: Path) -> None:
    """Merge the figures into ``benchmarks.json`` and this section into ``benchmarks.md``."""
    from bench.report import split_sections

    json_path, md_path = out / "benchmarks.json", out / "benchmarks.md"
    existing = json.loads(json_path.read_text(encoding="utf-8")) if json_path.exists() else {"details": {}}
    existing[KEY], existing[CPU_KEY] = figures[KEY], figures[CPU_KEY]
    existing.setdefault("details", {})["ui_gallery"] = figures["details"]["ui_gallery"]
    json_path.write_text(json.dumps(existing, indent=2) + "\n", encoding="utf-8")
    text = md_path.read_text(encoding="utf-8") if md_path.exists() else "# Benchmarks\n"
    preamble, sections = split_sections(text)
    body = render_section(figures)
    if any(title == SECTION for title, _ in sections):
        sections = [(title, body if title == SECTION else old) for title, old in sections]
    else:
        sections.append((SECTION, body))
    merged = "\n\n".join(f"## {title}\n\n{content.strip()}" for title, content in sections)
    md_path.write_text(f"{preamble.strip()}\n\n{merged}\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.ui_gallery [--smoke] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.ui_gallery", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few hundred generations: check the machinery")
    parser.add_argument(
        "--out",
        type=Path,
        help="directory of benchmarks.md/json (default: docs/, or a temp dir with --smoke)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_measure(json.loads(args.child))))
        return 0
    figures = run(smoke=args.smoke)
    out = args.out or (Path(tempfile.mkdtemp(prefix="clipgen-bench-")) if args.smoke else REPO / "docs")
    write(figures, out)
    print(f"Wrote {out / 'benchmarks.md'} and {out / 'benchmarks.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
