"""Import cost: what importing our operators adds to DAG parsing, against the http provider's operator.

Each sample is a fresh ``python -c`` that times one import statement from inside the interpreter
(so interpreter start-up, the same for both, is left out). The two statements alternate and the
best of ``runs`` samples of each is kept: the floor is the cost, the rest is noise.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

OURS = "import clipgen_provider.operators.clipia"
PEER = "from airflow.providers.http.operators.http import HttpOperator"
_TIMED = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"


def _sample(statement: str) -> float:
    """Seconds one fresh interpreter takes to run ``statement``."""
    done = subprocess.run(  # noqa: S603 - our own interpreter with our own statement
        [sys.executable, "-c", _TIMED.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def measure_imports(runs: int) -> dict[str, Any]:
    """Best-of-``runs`` import seconds of our operator module and of ``HttpOperator``, and their ratio."""
    ours, peer = [], []
    for _ in range(runs):
        ours.append(_sample(OURS))
        peer.append(_sample(PEER))
    return {
        "runs": runs,
        "ours_statement": OURS,
        "peer_statement": PEER,
        "ours_seconds": round(min(ours), 3),
        "peer_seconds": round(min(peer), 3),
        "ratio": round(min(ours) / min(peer), 3),
    }
