#!/usr/bin/env bash
# The production-topology suite: a real Airflow cluster on PostgreSQL with the CeleryExecutor.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,production
exec .venv/bin/python -m pytest -q -p no:cacheprovider tests/production "$@"
