"""Test-wide setup: an isolated AIRFLOW_HOME (SQLite) set before Airflow is first imported.

Two DAG bundles: the example DAGs in ``dags/`` and the scenario DAGs the integration tests run
(``tests/integration/dags/``); ``dag.test()`` finds a DAG only in a configured bundle.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
# one migrated database template per test run (tests/migrated_db.py): the first conftest import of
# the run (the controller, under pytest-xdist) names it, made only once a test needs it; workers and
# child processes inherit the name
if "CLIPGEN_TEST_DB_TEMPLATE" not in os.environ:
    _TEMPLATE_DIR = Path(tempfile.gettempdir()) / f"clipgen-db-template-{uuid.uuid4().hex}"
    os.environ["CLIPGEN_TEST_DB_TEMPLATE"] = str(_TEMPLATE_DIR / "airflow.db")
    atexit.register(shutil.rmtree, _TEMPLATE_DIR, ignore_errors=True)  # its namer removes it
_HOME = Path(tempfile.mkdtemp(prefix="clipgen-airflow-home-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {
            "name": name,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(path)},
        }
        for name, path in (
            ("examples", REPO / "dags"),
            ("scenarios", REPO / "tests" / "integration" / "dags"),
        )
    ]
)
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"


def pytest_configure(config: pytest.Config) -> None:
    """``dag.test()`` in this process builds Airflow's execution API once, as on Airflow 3.3
    (:func:`tests.airflow_compat.share_in_process_execution_api`)."""
    from tests.airflow_compat import share_in_process_execution_api

    share_in_process_execution_api()


# -- parallel workers (pytest-xdist, ``--dist loadfile``; see scripts/test.sh) ----------------------
#: folders whose tests share one session-wide deployment: one worker runs all of them
_ONE_WORKER_FOLDERS = ("tests/system", "tests/browser")
#: the longest work units, handed out first so that the workers finish at about the same time
_LONGEST_FIRST = (
    "tests/system",
    "tests/browser",
    "tests/bench/test_bench_smoke.py",
    "tests/integration/test_secrets_never_leak.py",
    "tests/integration/test_cli.py",
)


def _work_unit(nodeid: str) -> str:
    """A test's work unit: its folder for :data:`_ONE_WORKER_FOLDERS`, else its module (module
    fixtures, such as the secrets test's DAG runs, are then set up once)."""
    module = nodeid.split("::", 1)[0]
    return next((folder for folder in _ONE_WORKER_FOLDERS if module.startswith(folder + "/")), module)


def _rank(unit: str) -> int:
    return next((i for i, first in enumerate(_LONGEST_FIRST) if unit == first), len(_LONGEST_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the longest work units first (the order within a unit is kept: the sort is stable)."""
    items.sort(key=lambda item: _rank(_work_unit(item.nodeid)))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``, except that each of :data:`_ONE_WORKER_FOLDERS` is one work unit.

    (``--dist loadgroup`` with ``xdist_group`` marks would say the same, but pytest-xdist 3.8 tags
    node ids in a way pytest 9.2 no longer sees, so its groups are silently ignored.)
    """
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class _ModuleOrFolderScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    return _ModuleOrFolderScheduling(config, log)
