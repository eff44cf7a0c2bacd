"""The browser side of the suite: Chromium's settings, signing in through Airflow's login page, and
what the tests read from pages (the plugin's iframes, whether images really loaded)."""

from __future__ import annotations

import os
import re
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Frame, Page, ViewportSize, expect

from tests.browser.deployment import Account

#: Debian's Chromium (``scripts/setup_browser.sh``); never a browser Playwright downloads
CHROMIUM = os.environ.get("CLIPGEN_CHROMIUM", "/usr/bin/chromium")
#: one size for every page and screenshot: wide enough for Airflow's task panel and its tabs
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}
#: how long a locator waits for the UI on a loaded 2-core machine
UI_TIMEOUT_MS = 60_000


def new_context(browser: Browser, storage_state: Any = None) -> BrowserContext:
    """A browser context of the suite's size and patience (``storage_state``: a signed-in session)."""
    context = browser.new_context(viewport=VIEWPORT, storage_state=storage_state)
    context.set_default_timeout(UI_TIMEOUT_MS)
    return context


def sign_in(page: Page, base_url: str, user: Account, password: str | None = None) -> None:
    """Open Airflow, which sends a signed-out browser to its login page, and sign in there."""
    page.goto(f"{base_url}/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password if password is None else password)
    page.get_by_role("button", name="Sign in").click()


def task_instance_url(base_url: str, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """Airflow's page of a task instance (``…/mapped/N`` for a map index)."""
    url = f"{base_url}/dags/{dag_id}/runs/{run_id}/tasks/{task_id}"
    return url if map_index < 0 else f"{url}/mapped/{map_index}"


def plugin_frame(page: Page, src_part: str) -> Frame:
    """The iframe in which Airflow shows the plugin page whose ``src`` contains ``src_part``, once its
    document has loaded."""
    handle = page.wait_for_selector(f'iframe[src*="{src_part}"]')
    frame = handle.content_frame() if handle else None
    assert frame is not None, f"the iframe of {src_part} has no document"
    frame.wait_for_load_state()
    return frame


def loaded_images(frame: Frame, selector: str, count: int) -> list[dict[str, Any]]:
    """Wait until ``count`` images match ``selector`` in ``frame`` and each has finished loading or
    failed; return each one's ``src`` (as loaded) and natural ``width`` and ``height`` (0 when the
    browser could not decode it). Lazy images load only near the viewport: scroll to them first."""
    frame.wait_for_function(
        """([selector, count]) => {
            const images = [...document.querySelectorAll(selector)];
            return images.length === count && images.every((image) => image.complete);
        }""",
        arg=[selector, count],
    )
    return list(
        frame.eval_on_selector_all(
            selector,
            "images => images.map((i) => ({src: i.currentSrc, width: i.naturalWidth, height: i.naturalHeight}))",
        )
    )
