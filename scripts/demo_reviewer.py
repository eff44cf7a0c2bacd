"""The demo's reviewer: answers the review gates of an example DAG the way a person would.

``airflow dags test`` keeps a run going while a human-in-the-loop task awaits input, until an
answer is recorded from outside. :class:`ReviewerApiServer` is that outside: an ``airflow
api-server`` on a free loopback port, on the demo's own home and SQLite database, with one demo
user (``reviewer``, password kept in the throw-away home's passwords file, never printed).
:func:`answer_reviews` signs in as that user (``POST /auth/token``) and answers each review
through the human-in-the-loop REST endpoint the Required Actions page itself calls.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar
from urllib.parse import quote

import httpx

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
REVIEWER = "reviewer"
#: what the demo's reviewer answers: approve the first and the third item
ANSWER: dict[str, Any] = {
    "chosen_options": ["Approve selected"],
    "params_input": {"selected": ["item 1", "item 3"], "note": None},
}
#: an API server starts in well under a minute; a loaded 2-core machine needs a few
READY_TIMEOUT = 300.0
POLL_SECONDS = 0.5
_STOP_GRACE_SECONDS = 15.0
T = TypeVar("T")


def review_gates(env: Mapping[str, str]) -> dict[str, list[str]]:
    """The task ids of every ``ClipgenReviewOperator`` of each example DAG (parsed in a child process)."""
    code = """
import json
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow 3.1 keeps it in airflow.models (3.3 deprecates that home)
    from airflow.models.dagbag import DagBag
from clipgen_provider.operators.review import ClipgenReviewOperator
bag = DagBag()
if bag.import_errors:
    raise SystemExit(f"the example DAGs do not import: {bag.import_errors}")
print("REVIEW_GATES", json.dumps({
    dag_id: [task.task_id for task in dag.tasks if isinstance(task, ClipgenReviewOperator)]
    for dag_id, dag in bag.dags.items()
}))
"""
    listed = subprocess.run([sys.executable, "-c", code], env=dict(env), capture_output=True, text=True)
    if listed.returncode != 0:
        raise RuntimeError(f"listing the review gates of the example DAGs failed:\n{listed.stderr[-3000:]}")
    # Airflow may log to stdout too (at DEBUG, say): the answer is the line with its marker
    answer = next(line for line in listed.stdout.splitlines() if line.startswith("REVIEW_GATES "))
    gates: dict[str, list[str]] = json.loads(answer.removeprefix("REVIEW_GATES "))
    return {dag_id: task_ids for dag_id, task_ids in gates.items() if task_ids}


def waiting_state() -> str:
    """The state of a review gate's task while it waits for its answer: ``awaiting_input`` where
    Airflow has that state (3.3), ``deferred`` (to the standard provider's ``HITLTrigger``) before."""
    from airflow.utils.state import TaskInstanceState

    return "awaiting_input" if hasattr(TaskInstanceState, "AWAITING_INPUT") else "deferred"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(what: str, check: Callable[[], T | None], timeout: float) -> T:
    """Call ``check`` every :data:`POLL_SECONDS` until it returns a value; raise after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (httpx.TransportError, ValueError, KeyError) as err:
            last_error, result = err, None
        if result:
            return result
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error!r})")


class ReviewerApiServer:
    """An ``airflow api-server`` for the demo's reviewer; use as a context manager (stopped however it ends).

    :param env: the demo's environment (its ``AIRFLOW_HOME`` and database)
    :param log_path: where the API server's output goes
    """

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        home = Path(env["AIRFLOW_HOME"])
        self._password = secrets.token_urlsafe(16)
        passwords = home / "demo_reviewer_passwords.json"
        passwords.write_text(json.dumps({REVIEWER: self._password}))
        passwords.chmod(0o600)
        #: the demo's environment plus this API server's: give it to ``airflow dags test`` too, so
        #: the review logs the address of this server's Required Actions page
        self.env = {
            **env,
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(64),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{REVIEWER}:user",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        }
        self._process: subprocess.Popen[bytes] | None = None
        self._token: str | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the API server (it gets ready in the background: see :meth:`wait_ready`)."""
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends its workers too
            )

    def check_alive(self) -> None:
        """Raise, with the end of its log, if the API server exited."""
        if self._process is None or self._process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
            raise RuntimeError(f"the demo's API server is not running; its log ends:\n{tail}")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until the API server answers and reaches the metadata database."""

        def healthy() -> bool:
            self.check_alive()
            health = httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
            return bool(health["metadatabase"]["status"] == "healthy")

        _wait_until(f"the API server at {self.url}", healthy, timeout)

    def stop(self) -> None:
        """SIGTERM the API server's process group, SIGKILL it after a grace period; safe to call twice."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=_STOP_GRACE_SECONDS)
        with contextlib.suppress(ProcessLookupError, PermissionError):  # whatever is left of the group
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def __enter__(self) -> ReviewerApiServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- the reviewer's calls -------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        """The reviewer's JWT, as a person gets it by signing in."""
        if self._token is None:
            response = httpx.post(
                f"{self.url}/auth/token",
                json={"username": REVIEWER, "password": self._password},
                timeout=30,
            )
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return {"Authorization": f"Bearer {self._token}"}

    def waiting_reviews(self, dag_id: str) -> list[dict[str, Any]]:
        """The unanswered human-in-the-loop requests of ``dag_id`` whose task awaits input."""
        response = httpx.get(
            f"{self.url}/api/v2/dags/{dag_id}/dagRuns/~/hitlDetails",
            params={"state": waiting_state(), "response_received": False},
            headers=self._headers(),
            timeout=30,
        )
        response.raise_for_status()
        return list(response.json()["hitl_details"])

    def answer(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> dict[str, Any]:
        """Answer one review with :data:`ANSWER`; return the recorded detail."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/{map_index}"
        response = httpx.patch(
            f"{self.url}{path}/hitlDetails", json=ANSWER, headers=self._headers(), timeout=30
        )
        if response.status_code != 200:
            raise RuntimeError(f"answering {dag_id}/{task_id} failed: {response.status_code} {response.text}")
        return dict(response.json())

    def required_actions_url(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
        """The address of the review's page in Airflow's UI (Browse → Required Actions)."""
        run = quote(run_id, safe="")
        return f"{self.url}/dags/{dag_id}/runs/{run}/tasks/{task_id}/required_actions?map_index={map_index}"


def answer_reviews(
    server: ReviewerApiServer, dag_id: str, task_ids: list[str], run: subprocess.Popen[bytes]
) -> int:
    """Answer every review gate ``task_ids`` of ``dag_id`` as it comes to await input, until ``run``
    (the ``airflow dags test`` process) ends; return how many reviews were answered."""
    server.wait_ready()
    answered: set[tuple[str, str, int]] = set()
    while run.poll() is None:
        server.check_alive()
        try:
            waiting = server.waiting_reviews(dag_id)
        except httpx.TransportError:
            waiting = []  # asked again at the next poll; a server that died fails check_alive
        for detail in waiting:
            ti = detail["task_instance"]
            key = (ti["dag_run_id"], ti["task_id"], ti["map_index"])
            if ti["task_id"] not in task_ids or key in answered:
                continue
            url = server.required_actions_url(dag_id, *key)
            print(f"{dag_id}: {ti['task_id']} awaits a reviewer at {url}")
            server.answer(dag_id, *key)
            answered.add(key)
            selected = ", ".join(ANSWER["params_input"]["selected"])
            print(
                f"{dag_id}: the demo answered as a reviewer would: {ANSWER['chosen_options'][0]!r} "
                f"with {selected} (as {REVIEWER!r}, through the REST API)"
            )
        with contextlib.suppress(subprocess.TimeoutExpired):
            run.wait(timeout=POLL_SECONDS)
    return len(answered)


def run_with_reviewer(env: Mapping[str, str], dag_id: str, gates: list[str], log: IO[str], home: Path) -> int:
    """``airflow dags test`` of a DAG with review gates, answered through an API server started
    for it (stopped, with the run, however this ends); return the run's exit status."""
    with ReviewerApiServer(env, home / f"api-server-{dag_id}.log") as server:
        run = subprocess.Popen(
            [AIRFLOW, "dags", "test", dag_id],
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            answer_reviews(server, dag_id, gates, run)
            return run.wait()
        finally:
            if run.poll() is None:  # the reviewer failed: the run would wait a day for an answer
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
