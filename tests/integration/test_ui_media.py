"""The Media tab, the media route and the Clipgen page after real generations against the sandbox.

The DAGs (``tests/integration/dags/ui_scenarios.py``) run in-process and store their media under
a temporary folder; the pages are then requested through Airflow's real API app (``create_app``,
which mounts the provider's plugin apps as the API server does) with real JWTs of its
SimpleAuthManager. The DAG ``ui_media_private`` is moved into a bundle of team ``vault``, which
the ``studio`` viewer is not in: Airflow's own way of keeping a DAG from a user. Airflow 3.1's
SimpleAuthManager has no teams: there the DAG stays where it is, and what depends on the team is
skipped.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from tests.airflow_compat import SIMPLE_AUTH_MANAGER_HAS_TEAMS, requires_teams, simple_auth_user
from tests.integration.dagrun import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")
PREFIX = "/clipgen-ui"
JWT_SECRET = "ui-integration-" + "s" * 64


@pytest.fixture(scope="module")
def env(sandbox: Any) -> Iterator[dict[str, str]]:
    """The sandbox's Clipia as ``clipia_default`` (one account for the module), a JWT secret."""
    key = f"clipia_test_{uuid.uuid4().hex}"
    conn = json.dumps({"conn_type": "clipia", "host": sandbox.url, "password": key})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_CLIPIA_DEFAULT", conn)
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", JWT_SECRET)
        yield {"key": key}


def _latest_run_id(dag_id: str) -> str:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return str(
            session.scalar(select(DagRun.run_id).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()))
        )


def _give_to_team(dag_id: str, team: str) -> None:
    """Move ``dag_id`` into a bundle owned by ``team`` (how Airflow scopes DAGs to teams)."""
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.team import Team
    from airflow.utils.session import create_session

    with create_session() as session:
        owner = session.get(Team, team) or Team(name=team)
        bundle = session.get(DagBundleModel, f"{team}_bundle") or DagBundleModel(name=f"{team}_bundle")
        if owner not in bundle.teams:
            bundle.teams.append(owner)
        session.add_all([owner, bundle])
        session.flush()
        dag = session.get(DagModel, dag_id)
        assert dag is not None
        dag.bundle_name = bundle.name


@pytest.fixture(scope="module")
def runs(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both DAGs, run once each; the private one then given to team ``vault`` (where Airflow has teams)."""
    out = tmp_path_factory.mktemp("ui_media")
    studio = run_dag("ui_media_studio", out=f"file://{out}/studio", shelf="the top shelf")
    private = run_dag("ui_media_private", out=f"file://{out}/private")
    assert studio.state == private.state == "success", (studio.task_states, private.task_states)
    if SIMPLE_AUTH_MANAGER_HAS_TEAMS:
        _give_to_team("ui_media_private", "vault")
    return {
        "studio": studio,
        "private": private,
        "studio_run": _latest_run_id("ui_media_studio"),
        "private_run": _latest_run_id("ui_media_private"),
    }


@pytest.fixture(scope="module")
def api(runs: dict[str, Any]) -> Iterator[TestClient]:
    """Airflow's API server app, with every plugin app mounted, in-process."""
    from airflow.api_fastapi.app import create_app

    with TestClient(create_app(), base_url="http://airflow") as client:
        yield client


def user(role: str | None, teams: list[str] | None = None) -> dict[str, str]:
    """The ``Authorization`` header of a signed-in user (a real JWT of the auth manager)."""
    from airflow.api_fastapi.app import get_auth_manager

    jwt = get_auth_manager().generate_jwt(simple_auth_user(f"user_{role}", role, teams))
    return {"Authorization": f"Bearer {jwt}"}


def sources(html: str, css_class: str) -> list[str]:
    """The ``src`` of every element of ``css_class``."""
    return [unescape(src) for src in re.findall(rf'class="{css_class}"[^>]*?src="([^"]+)"', html)]


def fetch(api: TestClient, src: str, headers: dict[str, str]) -> Any:
    """GET a media source: relative to the UI's pages (``media/file?…``, a stored copy) through the
    API server, or the API's own URL (an item kept without ``output_path``) from the sandbox."""
    parts = urlsplit(src)
    if parts.scheme:
        return httpx.get(src)
    return api.get(f"{PREFIX}/{parts.path}", params=dict(parse_qsl(parts.query)), headers=headers)


def test_media_tab_of_an_image_generation_serves_the_stored_copies(api, runs):
    viewer = user("viewer", ["studio"])
    params = {
        "dag_id": "ui_media_studio",
        "run_id": runs["studio_run"],
        "task_id": "image",
        "map_index": "{MAP_INDEX}",
    }
    answer = api.get(f"{PREFIX}/media", params=params, headers=viewer)
    assert answer.status_code == 200
    html = answer.text
    result = runs["studio"].value("image")
    assert f'class="clipgen-job-id">{result["request_id"]}<' in html
    assert 'class="clipgen-model">nano-banana-2<' in html
    assert 'class="clipgen-status">COMPLETED<' in html
    assert f">{result['cost']:g} credits<" in html
    assert "a red mug on the top shelf" in html  # the prompt as rendered
    for path in result["stored_paths"]:
        assert f"<code>{path}</code>" in html
    assert f"/v1/requests/{result['request_id']}" in html  # the API's result link
    thumbs = sources(html, "clipgen-thumb")
    assert len(thumbs) == 2
    for index, src in enumerate(thumbs):
        served = fetch(api, src, viewer)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        assert served.content == Path(urlsplit(result["stored_paths"][index]).path).read_bytes()


def test_media_tab_of_a_mapped_video_shows_its_own_map_index_and_seeks(api, runs):
    viewer = user("viewer", ["studio"])
    mine = runs["studio"].mapped_xcoms[("clips", "return_value", 1)]
    other = runs["studio"].mapped_xcoms[("clips", "return_value", 0)]
    params = {"dag_id": "ui_media_studio", "run_id": runs["studio_run"], "task_id": "clips", "map_index": "1"}
    html = api.get(f"{PREFIX}/media", params=params, headers=viewer).text
    assert mine["request_id"] in html
    assert other["request_id"] not in html
    assert "a mug falling" in html
    assert "a mug spinning" not in html
    [player] = sources(html, "clipgen-player")
    stored = Path(urlsplit(mine["stored_paths"][0]).path).read_bytes()
    whole = fetch(api, player, viewer)
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.content == stored
    parts = urlsplit(player)
    query = dict(parse_qsl(parts.query))
    ranged = api.get(f"{PREFIX}/{parts.path}", params=query, headers={**viewer, "Range": "bytes=10-49"})
    assert ranged.status_code == 206
    assert ranged.headers["content-range"] == f"bytes 10-49/{len(stored)}"
    assert ranged.content == stored[10:50]
    past = api.get(
        f"{PREFIX}/{parts.path}", params=query, headers={**viewer, "Range": f"bytes={len(stored)}-"}
    )
    assert past.status_code == 416


def test_plain_task_shows_the_empty_state(api, runs):
    params = {"dag_id": "ui_media_studio", "run_id": runs["studio_run"], "task_id": "not_a_generation"}
    html = api.get(f"{PREFIX}/media", params=params, headers=user("viewer")).text
    assert 'id="clipgen-media-empty"' in html


def private_params(runs: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The query of the private DAG's Media tab, and of its first media file."""
    private = {"dag_id": "ui_media_private", "run_id": runs["private_run"], "task_id": "image"}
    return private, {**private, "index": "0"}


def test_without_a_token_401_without_a_role_403_and_an_admin_reads_all(api, runs):
    private, file_params = private_params(runs)
    for route, params in (
        ("/media", private),
        ("/media/file", file_params),
        ("/page", {}),
        ("/balance", {"conn_id": "clipia_default"}),
    ):
        assert api.get(PREFIX + route, params=params).status_code == 401, route
    nobody = user(None)
    assert api.get(f"{PREFIX}/media", params=private, headers=nobody).status_code == 403
    assert api.get(f"{PREFIX}/media/file", params=file_params, headers=nobody).status_code == 403
    admin = user("admin")
    assert api.get(f"{PREFIX}/media", params=private, headers=admin).status_code == 200
    served = api.get(f"{PREFIX}/media/file", params=file_params, headers=admin)
    stored = runs["private"].value("image")["stored_paths"][0]
    assert served.content == Path(urlsplit(stored).path).read_bytes()


@requires_teams
def test_for_a_dag_of_another_team_403(api, runs):
    private, file_params = private_params(runs)
    studio = user("viewer", ["studio"])
    assert api.get(f"{PREFIX}/media", params=private, headers=studio).status_code == 403
    assert api.get(f"{PREFIX}/media/file", params=file_params, headers=studio).status_code == 403
    assert api.get(f"{PREFIX}/page", params={"dag_id": "ui_media_private"}, headers=studio).status_code == 403


def test_the_ui_iframe_cookie_signs_in(api, runs):
    from airflow.api_fastapi.app import get_auth_manager

    jwt = get_auth_manager().generate_jwt(simple_auth_user("cookie", "viewer"))
    api.cookies.set("_token", jwt)
    try:
        assert api.get(f"{PREFIX}/page").status_code == 200
    finally:
        api.cookies.clear()


@requires_teams
def test_clipgen_page_leaves_out_a_dag_of_another_team(api, runs):
    html = api.get(f"{PREFIX}/page", headers=user("viewer", ["studio"])).text
    assert 'data-dag-id="ui_media_studio"' in html
    assert "ui_media_private" not in html


def test_clipgen_page_shows_spend_and_gallery(api, runs):
    html = api.get(f"{PREFIX}/page", headers=user("viewer", ["studio"])).text
    assert '<svg id="clipgen-spend-plot"' in html
    bars = re.findall(r'data-dag="([^"]+)" data-day="[^"]+" data-credits="([^"]+)"', html)
    studio = runs["studio"]
    spent = studio.value("image")["cost"] + sum(
        value["cost"]
        for (task, key, _), value in studio.mapped_xcoms.items()
        if task == "clips" and key == "return_value"
    )
    assert sum(float(c) for dag, c in bars if dag == "ui_media_studio") == spent
    items = re.findall(
        r'class="clipgen-gallery-item" data-dag-id="ui_media_studio" data-task-id="(\w+)" data-map-index="(-?\d)"',
        html,
    )
    assert set(items) >= {("image", "-1"), ("clips", "0"), ("clips", "1")}
    run_path = runs["studio_run"].replace(":", "%3A").replace("+", "%2B")
    assert f'href="/dags/ui_media_studio/runs/{run_path}/tasks/clips/mapped/1"' in html
    for src in sources(html, "clipgen-thumb")[:2]:
        assert fetch(api, src, user("viewer", ["studio"])).status_code == 200
    by_model = api.get(f"{PREFIX}/page", params={"model": "seedance-2-fast-t2v"}, headers=user("admin")).text
    models = re.findall(r'<span class="clipgen-model">([^<]+)</span>', by_model)
    assert models
    assert set(models) == {"seedance-2-fast-t2v"}


def test_balance_is_read_from_clipia_on_demand_for_users_who_may_read_the_connection(api, runs, env, sandbox):
    page = api.get(f"{PREFIX}/page", headers=user("admin")).text
    assert 'data-conn-id="clipia_default"' in page
    answer = api.get(f"{PREFIX}/balance", params={"conn_id": "clipia_default"}, headers=user("admin"))
    assert answer.status_code == 200
    account = httpx.get(f"{sandbox.url}/v1/account", headers={"Authorization": f"Bearer {env['key']}"}).json()
    assert answer.json() == {"conn_id": "clipia_default", "credits": account["balance"]["credits"]}
    assert env["key"] not in answer.text
    viewer = api.get(f"{PREFIX}/balance", params={"conn_id": "clipia_default"}, headers=user("viewer"))
    assert viewer.status_code == 403
    assert 'data-conn-id="clipia_default"' not in api.get(f"{PREFIX}/page", headers=user("viewer")).text
    unknown = api.get(f"{PREFIX}/balance", params={"conn_id": "nope"}, headers=user("admin"))
    assert unknown.status_code == 502
    assert "nope" in unknown.json()["detail"]


def test_airflow_lists_the_tab_and_the_page(api, runs):
    plugins = api.get("/api/v2/plugins", headers=user("admin")).json()["plugins"]
    views = {
        view["url_route"]: view
        for plugin in plugins
        if plugin["name"] == "clipgen"
        for view in plugin["external_views"]
    }
    assert views["clipgen-media"]["destination"] == "task_instance"
    assert views["clipgen"]["destination"] == "nav"
