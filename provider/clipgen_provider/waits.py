"""How long an operator waits for its remote job: a finite bound unless the author asks for none.

A generate task that waits for ever holds a triggerer slot (or a worker) for ever when a job gets
stuck, and Airflow applies no ``execution_timeout`` while a task is deferred. So every wait has a
deadline: the operator's ``wait_timeout``, else the task's ``execution_timeout``, else the
deployment's ``[clipgen] default_wait_timeout`` (:data:`DEFAULT_WAIT_TIMEOUT_SECONDS`). An unbounded
wait is asked for explicitly with ``wait_timeout=float("inf")`` (or ``default_wait_timeout = inf``
for a whole deployment).

Imported by ``get_provider_info`` (which Airflow reads for every command): no Airflow imports at
module level.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from clipgen_provider.exceptions import ClipgenConfigError

#: the provider's Airflow config section (``[clipgen]``, ``AIRFLOW__CLIPGEN__…``)
CONFIG_SECTION = "clipgen"
#: the option holding the default bound of a wait, in seconds
WAIT_TIMEOUT_OPTION = "default_wait_timeout"
#: 6 hours: far beyond a render plus a busy queue (minutes), short enough that a stuck job is
#: noticed within a working day, and well inside the APIs' 24 h idempotency window, so a retry
#: after a timeout still re-attaches to the same job instead of paying for a new one
DEFAULT_WAIT_TIMEOUT_SECONDS = 6 * 3600.0


def as_seconds(value: timedelta | float) -> float:
    """Seconds in ``value`` (a ``timedelta`` or a number; ``timedelta.max`` counts as unbounded)."""
    if isinstance(value, timedelta):
        return math.inf if value == timedelta.max else value.total_seconds()
    return float(value)


def check_wait_timeout(value: timedelta | float | None, name: str = "wait_timeout") -> None:
    """Refuse a bound that is not a positive number of seconds (``inf`` is allowed: no bound)."""
    if value is None:
        return
    try:
        seconds = as_seconds(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not seconds > 0:
        raise ClipgenConfigError(
            f"{name} must be a positive number of seconds or a timedelta, not {value!r}; pass "
            'float("inf") for a wait with no deadline.'
        )


@dataclass(frozen=True)
class WaitBound:
    """How long a wait may last and where that figure came from (for the log line)."""

    seconds: float
    source: str

    @property
    def unbounded(self) -> bool:
        """True when the author asked for a wait with no deadline."""
        return math.isinf(self.seconds)

    def deadline(self, now: float | None = None) -> float | None:
        """The absolute UNIX time the wait ends, or None when it is unbounded."""
        if self.unbounded:
            return None
        return (time.time() if now is None else now) + self.seconds

    def describe(self, deadline: float | None) -> str:
        """One line for the task log: when the wait ends (UTC ISO time), how long that is, and why."""
        if deadline is None:
            return f"The wait has no deadline ({self.source}); it lasts until the job ends."
        at = datetime.fromtimestamp(deadline, tz=timezone.utc).isoformat(timespec="seconds")
        return (
            f"The wait ends at {at.replace('+00:00', 'Z')}, in {timedelta(seconds=round(self.seconds))} "
            f"({self.source}); if the job is still running then, the task fails with a timeout."
        )


def wait_bound(wait_timeout: timedelta | float | None, execution_timeout: timedelta | None) -> WaitBound:
    """The bound of one wait: ``wait_timeout``, else ``execution_timeout``, else the config default.

    Read at execute time (never at import), so a change of the deployment's config applies to the
    next task without re-parsing DAGs.
    """
    if wait_timeout is not None:
        return WaitBound(as_seconds(wait_timeout), "wait_timeout")
    if execution_timeout is not None:
        return WaitBound(as_seconds(execution_timeout), "the task's execution_timeout")
    from airflow.providers.common.compat.sdk import conf

    seconds = conf.getfloat(CONFIG_SECTION, WAIT_TIMEOUT_OPTION, fallback=DEFAULT_WAIT_TIMEOUT_SECONDS)
    check_wait_timeout(seconds, f"[{CONFIG_SECTION}] {WAIT_TIMEOUT_OPTION}")
    return WaitBound(seconds, f"[{CONFIG_SECTION}] {WAIT_TIMEOUT_OPTION}")
