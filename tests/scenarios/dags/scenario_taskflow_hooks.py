"""TaskFlow tasks that use the hooks, feeding the operators.

What the user builds: a teaser planned within a budget. A ``@task`` asks Clipia (``ClipiaHook``)
for the account's balance and for estimates, and picks the longest teaser video the budget
allows; another asks Clipwise (``ClipwiseHook``) which presenters suit a UGC video and picks the
first. Their return values are the operators' arguments (XComArgs). A last ``@task`` reports the
charge and the balance left.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from clipgen_provider.hooks.clipia import ClipiaHook
from clipgen_provider.hooks.clipwise import ClipwiseHook
from clipgen_provider.operators.clipia import ClipiaGenerateOperator
from clipgen_provider.operators.clipwise import ClipwiseGenerateOperator

MEDIA_ROOT = os.environ.get("CLIPGEN_MEDIA_ROOT", f"file://{tempfile.gettempdir()}/clipgen-media")
#: seconds between status polls: short for the sandbox; keep the default 5 s against the real APIs
POLL = 0.2
BUDGET = 100
MODEL = "seedance-2-fast-t2v"

with DAG(
    dag_id="scenario_taskflow_hooks",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["clipgen", "scenario"],
    doc_md=__doc__,
):

    @task
    def plan_teaser() -> dict[str, Any]:
        """The longest teaser that fits both the budget and the balance, priced before spending."""
        hook = ClipiaHook()
        limit = min(BUDGET, hook.get_account()["balance"]["credits"])
        for duration in (12, 8, 4):
            inputs = {"prompt": "A cabin in the snow, drone shot", "duration": duration, "resolution": "480p"}
            if hook.estimate(MODEL, inputs)["credits"] <= limit:
                return inputs
        raise ValueError(f"even the shortest teaser costs more than {limit} credits")

    @task
    def pick_presenter() -> str:
        """The first presenter Clipwise offers for UGC videos."""
        return str(next(iter(ClipwiseHook().iter_resources("avatars", video_format="ugc_video")))["id"])

    teaser = ClipiaGenerateOperator(
        task_id="teaser",
        model=MODEL,
        inputs=plan_teaser(),  # type: ignore[arg-type]  # an XComArg: the dict, at run time
        max_credits=BUDGET,
        output_path=MEDIA_ROOT + "/teasers",
        deferrable=True,
        poll_interval=POLL,
    )

    ugc = ClipwiseGenerateOperator(
        task_id="ugc",
        format="ugc_video",
        script="Three reasons this cabin is booked every winter.",
        inputs={"avatar": pick_presenter(), "voice": "res_voice_emma_en"},
        deferrable=True,
        poll_interval=POLL,
    )

    @task
    def spend_report(teaser: Any) -> dict[str, Any]:
        """What the teaser cost and what the account has left."""
        return {"charged": teaser["cost"], "balance": ClipiaHook().get_account()["balance"]["credits"]}

    spend_report(teaser.output) >> ugc
