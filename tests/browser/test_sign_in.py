"""Signing in through Airflow's real login page, and what a signed-in browser then reaches: Airflow's
own pages, the plugin's navigation entry and its routes (which refuse a browser without a session)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.browser.deployment import MEDIA_DAG, REVIEW_DAG, Deployment
from tests.browser.ui import new_context, sign_in


def test_sign_in_reaches_airflow_and_the_plugin(browser: Browser, deployment: Deployment) -> None:
    context = new_context(browser)
    try:
        page = context.new_page()
        # without a session the plugin's routes answer 401
        assert context.request.get(f"{deployment.url}/clipgen-ui/page").status == 401

        sign_in(page, deployment.url, deployment.user, password="not-the-password")
        expect(page.get_by_text("Invalid credentials")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/auth/login"))

        page.get_by_label("Password").fill(deployment.user.password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{deployment.url}/")
        assert "_token" in {cookie["name"] for cookie in context.cookies()}

        # Airflow's own pages, as this user
        page.get_by_role("link", name="Dags", exact=True).click()
        for dag_id in (MEDIA_DAG, REVIEW_DAG):
            expect(page.get_by_role("link", name=dag_id, exact=True)).to_be_visible()
        # the plugin's entry in the navigation, and its routes with the session's cookie
        expect(page.get_by_role("link", name="Clipgen", exact=True)).to_be_visible()
        assert context.request.get(f"{deployment.url}/clipgen-ui/page").status == 200
    finally:
        context.close()


def test_the_plugin_loads_without_an_import_error(deployment: Deployment) -> None:
    """Airflow's home page shows plugin import errors to every user; the provider must cause none."""
    errors = deployment.cluster.get("/plugins/importErrors")
    assert errors["total_entries"] == 0, errors["import_errors"]
    names = {plugin["name"] for plugin in deployment.cluster.get("/plugins")["plugins"]}
    assert "clipgen" in names
