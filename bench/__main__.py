"""``python -m bench``: run the benchmarks against a fresh sandbox and write ``docs/benchmarks.*``.

``--smoke`` runs every measurement at a tiny size (seconds, not minutes) to check the machinery;
its figures mean nothing and it writes wherever ``--out`` says (default: a temporary directory).
``--only adaptive`` runs the adaptive-polling section alone (about 8 minutes at full size) and
folds its figures into the ``benchmarks.json`` already in the output directory, then rewrites the
page's sections from the merged figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: what the benchmark needs beyond the provider's dev install
_NEEDS = {
    "airflow.providers.http": "apache-airflow-providers-http",
    "psutil": "psutil",
    "greenback": "greenback",
}


def _missing() -> list[str]:
    """Distributions the benchmark needs that are not installed."""
    missing = []
    for module, distribution in _NEEDS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(distribution)
    return missing


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: check that everything runs")
    parser.add_argument("--out", type=Path, help="directory for benchmarks.md and benchmarks.json")
    parser.add_argument(
        "--only",
        choices=("adaptive",),
        help="run one section and merge its figures into the benchmarks.json already in the output directory",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="change the benchmark's scheduling priority (its sandbox and trigger loops inherit it); "
        "a negative value, as root, keeps busy neighbours on a shared machine from skewing the figures",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite and write the report; return the exit status."""
    args = parse_args(argv)
    missing = _missing()
    if missing:
        print(
            f"python -m bench needs {', '.join(missing)}: run "
            f'.venv/bin/uv pip install --python .venv/bin/python -e ".[dev,bench]"',
            file=sys.stderr,
        )
        return 2
    from bench.plan import FULL, SMOKE
    from bench.report import write_report
    from bench.suite import merge_results, run_adaptive_only, run_suite

    if args.nice:
        os.nice(args.nice)
    out = args.out or (Path(tempfile.mkdtemp(prefix="clipgen-bench-")) if args.smoke else REPO / "docs")
    started = time.monotonic()

    def log(line: str) -> None:
        elapsed = int(time.monotonic() - started)
        print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {line}", flush=True)

    plan = SMOKE if args.smoke else FULL
    if args.only:
        earlier_path = out / "benchmarks.json"
        if not earlier_path.exists():
            print(
                f"--only {args.only} updates {earlier_path}, which does not exist: run the whole "
                "benchmark once first (make bench)",
                file=sys.stderr,
            )
            return 2
        earlier = json.loads(earlier_path.read_text(encoding="utf-8"))
        results = merge_results(earlier, run_adaptive_only(plan, log))
    else:
        results = run_suite(plan, log)
        results["details"]["niceness"] = os.nice(0)
    md_path, json_path = write_report(results, out)
    print(f"Wrote {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
