"""Airflow before 3.3 has no ``task_state_store``: on a retry the API's idempotency store is the ledger.

A fake API that keeps jobs by idempotency key, as Clipia and Clipwise do for 24 hours, shows what a
retry submits: the same key gets the earlier try's job back (no new charge) unless that job ended
failed, when the retry submits once more with its try-scoped key.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from clipgen_provider.jobs import JobState
from clipgen_provider.operators._job import ClipgenJobOperator


class FakeApi:
    """Jobs by idempotency key; ``outcome`` is what each new job's state becomes."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        self.by_key: dict[str, str] = {}
        self.states: dict[str, str] = {}
        self.submits: list[str] = []

    def submit(self, key: str) -> str:
        self.submits.append(key)
        if key not in self.by_key:
            job_id = f"job_{len(self.by_key) + 1}"
            self.by_key[key] = job_id
            self.states[job_id] = self.outcome
        return self.by_key[key]


class Generate(ClipgenJobOperator):
    ledger_name = "fake"
    job_id_xcom_key = "job_id"
    job_noun = "Fake job"

    def __init__(self, *, api: FakeApi, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api = api

    def submit_job(self, context: Any, idempotency_key: str) -> str:
        return self.api.submit(idempotency_key)

    def read_job(self, job_id: str) -> JobState:
        status = self.api.states[job_id]
        return JobState(job_id, status, terminal=status != "running", succeeded=status == "completed")

    def complete_job(self, context: Any, job_id: str) -> Any:
        return {"job_id": job_id}

    def make_trigger(self, job_id: str, deadline: float | None) -> Any:
        raise AssertionError("not used here")


def context(try_number: int) -> dict[str, Any]:
    ti = SimpleNamespace(dag_id="d", task_id="t", run_id="r", map_index=-1, try_number=try_number)
    return {"ti": ti}  # no task_state_store: Airflow 3.1 / 3.2


@pytest.mark.parametrize("outcome", ["running", "completed"])
def test_a_retry_gets_the_earlier_tries_job_back_and_pays_nothing(outcome: str) -> None:
    api = FakeApi(outcome)
    op = Generate(api=api, task_id="t")
    first, _ = op._submit_or_resume(context(1))  # type: ignore[arg-type]
    again, _ = op._submit_or_resume(context(2))  # type: ignore[arg-type]
    assert again == first
    assert len(api.by_key) == 1, "one job, so one charge"


def test_a_retry_after_a_failed_job_submits_once_with_its_try_scoped_key() -> None:
    api = FakeApi("failed")
    op = Generate(api=api, task_id="t")
    first, _ = op._submit_or_resume(context(1))  # type: ignore[arg-type]
    api.outcome = "running"
    again, _ = op._submit_or_resume(context(2))  # type: ignore[arg-type]
    assert again != first
    assert api.submits[1] == api.submits[0], "first the task's own key, to find an earlier job"
    assert api.submits[2] == f"{api.submits[0]}:try2"
    # a third try whose new job also failed: again one new submit, keyed to that try
    api.states[again] = "failed"
    third, _ = op._submit_or_resume(context(3))  # type: ignore[arg-type]
    assert api.submits[-1] == f"{api.submits[0]}:try3"
    assert len({first, again, third}) == 3
