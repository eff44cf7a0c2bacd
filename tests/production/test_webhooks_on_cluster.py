"""The system tests' webhook scenarios, run unchanged on the production cluster.

``tests/system/test_webhooks.py`` proves the receiver, the mailbox and push resume on a SQLite
deployment; here the very same tests (collected again in this module, with this suite's
``cluster`` and ``webhook_sandbox`` fixtures) run on PostgreSQL with the CeleryExecutor, two
schedulers and two Celery workers: push resume, a delivery before the trigger starts, lost,
duplicate and forged deliveries, stale and oversized ones, a delivery for an earlier try, a crash
right after the submit, and the high-availability case: the triggerer holding the trigger killed
mid-wait while the delivery goes to the *other* API server. New scenarios added there run here too.
"""

from __future__ import annotations

import pytest
from _pytest.fixtures import FixtureFunctionDefinition

from tests.system import test_webhooks as system

pytestmark = pytest.mark.timeout(900)

#: every test and fixture of the system module, collected and resolved here
REUSED = {
    name: value
    for name, value in vars(system).items()
    if name.startswith("test_") or isinstance(value, FixtureFunctionDefinition)
}
globals().update(REUSED)


def test_the_system_scenarios_are_all_here() -> None:
    """Guard: the reuse above found the scenarios, including the high-availability one."""
    tests = [name for name in REUSED if name.startswith("test_")]
    assert len(tests) >= 8, tests
    assert any("other_api_server" in name for name in tests)
