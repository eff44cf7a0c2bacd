#!/usr/bin/env bash
# The fast loop: lint, type-check, build the docs and run the unit, sandbox, integration, scenario,
# docs and benchmark tests (needs no services). The suites that start whole Airflow deployments run
# on their own: `make test-system`, `make test-browser`, `make test-production` (.ci/run runs all).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check provider dags tests scripts bench; ruff format --check provider dags tests scripts bench
# mypy and the docs build run beside the tests, filling the moments their workers wait; their
# output follows the tests' and either failing fails the command
checks_log="$(mktemp)"
(echo "== mypy"; mypy; echo "== docs"; NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet --site-dir "$(mktemp -d)") \
    > "$checks_log" 2>&1 &
checks=$!
# PYTEST_WORKERS: pytest-xdist workers (default 6: on 2 cores, tests spend much of their time waiting
# on sandbox jobs and Airflow processes; with four workers the CPU was 85 % busy, with six 95 %).
# Each test file is one work unit, longest first (tests/conftest.py); PYTEST_WORKERS=0 runs
# everything in this process.
echo "== pytest"
tests_status=0
python -m pytest -q -p no:cacheprovider --ignore=tests/production --ignore=tests/browser --ignore=tests/system \
    -n "${PYTEST_WORKERS:-6}" --dist loadfile --no-loadscope-reorder "$@" || tests_status=$?
checks_status=0
wait "$checks" || checks_status=$?
cat "$checks_log"
rm -f "$checks_log"
[ "$checks_status" -eq 0 ] || echo "== mypy or the docs build failed (exit $checks_status)"
exit $((tests_status != 0 ? tests_status : checks_status))
