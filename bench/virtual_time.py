"""An asyncio event loop in virtual time: ten minutes of waiting run in milliseconds.

:class:`VirtualTimeLoop` is a real ``SelectorEventLoop`` whose clock jumps to the next timer
instead of waiting for it: whenever the loop would block in ``select(timeout)``, the clock moves on
by ``timeout`` and the loop carries on at once. Coroutines, tasks, ``asyncio.sleep`` and
``call_later`` behave exactly as in real time, in the same order; only the waiting is skipped.
:func:`run` also points ``time.time`` at the virtual clock for the duration, so code that reads
the wall clock (the triggers' deadlines and schedules, the sandbox's job timelines) sees the same
virtual time. Nothing may wait on real I/O inside: with no timer due, the loop stops with an error.
"""

from __future__ import annotations

import asyncio
import math
import selectors
import time
from collections.abc import Coroutine
from typing import Any, TypeVar
from unittest import mock

T = TypeVar("T")


class _SkippingSelector(selectors.SelectSelector):
    """A selector that, asked to wait, moves the loop's clock instead and polls without waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise RuntimeError("the virtual-time loop has nothing scheduled: something waits on real I/O")
        if self.loop is not None:
            self.loop.advance(timeout)
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` starts at ``start`` (UNIX seconds) and only moves when it idles."""

    def __init__(self, start: float) -> None:
        selector = _SkippingSelector()
        super().__init__(selector)
        selector.loop = self
        self._now = start

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``, and by one float step at least: asyncio runs a timer
        only once the clock has passed it by its resolution, which a clock that only jumps to the
        timer would never do."""
        self._now = max(self._now + seconds, math.nextafter(self._now, math.inf))


def run(coroutine: Coroutine[Any, Any, T], start: float | None = None) -> T:
    """Run ``coroutine`` to completion in virtual time, ``time.time`` following the virtual clock."""
    loop = VirtualTimeLoop(time.time() if start is None else start)
    try:
        with mock.patch("time.time", loop.time):
            return loop.run_until_complete(coroutine)
    finally:
        loop.close()
