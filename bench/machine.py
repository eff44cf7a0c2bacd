"""The machine the figures were taken on, and a wait for it to be quiet before measuring.

Timings on a shared 2-core machine swing with whatever else runs: the benchmark records CPU
pressure and load with its figures, and by default waits (bounded) until other work has calmed
down before the load runs, so a busy neighbour does not pass for the provider's cost.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

_PRESSURE = Path("/proc/pressure/cpu")
_PACKAGES = (
    "apache-airflow",
    "apache-airflow-providers-http",
    "httpx",
    "httpx-aiohttp",
    "aiohttp",
    "uvicorn",
)


def cpu_pressure() -> float | None:
    """Share of the last 10 s in which some runnable task waited for a CPU (Linux PSI), in percent."""
    try:
        first_line = _PRESSURE.read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    fields = dict(part.split("=", 1) for part in first_line.split()[1:])
    return float(fields["avg10"])


def load() -> dict[str, Any]:
    """Load average (1 min) and CPU pressure right now."""
    return {"loadavg_1m": round(os.getloadavg()[0], 2), "cpu_pressure_avg10": cpu_pressure()}


def wait_until_quiet(max_seconds: float, limit: float, log: Callable[[str], None]) -> dict[str, Any]:
    """Wait up to ``max_seconds`` for CPU pressure under ``limit`` percent; return how it went."""
    started = time.monotonic()
    announced = False
    while True:
        pressure = cpu_pressure()
        waited = time.monotonic() - started
        if pressure is None or pressure < limit or waited >= max_seconds:
            return {"waited_s": round(waited), "quiet": pressure is None or pressure < limit, **load()}
        if not announced:
            log(f"  the machine is busy (CPU pressure {pressure:.0f} %); waiting up to {max_seconds:.0f} s")
            announced = True
        time.sleep(5)


def describe() -> dict[str, Any]:
    """CPU count and model, Python, and the versions of the packages the figures depend on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "packages": versions,
    }
