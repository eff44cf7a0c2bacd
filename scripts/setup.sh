#!/usr/bin/env bash
# Create .venv and install the provider with its sandbox and dev tools (idempotent, fast when done).
# Usage: bash scripts/setup.sh [EXTRAS]   (default: dev; e.g. dev,browser or dev,production)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
EXTRAS="${1:-dev}"
# bytecode compiled at install: without it every Python process compiles what it imports again
# when PYTHONDONTWRITEBYTECODE is set (as on CI's machines), and `import airflow` takes twice as long
export UV_COMPILE_BYTECODE=1
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check uv
fi
.venv/bin/uv pip install --quiet --python .venv/bin/python -e ".[$EXTRAS]"
# setuptools leaves <name>.egg-info in the source root, which the editable install puts on
# sys.path: Airflow would then see the distribution twice ("plugin already registered")
rm -rf provider/*.egg-info
