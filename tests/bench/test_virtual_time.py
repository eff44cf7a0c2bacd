"""The benchmark's virtual-time event loop: waiting is skipped, nothing else changes."""

from __future__ import annotations

import asyncio
import time

import pytest

from bench import virtual_time


def test_an_hour_of_sleeping_takes_no_time_and_the_wall_clock_follows() -> None:
    async def wait() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        before = (loop.time(), time.time())
        await asyncio.sleep(3600)
        return loop.time() - before[0], time.time() - before[1]

    started = time.perf_counter()
    loop_elapsed, wall_elapsed = virtual_time.run(wait(), start=1_000_000.0)
    assert loop_elapsed == pytest.approx(3600, abs=1e-6)
    assert wall_elapsed == pytest.approx(3600, abs=1e-6)
    assert time.perf_counter() - started < 5
    assert abs(time.time() - 1_000_000.0) > 1e6, "time.time is the real one again afterwards"


def test_timers_fire_in_the_order_and_at_the_moments_they_asked_for() -> None:
    fired: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        fired.append((name, time.time()))

    async def main() -> None:
        await asyncio.gather(sleeper("c", 30.0), sleeper("a", 0.5), sleeper("b", 7.25))

    virtual_time.run(main(), start=0.0)
    assert [name for name, _ in fired] == ["a", "b", "c"]
    assert [at for _, at in fired] == pytest.approx([0.5, 7.25, 30.0], abs=1e-6)


def test_waiting_on_something_that_never_comes_is_an_error_not_a_hang() -> None:
    async def forever() -> None:
        await asyncio.get_running_loop().create_future()

    with pytest.raises(RuntimeError, match="nothing scheduled"):
        virtual_time.run(forever())
