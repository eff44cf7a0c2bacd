"""Scenario DAGs the Clipia integration tests run against the sandbox (one behaviour each)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaEstimateOperator, ClipiaGenerateOperator
from clipgen_provider.operators.cost import ClipgenRunCostOperator
from clipgen_provider.sensors.clipia import ClipiaRequestSensor
from clipgen_provider.sensors.clipia_balance import ClipiaBalanceSensor

DEFAULTS = {"retry_delay": timedelta(seconds=0)}
FAST: dict[str, Any] = {"deferrable": True, "poll_interval": 0.2}


def scenario(dag_id: str) -> DAG:
    """A manually triggered DAG with immediate retries."""
    return DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, default_args=DEFAULTS)


for deferrable in (True, False):
    with scenario(f"clipia_speech_{'deferred' if deferrable else 'blocking'}"):
        ClipiaGenerateOperator(
            task_id="speak",
            model="gemini-3-1-flash-tts",
            inputs={"prompt": "Welcome to the show", "voice": "Kore", "speed": 2},
            deferrable=deferrable,
            poll_interval=0.2,
        )

with scenario("clipia_failed_generation"):
    ClipiaGenerateOperator(
        task_id="doomed", model="nano-banana-2", inputs={"prompt": "cat [sandbox:fail]"}, retries=1, **FAST
    )

with scenario("clipia_bad_input"):
    ClipiaGenerateOperator(
        task_id="bad_input",
        model="nano-banana-2",
        inputs={"prompt": "x", "num_images": 99},
        retries=3,
        **FAST,
    )

with scenario("clipia_flaky_result"):
    ClipiaGenerateOperator(
        task_id="flaky_result", model="nano-banana-2", inputs={"prompt": "reattach"}, retries=1, **FAST
    )

with scenario("clipia_input_changed_after_a_lost_submit"):
    ClipiaGenerateOperator(
        task_id="changed",
        model="nano-banana-2",
        inputs={"prompt": "a mug, take {{ ti.try_number }}"},  # a different input on every try
        retries=1,
        **FAST,
    )

with scenario("clipia_wait_timeout"):
    ClipiaGenerateOperator(
        task_id="slow", model="nano-banana-2", inputs={"prompt": "slow"}, wait_timeout=1, **FAST
    )

with scenario("clipia_sensors"):
    ClipiaRequestSensor(
        task_id="wait", request_id="{{ params.request_id }}", deferrable=True, poke_interval=0.2, timeout=30
    )
    ClipiaRequestSensor(
        task_id="poke", request_id="{{ params.request_id }}", mode="poke", poke_interval=0.2, timeout=30
    )

with scenario("clipia_estimate"):
    ClipiaEstimateOperator(
        task_id="quote", model="seedance-2-fast-t2v", inputs={"prompt": "x", "duration": 8}
    )

with scenario("clipia_balance_checks"):
    ClipiaBalanceSensor(task_id="enough", min_credits=100)
    ClipiaBalanceSensor(task_id="short_fails_at_once", min_credits=10**9, retries=2)
    ClipiaBalanceSensor(
        task_id="short_waits_deferred",
        min_credits=10**9,
        wait=True,
        deferrable=True,
        poke_interval=0.2,
        timeout=1,
    )

with scenario("clipia_run_cost"):
    image = ClipiaGenerateOperator(task_id="image", model="nano-banana-2", inputs={"prompt": "a"}, **FAST)
    music = ClipiaGenerateOperator(task_id="music", model="suno-music", inputs={"prompt": "b"}, **FAST)
    [image, music] >> ClipgenRunCostOperator(task_id="run_cost", trigger_rule="all_done")

with scenario("clipia_guarded"):
    ClipiaGenerateOperator(
        task_id="generate", model="nano-banana-2", inputs={"prompt": "ok"}, retries=2, **FAST
    )

with scenario("clipia_unknown_model"):
    ClipiaGenerateOperator(
        task_id="generate", model="nano-banana-9", inputs={"prompt": "ok"}, retries=2, **FAST
    )

with scenario("clipia_text_too_long"):
    ClipiaGenerateOperator(
        task_id="generate",
        model="gemini-3-1-flash-tts",
        inputs={"prompt": "word " * 20_000, "voice": "Kore"},
        retries=2,
        **FAST,
    )

with scenario("clipia_bad_webhook_url"):
    ClipiaGenerateOperator(
        task_id="generate",
        model="nano-banana-2",
        inputs={"prompt": "ok"},
        webhook_url="ftp://not-a-webhook",
        retries=2,
        **FAST,
    )

with scenario("clipia_over_budget"):
    ClipiaGenerateOperator(
        task_id="generate",
        model="seedance-2-fast-t2v",
        inputs={"prompt": "a long video", "duration": 12},
        max_credits=5,
        retries=2,
        **FAST,
    )
