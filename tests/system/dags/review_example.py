"""The example Airflow DAG ``dags/clipgen_review.py`` in the system tests' DAG folder, loaded from its file
as it is (``tests/system/test_review.py`` runs it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_EXAMPLE = Path(__file__).resolve().parents[3] / "dags" / "clipgen_review.py"
_spec = importlib.util.spec_from_file_location("clipgen_review_example", _EXAMPLE)
assert _spec is not None
assert _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

dag = _module.dag
