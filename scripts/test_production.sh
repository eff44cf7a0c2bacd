#!/usr/bin/env bash
# The production-topology suite: a real Airflow cluster on PostgreSQL with the CeleryExecutor.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/uv pip install --quiet --python .venv/bin/python -e ".[dev,production]"
# setuptools leaves <name>.egg-info in the source root, which the editable install puts on
# sys.path: Airflow would then see the distribution twice ("plugin already registered")
rm -rf provider/*.egg-info
exec .venv/bin/python -m pytest -q -p no:cacheprovider tests/production "$@"
