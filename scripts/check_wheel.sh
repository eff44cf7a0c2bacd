#!/usr/bin/env bash
# The wheel stands alone: build the sdist and the wheel (the wheel from the sdist, as an installer
# building from PyPI's sdist would), check what they carry, install the wheel into a clean virtual
# environment outside the checkout and use it as a deployment would: `airflow providers list`, the
# connection types, `python -m clipgen_provider.sandbox`, and one example DAG run with
# `airflow dags test` against that sandbox (SQLite, a throw-away AIRFLOW_HOME).
# The example DAGs are documentation and stay out of the wheel; the check runs a copy of one.
set -euo pipefail
export UV_COMPILE_BYTECODE=1  # see scripts/setup.sh
cd "$(dirname "$0")/.."
REPO="$PWD"
PYTHON="${PYTHON:-python3}"
EXAMPLE_DAG=clipia_image_to_video
WORK="$(mktemp -d -t clipgen-wheel-XXXXXX)"
sandbox_pid=""

cleanup() {
    if [ -n "$sandbox_pid" ] && kill -0 "$sandbox_pid" 2>/dev/null; then
        kill "$sandbox_pid"
        wait "$sandbox_pid" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

[ -x .venv/bin/uv ] || bash scripts/setup.sh
UV="$REPO/.venv/bin/uv"

echo "== build (sdist, then the wheel from it)"
"$UV" build --quiet --out-dir "$WORK/dist" .
wheel="$(ls "$WORK"/dist/*.whl)"
sdist="$(ls "$WORK"/dist/*.tar.gz)"

echo "== contents"
version="$("$PYTHON" - "$wheel" "$sdist" <<'EOF'
"""What the wheel and the sdist must carry; prints the one version string."""
import ast
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

wheel, sdist = sys.argv[1:3]
source = Path("provider/clipgen_provider")
tree = ast.parse((source / "__init__.py").read_text())
version = next(
    node.value.value
    for node in tree.body
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "__version__"
)
problems = []
names = zipfile.ZipFile(wheel).namelist()
dist_info = f"airflow_provider_clipgen-{version}.dist-info/"
strays = [name for name in names if not name.startswith(("clipgen_provider/", dist_info))]
if strays:
    problems.append(f"files outside the package (tests, DAGs, ...): {strays[:10]}")
shipped = {
    path.relative_to(source.parent).as_posix()
    for path in source.rglob("*")
    if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
}
missing = sorted(shipped - set(names))
if missing:
    problems.append(f"package files missing from the wheel (package data?): {missing[:10]}")
for needed in ("clipgen_provider/py.typed", f"{dist_info}licenses/LICENSE"):
    if needed not in names:
        problems.append(f"no {needed}")
metadata = Parser().parsestr(zipfile.ZipFile(wheel).read(f"{dist_info}METADATA").decode())
if metadata["Version"] != version:
    problems.append(f"wheel version {metadata['Version']} is not clipgen_provider.__version__ {version}")
if metadata["License-Expression"] != "Apache-2.0":
    problems.append(f"License-Expression is {metadata['License-Expression']!r}, not Apache-2.0")
members = {name.split("/", 1)[-1] for name in tarfile.open(sdist).getnames()}
for needed in ("LICENSE", "README.md", "pyproject.toml", "provider/clipgen_provider/__init__.py"):
    if needed not in members:
        problems.append(f"the sdist has no {needed}")
if not any(line.startswith(f"## {version} ") for line in Path("docs/changelog.md").read_text().splitlines()):
    problems.append(f"docs/changelog.md has no release entry '## {version} (date)'")
if not Path(wheel).name.startswith(f"airflow_provider_clipgen-{version}-"):
    problems.append(f"wheel file name {Path(wheel).name} does not carry {version}")
if problems:
    sys.exit("wheel check failed:\n  " + "\n  ".join(problems))
print(version)
EOF
)"
echo "$(basename "$wheel") and $(basename "$sdist"): version $version, LICENSE, py.typed, no tests or DAGs"

echo "== install into a clean virtual environment"
"$UV" venv --quiet --python "$PYTHON" "$WORK/venv"
"$UV" pip install --quiet --python "$WORK/venv/bin/python" "airflow-provider-clipgen[sandbox] @ file://$wheel"
mkdir -p "$WORK/run" "$WORK/home" "$WORK/dags"
cp "dags/$EXAMPLE_DAG.py" "$WORK/dags/"
cd "$WORK/run"  # nothing of the checkout on sys.path from here on
unset PYTHONPATH
export AIRFLOW_HOME="$WORK/home" AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__CORE__DAGS_FOLDER="$WORK/dags"
PY="$WORK/venv/bin/python"
AIRFLOW="$WORK/venv/bin/airflow"
"$PY" - "$WORK/venv" "$version" <<'EOF'
import sys

import clipgen_provider

venv, version = sys.argv[1:3]
if not clipgen_provider.__file__.startswith(venv):
    sys.exit(f"clipgen_provider imported from {clipgen_provider.__file__}, not from the wheel in {venv}")
if clipgen_provider.__version__ != version:
    sys.exit(f"installed version {clipgen_provider.__version__}, built {version}")
EOF

echo "== airflow providers list, connection types"
"$AIRFLOW" db migrate >"$WORK/migrate.log" 2>&1 || { tail -50 "$WORK/migrate.log"; exit 1; }
"$AIRFLOW" providers list --output json >"$WORK/providers.json"
"$AIRFLOW" providers hooks --output json >"$WORK/hooks.json"
"$PY" - "$WORK/providers.json" "$WORK/hooks.json" "$version" <<'EOF'
import json
import sys

providers_file, hooks_file, version = sys.argv[1:4]
ours = [p for p in json.load(open(providers_file)) if p["package_name"] == "airflow-provider-clipgen"]
if [p["version"] for p in ours] != [version]:
    sys.exit(f"airflow providers list shows {ours}, not airflow-provider-clipgen {version}")
hooks = {h["connection_type"]: h for h in json.load(open(hooks_file))}
for conn_type in ("clipia", "clipwise"):
    if conn_type not in hooks or hooks[conn_type]["package_name"] != "airflow-provider-clipgen":
        sys.exit(f"connection type {conn_type!r} is not registered by the provider: {hooks.get(conn_type)}")
print(f"airflow-provider-clipgen {version}; connection types clipia, clipwise")
EOF

echo "== python -m clipgen_provider.sandbox"
port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$PY" -m clipgen_provider.sandbox --port "$port" --queue-seconds 0.2 --run-seconds 0.5 >"$WORK/sandbox.log" 2>&1 &
sandbox_pid=$!
"$PY" - "http://127.0.0.1:$port" "$sandbox_pid" <<'EOF' || { cat "$WORK/sandbox.log"; exit 1; }
import os
import sys
import time

import httpx

url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 60
while True:
    try:
        if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
            break
    except httpx.TransportError:
        pass
    os.kill(pid, 0)  # raises if the sandbox exited
    if time.monotonic() > deadline:
        sys.exit("the sandbox did not answer /healthz within 60 s")
    time.sleep(0.2)
models = httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer clipia_test_wheel"}, timeout=10)
models.raise_for_status()
print(f"serving at {url}: {len(models.json()['data'])} Clipia models")
EOF

echo "== airflow dags test $EXAMPLE_DAG (from the installed package, against the sandbox)"
export AIRFLOW_CONN_CLIPIA_DEFAULT="{\"conn_type\": \"clipia\", \"host\": \"http://127.0.0.1:$port\", \"password\": \"clipia_test_wheel\"}"
if ! "$AIRFLOW" dags test "$EXAMPLE_DAG" >"$WORK/dag.log" 2>&1 || ! grep -q "state=success" "$WORK/dag.log"; then
    tail -80 "$WORK/dag.log"
    echo "the example DAG $EXAMPLE_DAG did not succeed"
    exit 1
fi
echo "$EXAMPLE_DAG: success"
kill "$sandbox_pid"
wait "$sandbox_pid" 2>/dev/null || true
sandbox_pid=""
echo "== the wheel stands alone"
