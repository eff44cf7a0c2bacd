"""Run every example DAG end to end against the local sandbox, the way ``make demo`` does.

Starts the sandbox on a free port, gives Airflow a throw-away home (SQLite), points the
``clipia_default`` and ``clipwise_default`` connections at the sandbox, runs each DAG in ``dags/``
with ``airflow dags test`` (deferrals included: the triggers run in-process), then prints every
task's media URLs and cost from XCom. Exits non-zero if any DAG run does not succeed.

A DAG with a review gate (``ClipgenReviewOperator``) waits for a person's answer; for it the demo
also starts an ``airflow api-server`` on the same home and database and answers the review
through the REST API as a reviewer would (``scripts/demo_reviewer.py``). The SQLite database is in
WAL mode, with a 30 s lock timeout, so the two processes can write to it side by side.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# scripts/ is on sys.path when this file runs as a script
from demo_reviewer import AIRFLOW, review_gates, run_with_reviewer

REPO = Path(__file__).resolve().parents[1]


def demo_env(home: str, sandbox_url: str) -> dict[str, str]:
    """Environment of the Airflow commands: isolated home, example DAGs, sandbox connections."""
    return {
        **os.environ,
        "AIRFLOW_HOME": home,
        # an API server answers reviews while ``dags test`` runs: SQLite writers wait for the lock
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{Path(home) / 'airflow.db'}?timeout=30",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW_CONN_CLIPIA_DEFAULT": json.dumps(
            {"conn_type": "clipia", "host": sandbox_url, "password": "clipia_test_demo"}
        ),
        "AIRFLOW_CONN_CLIPWISE_DEFAULT": json.dumps(
            {"conn_type": "clipwise", "host": sandbox_url, "password": "cw_test_demo"}
        ),
    }


def dag_ids() -> list[str]:
    """Every example DAG: one per file in ``dags/`` whose name does not start with ``_``."""
    return sorted(path.stem for path in (REPO / "dags").glob("*.py") if not path.name.startswith("_"))


def print_outputs(env: dict[str, str], dag_id: str) -> None:
    """Print each task's media URLs and cost from the latest run's XCom (in a child process)."""
    code = f"""
from airflow.models.dagrun import DagRun
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
with create_session() as session:
    run = session.query(DagRun).filter(DagRun.dag_id == {dag_id!r}).order_by(DagRun.id.desc()).first()
    rows = session.query(XComModel).filter(
        XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id, XComModel.key == "return_value"
    )
    for row in rows:
        value = row.value if isinstance(row.value, dict) else {{}}
        if "decision" in value:  # a review gate's result
            items = [f"{{i['label']}} ({{i['task_id']}}[{{i['map_index']}}])" for i in value["approved"]]
            who = (value.get("responded_by") or {{}}).get("name", "nobody (timed out)")
            chosen = f"{{value['chosen_option']}} by {{who}}"
            print(f"    {{row.task_id}}: {{chosen}}; approved: {{', '.join(items) or 'none'}}")
        cost = f"  ({{value['cost']}} credits)" if value.get("cost") is not None else ""
        for url in value.get("media_urls", []):
            print(f"    {{row.task_id}}: {{url}}{{cost}}")
        for path in value.get("stored_paths", []):
            print(f"    {{row.task_id}} stored: {{path}}")
"""
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def main() -> int:
    """Run the demo; return the process exit status."""
    from clipgen_provider.sandbox.server import SandboxServer

    failures = 0
    with SandboxServer() as sandbox, tempfile.TemporaryDirectory(prefix="clipgen-demo-") as home:
        print(f"Sandbox of Clipia and Clipwise serving at {sandbox.url}")
        env = demo_env(home, sandbox.url)
        subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
        with sqlite3.connect(Path(home) / "airflow.db") as db:  # readers stop blocking the API server
            db.execute("PRAGMA journal_mode=WAL")
        gates = review_gates(env)
        for dag_id in dag_ids():
            log_path = Path(home) / f"{dag_id}.log"
            started = time.monotonic()
            with log_path.open("w") as log:
                if dag_id in gates:
                    returncode = run_with_reviewer(env, dag_id, gates[dag_id], log, Path(home))
                else:
                    returncode = subprocess.run(
                        [AIRFLOW, "dags", "test", dag_id], env=env, stdout=log, stderr=subprocess.STDOUT
                    ).returncode
            text = log_path.read_text()
            ok = returncode == 0 and "state=success" in text
            print(f"\n{dag_id}: {'success' if ok else 'FAILED'} in {time.monotonic() - started:.1f} s")
            if ok:
                print_outputs(env, dag_id)
            else:
                failures += 1
                print(text[-4000:])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
