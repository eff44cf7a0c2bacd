"""Seeded, uneven job timelines: what the sandbox's ``realism`` setting turns on.

With ``realism`` off (the default) a job waits ``queue_seconds``, then its progress rises evenly
over ``run_seconds``: ideal for tests that need exact timing, and flattering for anything that
estimates when a job will end. With it on, every job gets a :class:`Pace` drawn from a random
generator seeded with ``realism_seed`` and the job's index in its account (the n-th job of any
account gets the same pace), so one seed and one order of submits give the same timelines on every
run, and a job's pace never changes once it is submitted:

* **queue**: the job enters behind 0 to :data:`MAX_PLACES_AHEAD` others; its wait grows with that
  place (``queue_seconds`` is the average) and its position moves up at uneven moments;
* **progress**: a slow start, then stretches of different speed; some jobs stall, some jump;
* **surprises**, the share of jobs whose end an estimate gets wrong (:data:`KIND_SHARES`): jobs
  that run two to three times as long as the others (``long``), jobs that reach 90-99 % early
  and then sit there until the end (``stuck_tail``), and jobs that finish while their progress
  still says 60-85 % (``early_end``).
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

#: what share of jobs gets each kind of progress (the last three are the surprises)
KIND_SHARES: tuple[tuple[str, float], ...] = (
    ("steady", 0.45),
    ("stalls", 0.20),
    ("jumps", 0.15),
    ("long", 0.08),
    ("stuck_tail", 0.08),
    ("early_end", 0.04),
)
#: most jobs a new job can find ahead of it in the queue
MAX_PLACES_AHEAD = 8
#: how far the speed of a stretch of the run strays from the job's average, either way
WOBBLE = 0.25
#: spread (log-normal sigma) of run times of the same kind around ``run_seconds``
RUN_SPREAD = 0.12
#: spread (log-normal sigma) of queue waits at one place
QUEUE_SPREAD = 0.25


@dataclass(frozen=True, slots=True)
class Pace:
    """How one job moves: its queue wait and place, its run time and the shape of its progress.

    :param kind: which row of :data:`KIND_SHARES` it was drawn from
    :param queue_seconds: how long it waits in the queue
    :param run_seconds: how long it runs once out of the queue
    :param curve: corners of the progress curve as (share of the run time, share of the work),
        from ``(0, 0)`` to ``(1, last)``, both rising; ``last`` below 1 ends the job early
    :param queue_moves: the moments (seconds into the wait, rising) at which the job moves up
        one place; it enters at ``len(queue_moves)`` and leaves the queue from place 0
    """

    kind: str
    queue_seconds: float
    run_seconds: float
    curve: tuple[tuple[float, float], ...]
    queue_moves: tuple[float, ...]

    def progress(self, run_elapsed: float) -> int:
        """Integer percentage ``run_elapsed`` seconds into the run (0-99: 100 is for a finished job)."""
        share = min(max(run_elapsed / self.run_seconds, 0.0), 1.0) if self.run_seconds > 0 else 1.0
        times = [point[0] for point in self.curve]
        index = min(max(bisect.bisect_right(times, share), 1), len(self.curve) - 1)
        (t0, w0), (t1, w1) = self.curve[index - 1], self.curve[index]
        work = w1 if t1 <= t0 else w0 + (w1 - w0) * (share - t0) / (t1 - t0)
        return min(99, int(100 * work))

    def queue_position(self, waited: float) -> int:
        """The 0-based place in the queue ``waited`` seconds after the submit."""
        return len(self.queue_moves) - bisect.bisect_right(self.queue_moves, waited)


def _kind(rng: random.Random) -> str:
    draw = rng.random()
    for kind, share in KIND_SHARES:
        draw -= share
        if draw < 0:
            return kind
    return KIND_SHARES[0][0]


def _segments(rng: random.Random, kind: str) -> list[tuple[float, float]]:
    """(time, work) stretches of the run, not yet scaled to add up to the whole run."""
    warmup = rng.uniform(0.05, 0.15)
    body = [(rng.uniform(0.5, 1.5), 0.0) for _ in range(rng.randint(3, 6))]
    # each stretch runs at its own speed, within WOBBLE of the job's average
    body = [(time, time * rng.uniform(1 - WOBBLE, 1 + WOBBLE)) for time, _ in body]
    scale = (1 - warmup) / sum(time for time, _ in body)
    segments = [(warmup, rng.uniform(0.0, 0.03))] + [(time * scale, work) for time, work in body]
    if kind == "stalls":
        for _ in range(rng.randint(1, 2)):
            segments.insert(rng.randint(1, len(segments)), (rng.uniform(0.05, 0.15), 0.0))
    elif kind == "jumps":  # never as the last stretch: a job that ends early is ``early_end``
        for _ in range(rng.randint(1, 2)):
            segments.insert(rng.randint(1, len(segments) - 1), (0.005, rng.uniform(1.0, 2.5)))
    return segments


def _curve(rng: random.Random, kind: str) -> tuple[tuple[float, float], ...]:
    """The progress curve's corners: time shares add up to 1, work to the share done at the end."""
    segments = _segments(rng, kind)
    last_work = 1.0
    if kind == "stuck_tail":
        segments.append((rng.uniform(0.25, 0.45) * sum(t for t, _ in segments), 0.0))
        last_work = rng.uniform(0.90, 0.99)
    elif kind == "early_end":
        last_work = rng.uniform(0.60, 0.85)
    # the warm-up keeps its small share of the work; the other stretches share the rest
    first_work = segments[0][1]
    rest_work = sum(work for _, work in segments[1:])
    total_time = sum(time for time, _ in segments)
    corners, elapsed, done = [(0.0, 0.0)], 0.0, 0.0
    for index, (time, work) in enumerate(segments):
        elapsed += time / total_time
        done += first_work if index == 0 else work / rest_work * (1.0 - first_work)
        corners.append((elapsed, done * last_work))
    corners[-1] = (1.0, corners[-1][1])  # the time shares add up to 1 but for rounding
    return tuple(corners)


def _queue(rng: random.Random, queue_seconds: float) -> tuple[float, tuple[float, ...]]:
    """The wait and the moments the job moves up, for a queue whose average wait is ``queue_seconds``."""
    if queue_seconds <= 0:
        return 0.0, ()
    ahead = rng.randint(0, MAX_PLACES_AHEAD)
    wait = queue_seconds * (ahead + 1) / (MAX_PLACES_AHEAD / 2 + 1) * rng.lognormvariate(0.0, QUEUE_SPREAD)
    moves = sorted(rng.uniform(0.0, wait) for _ in range(ahead))
    return wait, tuple(moves)


def draw_pace(seed: int, index: int, queue_seconds: float, run_seconds: float) -> Pace:
    """The pace of an account's ``index``-th job (0-based) under ``seed``, around the given timings."""
    rng = random.Random(f"clipgen-sandbox-pace:{seed}:{index}")
    kind = _kind(rng)
    wait, moves = _queue(rng, queue_seconds)
    run = run_seconds * rng.lognormvariate(0.0, RUN_SPREAD)
    if kind == "long":
        run *= rng.uniform(2.0, 3.0)
    return Pace(kind, wait, run, _curve(rng, kind), moves)
