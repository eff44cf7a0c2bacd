#!/usr/bin/env bash
# Lint, type-check, build the docs and run the whole test suite (needs no services).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check provider dags tests scripts bench; ruff format --check provider dags tests scripts bench
echo "== mypy"; mypy
echo "== docs"; NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
# PYTEST_WORKERS: pytest-xdist workers (default 2). Each
# test file is one work unit (tests/system one for all: they share a deployment), longest first
# (tests/conftest.py); PYTEST_WORKERS=0 runs everything in this process. tests/browser needs Chromium
# and Playwright (scripts/setup_browser.sh): `make test-browser` runs it, and .ci/run after this.
echo "== pytest"
python -m pytest -q -p no:cacheprovider --ignore=tests/production --ignore=tests/browser \
    -n "${PYTEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
