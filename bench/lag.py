"""Event-loop lag: how late the loop runs a callback that asked to run at a given moment.

A triggerer is healthy while its one loop wakes every coroutine close to when it asked; lag is
what thousands of triggers (and the garbage they make) cost everyone else on the loop. The
monitor sleeps a short period over and over and records by how much each wake-up overshot.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence

#: seconds between samples: fine enough to see a 100 ms stall several times over
SAMPLE_PERIOD = 0.02


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class LagMonitor:
    """Sample the running loop's lag from :meth:`start` on; :meth:`reset` opens a new window."""

    def __init__(self, period: float = SAMPLE_PERIOD) -> None:
        self.period = period
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin sampling in a task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._sample(), name="bench-lag-monitor")

    def reset(self) -> None:
        """Forget the samples so far (the start-up burst is not the steady state)."""
        self.samples = []

    async def stop(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def summary(self) -> dict[str, float]:
        """Lag of the current window in milliseconds: p50, p99, max, and the sample count."""
        return {
            "lag_p50_ms": round(percentile(self.samples, 0.50) * 1000, 2),
            "lag_p99_ms": round(percentile(self.samples, 0.99) * 1000, 2),
            "lag_max_ms": round(max(self.samples, default=0.0) * 1000, 2),
            "lag_samples": len(self.samples),
        }

    async def _sample(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.period)
            self.samples.append(max(0.0, time.perf_counter() - before - self.period))
