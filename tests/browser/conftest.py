"""Fixtures of the browser suite: one sandbox, one signed-in Airflow deployment, one Chromium.

Set-up for the whole session: the sandbox (quick jobs); a real Airflow 3.3 deployment (API server
with the provider's plugin, scheduler, triggerer, DAG processor) whose simple auth manager has a
real user (:data:`REVIEWER`), not "everyone is an admin"; two Clipia connections (one per DAG, so
each account's spend is the DAG's own); the DAG runs the tests look at, started as soon as the
deployment is up (session fixtures come before the page's); and headless Chromium, Debian's (``scripts/setup_browser.sh``), driven
by Playwright. Chromium signs in once through Airflow's login page; every test gets a fresh page
in a context holding that session (its ``_token`` cookie).

Screenshots go to ``$CLIPGEN_SCREENSHOTS`` (``make screenshots`` sets ``docs/images``) or else to
the session's temporary directory, so a plain run leaves the tree clean. When a test fails, its
report gets a screenshot of the page and the end of every Airflow component's log.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from clipgen_provider.sandbox.server import SandboxServer
from tests.browser.deployment import (
    MEDIA_DAG,
    REPO,
    REVIEW_DAG,
    REVIEWER,
    ClipiaAccount,
    Deployment,
    Runs,
    signed_in_cluster,
    unpause,
)
from tests.browser.ui import CHROMIUM, UI_TIMEOUT_MS, new_context, sign_in
from tests.system.cluster import AirflowCluster

#: where screenshots go when they are meant for the docs (``make screenshots``)
SCREENSHOTS_VARIABLE = "CLIPGEN_SCREENSHOTS"
_SUITE = Path(__file__).resolve().parent
#: how long a test may take, session set-up included (a cold deployment start on a busy machine)
_TEST_TIMEOUT = 900

_cluster: AirflowCluster | None = None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give this suite's tests room for the deployment's start (pytest-timeout counts fixtures)."""
    for item in items:
        if _SUITE in item.path.parents:
            item.add_marker(pytest.mark.timeout(_TEST_TIMEOUT))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """On a failure: a screenshot of the test's page (path in the report) and Airflow's logs."""
    report = yield
    if not report.failed or _SUITE not in item.path.parents:
        return report
    funcargs = getattr(item, "funcargs", {})
    page = funcargs.get("page")
    if isinstance(page, Page) and not page.is_closed():
        shot = Path(funcargs["tmp_path"]) / "failed.png"
        try:
            page.screenshot(path=shot)
            report.sections.append(("Page at the failure", f"{page.url}\nscreenshot: {shot}"))
        except Exception as err:  # the page may be what broke; the report still gets the logs
            report.sections.append(("Page at the failure", f"{page.url}\nno screenshot: {err}"))
    if _cluster is not None:
        report.sections.append((f"Airflow logs (all of them under {_cluster.home})", _cluster.logs()))
    return report


# -- services ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """The sandbox with quick jobs: the UI, not the generation, is under test (its start may take a
    while on a busy machine)."""
    with SandboxServer("--queue-seconds", "0.2", "--run-seconds", "0.5", startup_timeout=120) as server:
        yield server


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory, sandbox: SandboxServer) -> Iterator[Deployment]:
    """API server, scheduler, triggerer, DAG processor with :data:`REVIEWER` as its user: started
    once, stopped at the end (also when a test or the start itself fails)."""
    global _cluster
    home = tmp_path_factory.mktemp("airflow")
    accounts = [
        ClipiaAccount(name, f"clipia_test_{uuid.uuid4().hex}") for name in ("clipia_default", "clipia_review")
    ]
    with signed_in_cluster(home, [REVIEWER]) as cluster:
        _cluster = cluster
        try:
            for account in accounts:
                cluster.set_connection(
                    account.conn_id, conn_type="clipia", host=sandbox.url, password=account.api_key, extra={}
                )
            unpause(cluster, [MEDIA_DAG, REVIEW_DAG])
            yield Deployment(cluster, REVIEWER, *accounts)
        finally:
            _cluster = None


@pytest.fixture(scope="session")
def runs(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Both DAG runs, started at once (each test waits for the state it needs)."""
    root = tmp_path_factory.mktemp("media")
    cluster = deployment.cluster
    media = cluster.trigger(MEDIA_DAG, out=f"file://{root / 'generated'}")
    review = cluster.trigger(
        REVIEW_DAG,
        clipia_conn_id=deployment.review_account.conn_id,
        media_root=f"file://{root / 'review'}",
        publish_to=f"file://{root / 'published'}",
    )
    return Runs(media, root / "generated", review, root / "review", root / "published")


# -- the browser ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (never a downloaded one: ``scripts/setup_browser.sh``)."""
    if not Path(CHROMIUM).is_file():
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/setup_browser.sh (or set CLIPGEN_CHROMIUM)")
    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def signed_in_state(browser: Browser, deployment: Deployment) -> Any:
    """The browser session of :data:`REVIEWER` after signing in through the login page."""
    context = new_context(browser)
    try:
        page = context.new_page()
        sign_in(page, deployment.url, deployment.user)
        expect(page).to_have_url(f"{deployment.url}/")
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, signed_in_state: Any, tmp_path: Path) -> Iterator[Page]:
    """A fresh page of the signed-in user (a failed test's screenshot goes to ``tmp_path``)."""
    context = new_context(browser, signed_in_state)
    try:
        yield context.new_page()
    finally:
        context.close()


# -- screenshots ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``$CLIPGEN_SCREENSHOTS`` (relative to the repository), else a temporary directory."""
    named = os.environ.get(SCREENSHOTS_VARIABLE)
    if not named:
        return tmp_path_factory.mktemp("screenshots")
    folder = Path(named) if Path(named).is_absolute() else REPO / named
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(page: Page, screenshot_dir: Path) -> Any:
    """``screenshot("name")`` saves the page as ``name.png`` in :func:`screenshot_dir`."""

    def take(name: str) -> Path:
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=path, animations="disabled", caret="hide")
        assert path.stat().st_size > 10_000, f"{path} is nearly empty"
        return path

    return take
