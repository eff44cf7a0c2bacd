"""``wait_for_completion=False``: what is refused when the DAG is parsed, and the returned digest.
The DAG runs against the sandbox are in ``tests/integration/test_submit_only.py``."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk import Asset

from clipgen_provider.exceptions import ClipgenConfigError
from clipgen_provider.jobs import JobState
from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator

OUTLET = Asset("submitted")


class Events(dict):
    """``context["outlet_events"]``: one accessor with an ``extra`` dict per Asset, by its name (an
    Asset with extras is not hashable on Airflow 3.1)."""

    def __getitem__(self, asset: Any) -> Any:
        return self.setdefault(asset.name, SimpleNamespace(extra={}))


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: ClipiaGenerateOperator(task_id="t", model="m", inputs={"prompt": "x"}, **kw),
        lambda **kw: ClipwiseGenerateOperator(task_id="t", format="smart", prompt="x", **kw),
    ],
    ids=["clipia", "clipwise"],
)
def test_output_path_without_waiting_is_refused_naming_the_sensor(make: Any) -> None:
    with pytest.raises(ClipgenConfigError, match="Put output_path on the sensor"):
        make(wait_for_completion=False, output_path="file:///tmp/media")


def test_waiting_for_a_webhook_without_waiting_is_refused() -> None:
    with pytest.raises(ClipgenConfigError, match="drop one of them"):
        ClipiaGenerateOperator(
            task_id="t", model="m", inputs={"prompt": "x"}, wait_for_completion=False, wait_for_webhook=True
        )


@pytest.mark.parametrize(
    ("state", "status"),
    [(None, "submitted"), (JobState("req_9", "IN_PROGRESS", terminal=False, succeeded=False), "IN_PROGRESS")],
    ids=["new submit", "re-attached"],
)
def test_the_digest_names_the_job_its_status_and_model(state: JobState | None, status: str) -> None:
    op = ClipiaGenerateOperator(
        task_id="t",
        model="nano-banana-2",
        inputs={"prompt": "x"},
        wait_for_completion=False,
        outlets=[OUTLET],
    )
    events = Events()
    summary = op._submitted({"outlet_events": events}, "req_9", state)
    assert summary == {"request_id": "req_9", "status": status, "model": "nano-banana-2"}
    assert events[OUTLET].extra == summary
