"""Garbage-collector time: how much of a loop's CPU and lag comes from collecting per-poll garbage.

Thousands of triggers keep a large live heap; every object a poll allocates brings the next
collection closer, and a full collection walks the whole heap while the loop waits. The watch
adds up collection pauses per generation through :data:`gc.callbacks`.
"""

from __future__ import annotations

import gc
import time
from typing import Any


class GcWatch:
    """Total and longest collection pause per generation, from :meth:`start` (or :meth:`reset`) on."""

    def __init__(self) -> None:
        self._started: float | None = None
        self.reset()

    def reset(self) -> None:
        """Start a new window."""
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]

    def start(self) -> None:
        """Begin timing collections."""
        gc.callbacks.append(self._callback)

    def stop(self) -> None:
        """Stop timing collections."""
        gc.callbacks.remove(self._callback)

    def summary(self) -> dict[str, Any]:
        """Collections, seconds and longest pause (ms) in the window, per generation 0, 1, 2."""
        return {
            "gc_collections": list(self.count),
            "gc_seconds": [round(value, 4) for value in self.seconds],
            "gc_longest_ms": [round(value * 1000, 2) for value in self.longest],
        }

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        if self._started is None:
            return
        pause = time.perf_counter() - self._started
        generation = info["generation"]
        self.count[generation] += 1
        self.seconds[generation] += pause
        self.longest[generation] = max(self.longest[generation], pause)
        self._started = None
