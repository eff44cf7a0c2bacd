"""One ``airflow db migrate`` per test run: a migrated SQLite template every Airflow home copies.

Migrating a fresh SQLite database takes tens of seconds of CPU; the integration tests, each scenario,
the secrets test, the system deployment and the benchmark's deployments all need one. The test
session names a template path in ``CLIPGEN_TEST_DB_TEMPLATE`` (``tests/conftest.py``); the first
process that needs it migrates it under a file lock, and every other one (parallel pytest workers,
the benchmark's child processes, which inherit the variable) copies it with SQLite's backup API,
which is safe even while the target is open. Without the variable (``make bench`` run by hand)
there is no template and the deployment migrates its own database as before.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

#: where the test run keeps its migrated template (set once, inherited by workers and children)
TEMPLATE_VARIABLE = "CLIPGEN_TEST_DB_TEMPLATE"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _migrate(database: Path, log_path: Path) -> None:
    """``airflow db migrate`` a SQLite database at ``database`` (its output kept in ``log_path``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
    env.update(
        AIRFLOW_HOME=str(database.parent),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{database}",
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    with log_path.open("wb") as log:
        done = subprocess.run(
            [AIRFLOW, "db", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed ({done.returncode}); see {log_path}")


def migrated_template() -> Path | None:
    """The run's migrated template, migrated now if no process did yet; None outside a test run."""
    named = os.environ.get(TEMPLATE_VARIABLE)
    if not named:
        return None
    template = Path(named)
    template.parent.mkdir(parents=True, exist_ok=True)
    with (template.parent / "template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process migrates; the others wait for its result
        if not template.exists():
            building = template.with_name("building") / "airflow.db"
            building.parent.mkdir(exist_ok=True)
            building.unlink(missing_ok=True)
            _migrate(building, template.with_name("db-migrate.log"))
            os.replace(building, template)
    return template


def copy_database(source: Path, target: Path) -> None:
    """Copy SQLite database ``source`` over ``target`` (created if missing) with the backup API."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def install_migrated_db(target: Path) -> bool:
    """Make ``target`` a copy of the run's migrated template; False outside a test run (the caller
    migrates its own way then)."""
    template = migrated_template()
    if template is None:
        return False
    copy_database(template, target)
    return True
