"""Scenario 9: transient faults mid-run (lost submit answers, dropped connections, 503s, 429s)
that still charge once."""

from __future__ import annotations

from tests.scenarios.harness import Scenario
from tests.scenarios.media_checks import media_kind, read_local

DAG_ID = "scenario_flaky_network"
SUBMIT = "/v1/models/nano-banana-2"
#: attempts the hook makes for one call before the task fails and Airflow retries it
HOOK_ATTEMPTS = 5


def test_faults_are_retried_onto_the_same_jobs_and_charged_once(scenario: Scenario) -> None:
    # Clipia: the job is created but every answer of the first try's submit is lost (an outage
    # longer than the hook's retries), then status reads fail twice and the result is rate-limited
    scenario.clipia_fault(
        method="POST",
        path_regex=f"^{SUBMIT}$",
        status=503,
        after_handler=True,
        retry_after="0",
        times=HOOK_ATTEMPTS,
    )
    scenario.clipia_fault(path_regex=r"^/v1/requests/[^/]+/status$", status=503, times=2)
    scenario.clipia_fault(path_regex=r"^/v1/requests/[^/]+$", status=429, retry_after="1")
    # Clipwise: the first submit's connection drops, the second's answer is lost after the job
    # was created, then status reads fail twice
    scenario.clipwise_fault(method="POST", path="/api/sdk/v1/generations/", reset=True)
    scenario.clipwise_fault(method="POST", path="/api/sdk/v1/generations/", status=502, after_handler=True)
    scenario.clipwise_fault(
        method="GET", path_regex=r"^/api/sdk/v1/generations/gen_[^/]+/$", status=503, times=2
    )

    run = scenario.run(DAG_ID)
    run.assert_succeeded()
    assert scenario.faults_left() == [], "every injected fault was met"

    # Clipia: one Airflow retry; six submits of one key, all the same request; one charge
    assert run.ti("product_shot").try_number == 2, run.tail()
    submits = scenario.clipia_calls("POST", SUBMIT)
    assert [call["status"] for call in submits[:HOOK_ATTEMPTS]] == [503] * HOOK_ATTEMPTS, submits
    assert len(submits) == HOOK_ATTEMPTS + 1, submits
    assert submits[-1]["status"] < 300, submits
    assert len({call["idempotency_key"] for call in submits}) == 1, submits
    shot = run.value("product_shot")
    [stored] = shot["stored_paths"]
    assert media_kind(read_local(stored)) == "png", stored
    account = scenario.clipia_account()
    assert account["usage_30d"]["requests"] == 1
    assert shot["cost"] == account["usage_30d"]["credits_spent"] == 4

    # Clipwise: retried inside the first try; three submits of one key, one generation
    assert run.ti("product_video").try_number == 1, run.tail()
    starts = scenario.clipwise_calls("POST", "generations/")
    assert [call["status"] for call in starts[:2]] == [None, 502], starts
    assert len(starts) == 3, starts
    assert starts[-1]["status"] < 300, starts
    assert len({call["idempotency_key"] for call in starts}) == 1, starts
    video = run.value("product_video")
    assert [item["generation_id"] for item in scenario.own_resources("generated_media")] == [
        video["generation_id"]
    ]
    [stored] = video["stored_paths"]
    assert media_kind(read_local(stored)) == "mp4", stored
