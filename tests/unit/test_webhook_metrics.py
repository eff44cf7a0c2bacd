"""The webhook receiver counts every answer by its result, over ASGI against a real SQLite metadata
database and real HMAC (the fixtures and helpers of tests/unit/test_webhook_receiver.py)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import httpx

from clipgen_provider import metrics
from clipgen_provider.webhooks.addressing import delivery_path
from tests.unit import test_metrics as metrics_tests
from tests.unit import test_webhook_receiver as receiver_tests
from tests.unit.test_metrics import RecordingStats
from tests.unit.test_webhook_receiver import delivery, post, waiting

#: the receiver tests' fixtures (metadata database, task instances, connections, client), and the
#: recorder standing in for Airflow's Stats
airflow_db = receiver_tests.airflow_db
make_ti = receiver_tests.make_ti
connection = receiver_tests.connection
client = receiver_tests.client
stats = metrics_tests.stats


def counts(recorder: RecordingStats) -> dict[str, int]:
    """Deliveries counted so far, by result (results never counted left out)."""
    found = {
        result: sum(value for value, _ in recorder.of(metric))
        for result, metric in metrics.WEBHOOK_DELIVERIES.items()
    }
    return {result: count for result, count in found.items() if count}


async def test_every_answer_is_counted_by_its_result(
    client: httpx.AsyncClient, make_ti, airflow_db: Path, stats: RecordingStats
) -> None:
    ti_id = make_ti("deferred", mailbox=waiting)
    assert await post(client, ti_id, delivery("req_1")) == (200, {"result": "accepted"})
    assert await post(client, ti_id, delivery("req_1")) == (200, {"result": "duplicate"})
    assert counts(stats) == {"accepted": 1, "duplicate": 1}

    assert await post(client, uuid.uuid4(), delivery()) == (200, {"result": "ignored"})
    assert await post(client, "not-a-uuid", delivery()) == (200, {"result": "ignored"})
    other = make_ti("deferred", mailbox=waiting)
    assert await post(client, other, delivery(), secret="whsec_attacker") == (401, {"result": "rejected"})
    unsigned = await client.post(delivery_path(str(other)), content=delivery())
    assert (unsigned.status_code, unsigned.json()) == (401, {"result": "rejected"})
    too_large = delivery(padding="x" * receiver_tests.LIMIT)
    assert await post(client, other, too_large) == (413, {"result": "too_large"})
    assert await post(client, other, b"not json") == (400, {"result": "invalid"})

    blocker = sqlite3.connect(airflow_db, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database: the write must wait
        assert await post(client, other, delivery()) == (503, {"result": "unavailable"})
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert counts(stats) == {
        "accepted": 1,
        "duplicate": 1,
        "ignored": 2,
        "rejected": 2,
        "too_large": 1,
        "invalid": 1,
        "unavailable": 1,
    }
    assert all(tags is None for _, _, _, tags in stats.calls), "delivery counters carry no tags"
