"""What did today's run cost, when part of it failed?

What the user builds: a content run with a mapped batch of product shots (one of which the API
fails), a voice-over, a Clipwise video, and a follow-up that animates the shots (it never runs,
since a shot failed). ``ClipgenRunCostOperator`` with ``trigger_rule="all_done"`` runs last anyway
and reports one line per task instance with its real map index and state: Clipia's charge (a
failed request costs nothing), Clipwise's missing price, and the total.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator
from clipgen_provider.operators.cost import ClipgenRunCostOperator

#: seconds between status polls: short for the sandbox; keep the default 5 s against the real APIs
POLL = 0.2

with DAG(
    dag_id="scenario_run_cost_mixed",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):
    shots = ClipiaGenerateOperator.partial(
        task_id="product_shots", model="nano-banana-2", deferrable=True, poll_interval=POLL
    ).expand(
        inputs=[
            {"prompt": "A walnut chopping board, top view"},
            # the sandbox fails any request whose prompt carries this marker
            {"prompt": "A walnut chopping board in a busy kitchen [sandbox:fail]"},
            {"prompt": "A walnut chopping board with fresh herbs", "num_images": 2},
        ]
    )

    voice_over = ClipiaGenerateOperator(
        task_id="voice_over",
        model="gemini-3-1-flash-tts",
        inputs={"prompt": "Our walnut boards are cut from one piece of wood.", "voice": "Kore"},
        deferrable=True,
        poll_interval=POLL,
    )

    explainer = ClipwiseGenerateOperator(
        task_id="explainer",
        format="smart",
        prompt="Why end-grain boards are kinder to your knives",
        deferrable=True,
        poll_interval=POLL,
    )

    animate_shots = ClipwiseGenerateOperator(
        task_id="animate_shots",
        format="image_to_video",
        prompt="Slow pan across the board",
        inputs={"image": "{{ ti.xcom_pull(task_ids='product_shots', map_indexes=0)['media_urls'][0] }}"},
        deferrable=True,
        poll_interval=POLL,
    )
    shots >> animate_shots

    [shots, voice_over, explainer, animate_shots] >> ClipgenRunCostOperator(
        task_id="run_cost", trigger_rule="all_done"
    )
