"""The Clipgen page, opened from Airflow's navigation: the spend plot, a balance read on demand,
the gallery, its DAG filter, and a gallery link that opens the task instance in Airflow."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from clipgen_provider.sandbox.server import SandboxServer
from tests.browser.deployment import MEDIA_DAG, REVIEW_DAG, Deployment, Runs, wait_for_run
from tests.browser.ui import loaded_images, plugin_frame, task_instance_url

MEDIA_TASKS = ("product_shots", "turntable_clip")


def _sandbox_balance(sandbox: SandboxServer, api_key: str) -> float:
    answer = httpx.get(
        f"{sandbox.url}/v1/account", headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    )
    answer.raise_for_status()
    return float(answer.json()["balance"]["credits"])


def _review_generations_done(deployment: Deployment, runs: Runs) -> None:
    """Wait until the review example's three images exist (its review then asks)."""
    deployment.cluster.wait_for_state(REVIEW_DAG, runs.review, "review", {"awaiting_input"}, timeout=300)


def test_spend_plot_balance_and_gallery(
    page: Page, deployment: Deployment, runs: Runs, sandbox: SandboxServer, screenshot: Any
) -> None:
    cluster = deployment.cluster
    assert wait_for_run(cluster, MEDIA_DAG, runs.media) == "success"
    _review_generations_done(deployment, runs)
    costs = {task: cluster.xcom(MEDIA_DAG, runs.media, task, "return_value")["cost"] for task in MEDIA_TASKS}

    page.goto(f"{deployment.url}/")
    page.get_by_role("link", name="Clipgen", exact=True).click()
    expect(page).to_have_url(re.compile(r"/plugin/clipgen"))
    frame = plugin_frame(page, "clipgen-ui/page")

    # the plot: today's bar of each DAG, as tall as its credits
    bars = frame.locator("svg#clipgen-spend-plot rect.clipgen-bar")
    expect(bars).to_have_count(2)
    drawn = bars.evaluate_all(
        "bars => bars.map((bar) => ({dag: bar.dataset.dag, credits: Number(bar.dataset.credits),"
        " height: bar.getBBox().height}))"
    )
    by_dag = {bar["dag"]: bar for bar in drawn}
    assert by_dag[MEDIA_DAG]["credits"] == pytest.approx(sum(costs.values()))
    assert by_dag[REVIEW_DAG]["credits"] > 0
    ratio = by_dag[MEDIA_DAG]["height"] / by_dag[REVIEW_DAG]["height"]
    assert ratio == pytest.approx(by_dag[MEDIA_DAG]["credits"] / by_dag[REVIEW_DAG]["credits"], rel=0.02)

    # a balance is read from Clipia only when asked, and is the account's
    balance = frame.locator(f'tr.clipgen-balance[data-conn-id="{deployment.media_account.conn_id}"]')
    balance.get_by_role("button", name="Read balance").click()
    shown = balance.locator("output.clipgen-balance-value")
    expect(shown).to_have_text(re.compile(r"^[0-9.]+ credits$"))
    assert float(shown.inner_text().split()[0]) == _sandbox_balance(sandbox, deployment.media_account.api_key)

    # the gallery: every generation of both runs, thumbnails loaded, each linking to its task instance
    expect(frame.locator(f'.clipgen-gallery-item[data-dag-id="{MEDIA_DAG}"]')).to_have_count(2)
    expect(frame.locator(f'.clipgen-gallery-item[data-dag-id="{REVIEW_DAG}"]')).to_have_count(3)
    images = loaded_images(frame, ".clipgen-gallery-item img.clipgen-thumb", count=4)
    assert all(image["width"] > 0 for image in images), f"a gallery thumbnail did not load: {images}"
    links = frame.locator(f'.clipgen-gallery-item[data-dag-id="{MEDIA_DAG}"] a.clipgen-ti-link')
    hrefs = sorted(links.evaluate_all("links => links.map((link) => link.href)"))
    assert hrefs == [task_instance_url(deployment.url, MEDIA_DAG, runs.media, task) for task in MEDIA_TASKS]
    screenshot("ui-clipgen-page")

    # filtering by DAG keeps that DAG's generations only
    frame.locator('#clipgen-filter select[name="dag_id"]').select_option(MEDIA_DAG)
    frame.locator("#clipgen-filter").get_by_role("button", name="Filter").click()
    frame.wait_for_url(re.compile(rf"[?&]dag_id={MEDIA_DAG}(&|$)"))
    expect(frame.locator(".clipgen-gallery-item")).to_have_count(2)
    expect(frame.locator(f'.clipgen-gallery-item:not([data-dag-id="{MEDIA_DAG}"])')).to_have_count(0)

    # a gallery link opens the task instance in Airflow itself, not inside the frame
    frame.locator('.clipgen-gallery-item[data-task-id="product_shots"] a.clipgen-ti-link').click()
    expect(page).to_have_url(task_instance_url(deployment.url, MEDIA_DAG, runs.media, "product_shots"))
    expect(page.get_by_role("link", name="Media", exact=True)).to_be_visible()
