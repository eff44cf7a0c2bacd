#!/usr/bin/env bash
# Create .venv and install the provider with its sandbox and dev tools (idempotent, fast when done).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check uv
fi
.venv/bin/uv pip install --quiet --python .venv/bin/python -e ".[dev]"
# setuptools leaves <name>.egg-info in the source root, which the editable install puts on
# sys.path: Airflow would then see the distribution twice ("plugin already registered")
rm -rf provider/*.egg-info
