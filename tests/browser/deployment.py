"""The Airflow deployment the browser suite signs in to: :class:`~tests.system.cluster.AirflowCluster`
with real users instead of "everyone is an admin".

Airflow's simple auth manager reads its users from ``[core] simple_auth_manager_users`` and their
passwords from a JSON file, so the browser meets the real login page and every request carries the
signed-in user's JWT (the ``_token`` cookie), as in production. The REST helpers of the cluster
sign in the same way (:class:`LoginAuth`). DAGs come from two bundles, the repository's example
DAGs and this suite's own (``tests/browser/dags``); they are paused at creation and the suite
unpauses only those it runs (the examples include scheduled ones).
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.system.cluster import AirflowCluster, wait_until

REPO = Path(__file__).resolve().parents[2]
BUNDLES = {"examples": REPO / "dags", "browser": Path(__file__).resolve().parent / "dags"}
#: this suite's DAG (``tests/browser/dags``): two images, then a video, all kept
MEDIA_DAG = "browser_media"
#: the review example (``dags/clipgen_review.py``)
REVIEW_DAG = "clipgen_review"


@dataclass(frozen=True)
class Account:
    """A user of the simple auth manager: name, role (``admin``, ``op``, ``user``, ``viewer``) and a
    password made for this run (kept out of reprs)."""

    username: str
    role: str
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)


#: the user every test acts as (an admin: the review's required action is answered by them)
REVIEWER = Account("reviewer", "admin")


@dataclass(frozen=True)
class ClipiaAccount:
    """A Clipia connection of the deployment and the sandbox API key behind it."""

    conn_id: str
    api_key: str = field(repr=False)


@dataclass(frozen=True)
class Deployment:
    """The started deployment, its user and its Clipia connections (one per DAG, so each
    account's spend is that DAG's own)."""

    cluster: AirflowCluster
    user: Account
    media_account: ClipiaAccount
    review_account: ClipiaAccount

    @property
    def url(self) -> str:
        return self.cluster.api_url(0)


@dataclass(frozen=True)
class Runs:
    """The DAG runs the tests look at, and the folders they write to."""

    #: :data:`MEDIA_DAG`'s run, keeping its files under :attr:`media_out`
    media: str
    media_out: Path
    #: :data:`REVIEW_DAG`'s run: three images under :attr:`review_media`, a review, then what is
    #: approved published to :attr:`published`
    review: str
    review_media: Path
    published: Path


class LoginAuth(httpx.Auth):
    """Bearer auth for the REST API with a JWT the API server issues for ``account``'s name and
    password (``POST /auth/token``), fetched on first use and again when a request answers 401."""

    requires_response_body = True

    def __init__(self, base_url: str, account: Account) -> None:
        self._url = f"{base_url}/auth/token"
        self._account = account
        self._token: str | None = None

    def _sign_in(self) -> Generator[httpx.Request, httpx.Response, str]:
        credentials = {"username": self._account.username, "password": self._account.password}
        answer = yield httpx.Request("POST", self._url, json=credentials)
        if answer.status_code != 201:
            raise RuntimeError(f"signing in as {self._account.username} answered {answer.status_code}")
        return str(answer.json()["access_token"])

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None:
            self._token = yield from self._sign_in()
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:  # expired, or the servers restarted with a new secret
            self._token = yield from self._sign_in()
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request


def signed_in_cluster(home: Path, accounts: Iterable[Account]) -> AirflowCluster:
    """A (not yet started) deployment in ``home`` whose users are ``accounts``; its REST helpers act
    as the first of them."""
    accounts = list(accounts)
    home.mkdir(parents=True, exist_ok=True)
    passwords = home / "simple_auth_manager_passwords.json"
    passwords.write_text(json.dumps({a.username: a.password for a in accounts}))
    bundles = [
        {
            "name": name,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(path)},
        }
        for name, path in BUNDLES.items()
    ]
    settings = {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{a.username}:{a.role}" for a in accounts),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
    }
    cluster = AirflowCluster(home, settings=settings)
    cluster.client.auth = LoginAuth(cluster.api_url(0), accounts[0])
    return cluster


def unpause(cluster: AirflowCluster, dag_ids: Iterable[str], timeout: float = 180) -> None:
    """Wait until the DAG processor has parsed each of ``dag_ids``, then unpause it."""
    dag_ids = list(dag_ids)

    def parsed(dag_id: str) -> bool:
        return cluster.client.get(f"/api/v2/dags/{dag_id}").status_code == 200

    for dag_id in dag_ids:
        wait_until(f"DAG {dag_id} to be parsed", functools.partial(parsed, dag_id), timeout)
        cluster.client.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}).raise_for_status()
    cluster.wait_for_dags(dag_ids)


def wait_for_run(cluster: AirflowCluster, dag_id: str, run_id: str, timeout: float = 300) -> str:
    """Wait until the DAG run ends; return its state (``success`` or ``failed``)."""

    def ended() -> str | None:
        state = str(cluster.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"])
        return state if state in ("success", "failed") else None

    return wait_until(f"{dag_id} run {run_id} to end", ended, timeout, interval=0.5)
