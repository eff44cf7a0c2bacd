#!/usr/bin/env bash
# Lint, type-check, build the docs and run the whole test suite (needs no services).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check provider dags tests scripts bench; ruff format --check provider dags tests scripts bench
echo "== mypy"; mypy
echo "== docs"; NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
echo "== pytest"; python -m pytest -q -p no:cacheprovider --ignore=tests/production "$@"
