"""Scenario: the provider's metrics reach a StatsD server, with the right values and tags.

``airflow dags test`` runs with Airflow's own ``[metrics]`` settings pointed at a UDP listener of
this test (tags in the InfluxDB line style, which plain StatsD would drop): the tasks and the
triggers (in-process under ``dags test``) send ``clipgen.*`` metrics through Airflow's stats object.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.airflow_compat import HAS_TASK_STATE_STORE
from tests.scenarios.harness import Scenario

DAG_ID = "scenario_metrics"
PREFIX = "airflow"
#: the trigger's default tolerance of consecutive failed status reads
MAX_CONSECUTIVE_ERRORS = 5


@dataclass(frozen=True)
class Sample:
    """One StatsD line: ``name,tag=value,...:value|type``."""

    name: str
    tags: dict[str, str]
    value: float
    type: str

    @classmethod
    def parse(cls, line: str) -> Sample:
        head, _, rest = line.partition(":")
        name, *pairs = head.split(",")
        value, kind = rest.split("|")[:2]
        return cls(name, dict(pair.split("=", 1) for pair in pairs), float(value), kind)


class StatsdListener:
    """A UDP socket on a free loopback port, read by a thread into a list of lines."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._received = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:  # the stop datagram of close()
                return
            with self._received:
                self.lines.extend(data.decode().splitlines())
                self._received.notify_all()

    def drain(self) -> list[str]:
        """Every line received so far, once the datagrams already sent are read.

        The sender has exited, so every datagram is in the socket buffer; a marker sent after
        them is read last.
        """
        marker = "drained.marker:1|c"
        self.sock.sendto(marker.encode(), ("127.0.0.1", self.port))
        with self._received:
            assert self._received.wait_for(lambda: marker in self.lines, timeout=30), "listener stuck"
            return [line for line in self.lines if line != marker]

    def close(self) -> None:
        """Stop the reader (an empty datagram ends it), then close the socket."""
        self.sock.sendto(b"", ("127.0.0.1", self.port))
        self._thread.join()
        self.sock.close()


@pytest.fixture
def statsd() -> Iterator[StatsdListener]:
    listener = StatsdListener()
    try:
        yield listener
    finally:
        listener.close()


def clipgen_samples(listener: StatsdListener) -> list[Sample]:
    samples = [Sample.parse(line) for line in listener.drain() if line.startswith(f"{PREFIX}.clipgen.")]
    return [Sample(s.name.removeprefix(f"{PREFIX}."), s.tags, s.value, s.type) for s in samples]


def test_metrics_of_a_run_arrive_with_their_values(scenario: Scenario, statsd: StatsdListener) -> None:
    scenario.extra_env.update(
        AIRFLOW__METRICS__STATSD_ON="True",
        AIRFLOW__METRICS__STATSD_HOST="127.0.0.1",
        AIRFLOW__METRICS__STATSD_PORT=str(statsd.port),
        AIRFLOW__METRICS__STATSD_PREFIX=PREFIX,
        AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED="True",
    )
    # one Clipia status read answers 503 (tolerated); the teaser's status reads fail until its
    # trigger gives up, so its task fails once and the retry re-attaches to the same generation
    scenario.clipia_fault(path_regex=r"^/v1/requests/[^/]+/status$", status=503, times=1)
    scenario.clipwise_fault(
        method="GET",
        path_regex=r"^/api/sdk/v1/generations/gen_[^/]+/$",
        status=503,
        times=MAX_CONSECUTIVE_ERRORS,
    )

    run = scenario.run(DAG_ID)
    assert run.states("product_shot") == {-1: "success"}, run.tail()
    assert run.states("banner") == {-1: "failed"}, run.tail()
    assert (run.ti("teaser").state, run.ti("teaser").try_number) == ("success", 2), run.tail()
    assert scenario.faults_left() == [], "every injected fault was met"
    samples = clipgen_samples(statsd)

    def counted(name: str, **tags: str) -> float:
        return sum(
            s.value for s in samples if s.name == name and tags.items() <= s.tags.items() and s.type == "c"
        )

    def by_task(name: str) -> Counter[str]:
        found: Counter[str] = Counter()
        for s in samples:
            if s.name == name:
                found[s.tags["task_id"]] += int(s.value)
        return found

    assert by_task("clipgen.jobs.submitted") == {"product_shot": 1, "banner": 1, "teaser": 1}, samples
    assert by_task("clipgen.jobs.succeeded") == {"product_shot": 1, "teaser": 1}, samples
    assert by_task("clipgen.jobs.failed") == {"banner": 1}, samples
    assert by_task("clipgen.jobs.reattached") == {"teaser": 1}, samples
    # the teaser's retry took over its first try's generation: one generation, one charge (without
    # a task_state_store the retry finds it by sending the create again under the same key)
    teaser = run.value("teaser")
    media = scenario.own_resources("generated_media")
    assert [item["generation_id"] for item in media] == [teaser["generation_id"]], media
    creates = scenario.clipwise_calls("POST", "generations/")
    assert len(creates) == (1 if HAS_TASK_STATE_STORE else 2), creates
    assert len({call["idempotency_key"] for call in creates}) == 1, creates

    # tags: DAG, task, job type and model (Clipia model / Clipwise format), never a job id
    [shot_submit] = [
        s for s in samples if s.name == "clipgen.jobs.submitted" and s.tags["task_id"] == "product_shot"
    ]
    assert shot_submit.tags == {
        "dag_id": DAG_ID,
        "task_id": "product_shot",
        "job_type": "clipia_request",
        "model": "nano-banana-2",
    }
    [teaser_submit] = [
        s for s in samples if s.name == "clipgen.jobs.submitted" and s.tags["task_id"] == "teaser"
    ]
    assert (teaser_submit.tags["job_type"], teaser_submit.tags["model"]) == ("clipwise_generation", "smart")

    # credits: what the sandbox charged, counted once, tagged by model and DAG; a failed job adds none
    charged = scenario.credits_spent()
    assert charged == 4
    assert counted("clipgen.credits.charged") == charged, samples
    assert counted("clipgen.credits.charged", dag_id=DAG_ID, model="nano-banana-2") == charged

    durations = {
        s.tags["task_id"]: (s.tags["outcome"], s.value) for s in samples if s.name == "clipgen.jobs.duration"
    }
    if HAS_TASK_STATE_STORE:
        # one duration per job that ended, with its outcome; the teaser's spans both tries
        assert {task: outcome for task, (outcome, _) in durations.items()} == {
            "product_shot": "succeeded",
            "banner": "failed",
            "teaser": "succeeded",
        }, samples
        assert all(s.type == "ms" for s in samples if s.name == "clipgen.jobs.duration")
        assert all(ms > 0 for _, ms in durations.values()), durations
    else:  # Airflow 3.1, 3.2: no ledger keeps the submit time across a deferral (docs/metrics.md)
        assert durations == {}, samples

    # status-poll errors, counted by the triggers, by API and HTTP status
    assert counted("clipgen.poll.errors", api="clipia", status="503") == 1, samples
    assert counted("clipgen.poll.errors", api="clipwise", status="503") == MAX_CONSECUTIVE_ERRORS, samples
    assert counted("clipgen.poll.errors") == 1 + MAX_CONSECUTIVE_ERRORS, samples
