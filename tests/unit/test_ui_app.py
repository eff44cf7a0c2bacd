"""The UI app over ASGI against a real SQLite metadata database, with Airflow's real auth.

Users are signed in with real JWTs of Airflow's SimpleAuthManager. Per-DAG permissions come from
its teams (the FAB-free way Airflow restricts a DAG): the ``vault`` DAGs belong to a bundle of
team ``vault``, which the ``studio`` viewer is not in. Airflow 3.1's SimpleAuthManager has no
teams: there the ``vault`` bundle has none, and the tests that keep a DAG from a team are skipped.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from bench.ui_seed import SeedPlan, remove, seed
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from clipgen_provider.ui import URL_PREFIX
from clipgen_provider.ui.app import create_ui_app
from tests.airflow_compat import SIMPLE_AUTH_MANAGER_HAS_TEAMS, requires_teams, simple_auth_user
from tests.unit import test_webhook_airflow_internals as metadata_db

airflow_db = metadata_db.airflow_db
NOW = datetime.now(tz=timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="module")
def jwt_secret() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "ui-tests-" + "s" * 64)
        yield


@pytest.fixture(scope="module")
def seeded(airflow_db: Path, jwt_secret: None) -> Iterator[dict[str, list[str]]]:
    """Open DAGs (no team) and ``vault`` DAGs (team ``vault`` where Airflow has teams), a few
    generations each."""
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.team import Team
    from airflow.utils.session import create_session

    tag = uuid.uuid4().hex[:6]
    with create_session() as session:
        bundle = DagBundleModel(name=f"vault_{tag}")
        if SIMPLE_AUTH_MANAGER_HAS_TEAMS:
            team = session.get(Team, "vault") or Team(name="vault")
            bundle.teams.append(team)
        session.add(bundle)
        session.flush()
        open_ids = seed(
            session,
            SeedPlan(dags=2, runs_per_dag=3, generations_per_run=2, days=3, prefix=f"open_{tag}"),
            now=NOW,
        )
        vault_ids = seed(
            session,
            SeedPlan(dags=1, runs_per_dag=2, generations_per_run=1, days=2, prefix=f"vault_{tag}"),
            now=NOW,
            bundle=bundle.name,
        )
    yield {"open": open_ids, "vault": vault_ids}
    with create_session() as session:
        remove(session, open_ids + vault_ids)


def token(role: str | None, teams: list[str] | None = None) -> str:
    from airflow.api_fastapi.app import create_auth_manager

    return create_auth_manager().generate_jwt(simple_auth_user(f"u_{role}", role, teams))


@pytest.fixture(scope="module")
def client(seeded: Any) -> Iterator[TestClient]:
    """The UI app mounted at its prefix, as the plugin mounts it on the API server."""
    from airflow.api_fastapi.app import init_auth_manager

    init_auth_manager()  # what the API server does at start
    api = Starlette(routes=[Mount(URL_PREFIX, create_ui_app())])
    with TestClient(api, base_url="http://airflow") as test_client:
        yield test_client


def auth(role: str | None = "viewer", teams: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, teams)}"}


def tab_params(
    dag_id: str, run: str = "seed__000002", task: str = "generate", map_index: Any = 1
) -> dict[str, Any]:
    return {"dag_id": dag_id, "run_id": run, "task_id": task, "map_index": map_index}


ROUTES = ["/media", "/media/file", "/page", "/balance"]


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_wants_a_signed_in_user(client, seeded, route):
    params = {**tab_params(seeded["open"][0]), "index": 0, "conn_id": "clipia_default"}
    assert client.get(URL_PREFIX + route, params=params).status_code == 401
    bad = {"Authorization": "Bearer not-a-jwt"}
    assert client.get(URL_PREFIX + route, params=params, headers=bad).status_code in (401, 403)


def test_the_token_cookie_signs_in_like_the_ui_iframe(client, seeded):
    answer = client.get(
        URL_PREFIX + "/media", params=tab_params(seeded["open"][0]), cookies={"_token": token("viewer")}
    )
    assert answer.status_code == 200
    assert 'class="clipgen-model">' in answer.text


@requires_teams
def test_media_tab_and_file_of_a_dag_the_user_may_not_read_are_403(client, seeded):
    vault = tab_params(seeded["vault"][0], run="seed__000001", map_index=0)
    studio = auth("viewer", ["studio"])
    assert client.get(URL_PREFIX + "/media", params=vault, headers=studio).status_code == 403
    assert (
        client.get(URL_PREFIX + "/media/file", params={**vault, "index": 0}, headers=studio).status_code
        == 403
    )
    assert (
        client.get(URL_PREFIX + "/media", params=vault, headers=auth("viewer", ["vault"])).status_code == 200
    )


def test_a_user_without_a_role_reads_no_media_and_an_admin_all(client, seeded):
    vault = tab_params(seeded["vault"][0], run="seed__000001", map_index=0)
    assert client.get(URL_PREFIX + "/media", params=vault, headers=auth("admin")).status_code == 200
    open_tab = tab_params(seeded["open"][0])
    assert client.get(URL_PREFIX + "/media", params=open_tab, headers=auth(None)).status_code == 403
    file_params = {**open_tab, "index": 0}
    assert client.get(URL_PREFIX + "/media/file", params=file_params, headers=auth(None)).status_code == 403


def test_media_tab_shows_the_generation_of_its_own_map_index(client, seeded):
    dag_id = seeded["open"][0]
    page = client.get(URL_PREFIX + "/media", params=tab_params(dag_id, map_index=1), headers=auth()).text
    assert f"{dag_id}-seed__000002-1" in page  # the job id of map index 1
    assert f"{dag_id}-seed__000002-0" not in page
    assert 'id="clipgen-prompt"' in page
    assert "4 credits" in page


def test_media_tab_of_a_plain_task_and_of_an_unmapped_placeholder(client, seeded):
    params = tab_params(seeded["open"][0], task="publish", map_index="{MAP_INDEX}")
    page = client.get(URL_PREFIX + "/media", params=params, headers=auth()).text
    assert 'id="clipgen-media-empty"' in page
    assert "does not generate media" in page
    missing = client.get(
        URL_PREFIX + "/media", params=tab_params(seeded["open"][0], run="nope"), headers=auth()
    )
    assert "does not exist" in missing.text
    bad = client.get(
        URL_PREFIX + "/media", params=tab_params(seeded["open"][0], map_index="x"), headers=auth()
    )
    assert bad.status_code == 422


def test_media_file_serves_only_indexes_of_the_recorded_paths(client, seeded):
    params = tab_params(seeded["open"][0], map_index=0)
    for index in (5, -1):
        answer = client.get(URL_PREFIX + "/media/file", params={**params, "index": index}, headers=auth())
        assert answer.status_code in (404, 422)
    # no parameter names a path: one in the query string is ignored
    traversal = {**params, "index": 0, "path": "file:///etc/passwd"}
    answer = client.get(URL_PREFIX + "/media/file", params=traversal, headers=auth())
    assert b"root:" not in answer.content


@requires_teams
def test_page_lists_only_readable_dags_and_refuses_a_filter_on_another(client, seeded):
    studio = auth("viewer", ["studio"])
    page = client.get(URL_PREFIX + "/page", headers=studio)
    assert page.status_code == 200
    assert seeded["open"][0] in page.text
    assert seeded["vault"][0] not in page.text
    admin_page = client.get(
        URL_PREFIX + "/page", params={"dag_id": seeded["vault"][0]}, headers=auth("admin")
    )
    assert 'class="clipgen-gallery-item"' in admin_page.text
    refused = client.get(URL_PREFIX + "/page", params={"dag_id": seeded["vault"][0]}, headers=studio)
    assert refused.status_code == 403


def test_gallery_pages_with_a_cursor_and_filters(client, seeded):
    dag_id = seeded["open"][1]
    seen: list[tuple[str, str]] = []
    url, params, pages = URL_PREFIX + "/page", {"dag_id": dag_id, "per_page": "4"}, 0
    while True:
        html = client.get(url, params=params, headers=auth()).text
        pages += 1
        seen += re.findall(
            r'data-task-id="generate" data-map-index="(\d)">.*?clipgen-ti-link" href="([^"]+)"', html, re.S
        )
        found = re.search(r'id="clipgen-next-page" href="page\?([^"#]+)', html)
        if not found:
            break
        params = dict(parse_qsl(unescape(found.group(1))))
    assert pages == 2
    assert len(seen) == len(set(seen)) == 6  # 3 runs x 2 map indexes, each exactly once
    assert all(
        link.startswith(f"/dags/{dag_id}/runs/seed__") and "/tasks/generate/mapped/" in link
        for _, link in seen
    )
    by_model = client.get(url, params={"dag_id": dag_id, "model": "no-such-model"}, headers=auth()).text
    assert 'id="clipgen-gallery-empty"' in by_model
    yesterday = (NOW - timedelta(days=400)).date().isoformat()
    assert 'id="clipgen-gallery-empty"' in client.get(url, params={"day": yesterday}, headers=auth()).text
    assert client.get(url, params={"cursor": "garbage"}, headers=auth()).status_code == 422
    assert client.get(url, params={"day": "someday"}, headers=auth()).status_code == 422


def spend_bars(client: TestClient, headers: dict[str, str]) -> list[tuple[str, str, str]]:
    """The Clipgen page's spend plot as ``(dag_id, day, credits)`` bars, as ``headers``' user sees it."""
    html = client.get(URL_PREFIX + "/page", headers=headers).text
    assert '<svg id="clipgen-spend-plot"' in html
    return re.findall(r'data-dag="([^"]+)" data-day="([^"]+)" data-credits="([^"]+)"', html)


def test_spend_plot_has_a_bar_per_dag_and_day(client, seeded):
    ours = [bar for bar in spend_bars(client, auth()) if bar[0] in seeded["open"]]
    assert ours
    assert sum(float(credits) for _, _, credits in ours) == 2 * 3 * 2 * 4.0


@requires_teams
def test_spend_plot_leaves_out_the_dags_of_another_team(client, seeded):
    bars = spend_bars(client, auth("viewer", ["studio"]))
    assert [bar for bar in bars if bar[0] in seeded["open"]]
    assert not [bar for bar in bars if bar[0] in seeded["vault"]]
