#!/usr/bin/env bash
# The unit, integration and scenario tests on the older Airflow minor versions the provider
# supports (the README's test command covers the newest, 3.3). Each version gets its own virtual
# environment, resolved as of a few days after that release (uv --exclude-newer): the dependencies a
# deployment of that release installed, the way Airflow's constraint files pin them.
# Six pytest-xdist workers as in scripts/test.sh (PYTEST_WORKERS=0: everything in one process).
# Usage: bash scripts/test_airflow_versions.sh [VERSION ...] [-- PYTEST ARGS]   (default: every version)
set -euo pipefail
export UV_COMPILE_BYTECODE=1  # see scripts/setup.sh
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

declare -A RELEASED_BY=(   # newest patch release of each supported older minor -> resolve dependencies as of
    [3.1.8]=2026-03-20
    [3.2.2]=2026-06-05
)
versions=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do versions+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#versions[@]} -gt 0 ] || versions=(3.1.8 3.2.2)

for version in "${versions[@]}"; do
    cutoff="${RELEASED_BY[$version]:?no dependency date for Airflow $version}"
    venv=".venv-airflow-${version%.*}"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    [ -x "$venv/bin/uv" ] || "$venv/bin/python" -m pip install --quiet --disable-pip-version-check uv
    "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --exclude-newer "$cutoff" \
        -e ".[test]" "apache-airflow==$version"
    rm -rf provider/*.egg-info  # seen on sys.path, it doubles the distribution (see scripts/setup.sh)
    echo "== Airflow $version ($venv)"
    started=$SECONDS
    "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit tests/integration tests/scenarios \
        -n "${PYTEST_WORKERS:-6}" --dist loadfile --no-loadscope-reorder "$@"
    echo "== Airflow $version: $((SECONDS - started)) s"
done
