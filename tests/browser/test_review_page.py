"""The review gate of the example DAG ``dags/clipgen_review.py``, answered in Airflow's own UI: the
reviewer finds it under Browse → Required Actions, sees the thumbnails, ticks two of the three
items, chooses *Approve selected*, and the DAG publishes exactly those two files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.deployment import REVIEW_DAG, Deployment, Runs, wait_for_run
from tests.browser.ui import loaded_images, task_instance_url

CHOSEN = ["item 1", "item 3"]


def _local(stored: str) -> Path:
    return Path(stored.removeprefix("file://"))


def test_approving_a_selection_publishes_exactly_it(
    page: Page, deployment: Deployment, runs: Runs, screenshot: Any
) -> None:
    cluster = deployment.cluster
    cluster.wait_for_state(REVIEW_DAG, runs.review, "review", {"awaiting_input"}, timeout=300)
    shown = cluster.xcom(REVIEW_DAG, runs.review, "review", "review_items")
    assert [item["label"] for item in shown] == ["item 1", "item 2", "item 3"]
    hitl = cluster.get(f"/dags/{REVIEW_DAG}/dagRuns/{runs.review}/taskInstances/review/-1/hitlDetails")

    # Browse -> Required Actions lists the question; its subject opens the task's form
    page.goto(f"{deployment.url}/")
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Required Actions").click()
    expect(page).to_have_url(re.compile(r"/required_actions"))
    page.get_by_role("link", name=hitl["subject"], exact=True).click()
    review_url = task_instance_url(deployment.url, REVIEW_DAG, runs.review, "review")
    expect(page).to_have_url(f"{review_url}/required_actions")

    # every item's thumbnail really loaded on the page
    page.locator(f'img[alt="{shown[-1]["label"]}"]').scroll_into_view_if_needed()
    selector = ", ".join(f'img[alt="{item["label"]}"]' for item in shown)
    images = loaded_images(page.main_frame, selector, count=len(shown))
    assert all(image["width"] > 0 for image in images), f"a thumbnail did not load: {images}"
    assert sorted(image["src"] for image in images) == sorted(item["url"] for item in shown)

    # tick two items, then approve the selection
    picker = page.locator("#element_selected input[role=combobox]")
    for label in CHOSEN:
        picker.fill(label)
        page.get_by_role("option", name=label, exact=True).click()
    for label in CHOSEN:
        expect(page.locator("#element_selected")).to_contain_text(label)
    page.get_by_test_id("hitl-option-Reject").scroll_into_view_if_needed()
    screenshot("review-required-action")
    with page.expect_response(
        lambda response: response.url.endswith("/hitlDetails") and response.request.method == "PATCH"
    ) as answered:
        page.get_by_test_id("hitl-option-Approve selected").click()
    assert answered.value.status == 200, answered.value.text()
    assert answered.value.request.post_data_json == {
        "chosen_options": ["Approve selected"],
        "params_input": {"selected": CHOSEN, "note": None},
    }

    # the DAG goes on with exactly those items
    assert wait_for_run(cluster, REVIEW_DAG, runs.review) == "success"
    result = cluster.xcom(REVIEW_DAG, runs.review, "review", "return_value")
    assert result["decision"] == "approved"
    assert [item["label"] for item in result["approved"]] == CHOSEN
    assert (result["responded_by"] or {}).get("name") == deployment.user.username
    chosen = [item["stored_path"] for item in shown if item["label"] in CHOSEN]
    assert result["stored_paths"] == chosen
    published = cluster.xcom(REVIEW_DAG, runs.review, "publish", "return_value")
    assert sorted(Path(path).name for path in published) == sorted(_local(path).name for path in chosen)
    assert sorted(path.name for path in runs.published.iterdir()) == sorted(_local(p).name for p in chosen)
    for stored in map(_local, chosen):
        assert (runs.published / stored.name).read_bytes() == stored.read_bytes()
    for map_index in range(3):
        state = cluster.get(f"/dags/{REVIEW_DAG}/dagRuns/{runs.review}/taskInstances/regenerate/{map_index}")
        assert state["state"] == "skipped"
