"""Several ``airflow`` commands in one environment, each in a process forked from a warm one.

Every ``airflow dags test`` spends about 7 s of CPU before its first task does anything: importing
Airflow, building the in-process execution API and letting Cadwyn generate that API's versioned
routes (at its first request). A test that runs several commands in one environment (the secrets
test runs every example DAG in one home; a scenario may run two DAGs) pays that once here:
:class:`AirflowForks` starts ``python -m tests.airflow_forks`` with exactly the environment the
commands would get, which does that work once, then forks a child per command. The child runs
Airflow's own entry point (``airflow.__main__.main``, what the ``airflow`` script runs) with the
command's arguments, its output in the command's log file, in its own session, and ends as the
``airflow`` script does (``sys.exit(main())``). Each child
starts from the same warm state, so one command's run cannot reach another's.

A command may add variables to the environment, read after the fork: connections
(``AIRFLOW_CONN_…``, looked up when a task asks for one) and a DAG file's own variables (read when
the child parses it). Airflow's configuration (``AIRFLOW__…``) is read when Airflow is imported,
so a command that changes it needs a warm process started with it.

Protocol: one JSON request per line on the server's stdin (``{"argv": [...], "log": path,
"env": {...}}``);
on the pipe it was given, ``started <pid>`` then ``exit <status>`` for each, ``ready`` once warm.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import NoReturn

REPO = Path(__file__).resolve().parents[1]
#: how long the server may take to import Airflow and build its execution API on a loaded machine
READY_TIMEOUT = 300.0


# -- the server (the warm process) ------------------------------------------------------------------
def _warm_up() -> None:
    """Do what every ``airflow dags test`` does before its first task: import Airflow and its CLI,
    build the in-process execution API and let it answer one request (Cadwyn builds its routes at
    the first; a path it does not serve needs none of the services its lifespan would register)."""
    import airflow.__main__  # noqa: F401  (the entry point: configuration and the CLI parser)
    import httpx
    from airflow.cli import cli_parser
    from airflow.cli.commands import dag_command  # noqa: F401  (imported by ``dags test``)
    from airflow.sdk.execution_time import supervisor, task_runner  # noqa: F401

    from tests.airflow_compat import share_in_process_execution_api

    share_in_process_execution_api()  # Airflow 3.1/3.2 would build it again for every task
    cli_parser.get_parser()
    app = supervisor.in_process_api_server().app

    async def first_request() -> None:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://warm"
        ) as client:
            assert (await client.get("/not-served")).status_code == 404

    asyncio.run(first_request())


def _become_the_command(argv: list[str], log_path: str, env: Mapping[str, str]) -> NoReturn:
    """In the forked child: become ``airflow <argv>``, output in ``log_path``, ``env`` added to its
    environment: what the ``airflow`` script does (``sys.exit(main())``), so the process ends as
    that one would (an exception's traceback and exit status 1, thread and exit handlers run at
    shutdown)."""
    from airflow.__main__ import main

    os.environ.update(env)
    os.setsid()  # as a command started in its own session: a timeout kills its whole group
    with open(os.devnull, "rb") as nothing:
        os.dup2(nothing.fileno(), 0)
    with open(log_path, "ab", buffering=0) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    sys.argv = ["airflow", *argv]
    sys.exit(main())


def serve(reply_fd: int) -> None:
    """Warm up, then run each request from stdin in a forked child, one at a time."""
    _warm_up()
    reply = os.fdopen(reply_fd, "w", buffering=1)
    reply.write("ready\n")
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            reply.close()  # only the server answers the client
            _become_the_command(request["argv"], request["log"], request["env"])
        reply.write(f"started {pid}\n")
        _, wait_status = os.waitpid(pid, 0)
        reply.write(f"exit {os.waitstatus_to_exitcode(wait_status)}\n")


def read_at_import(variable: str) -> bool:
    """Whether Airflow reads ``variable`` when it is imported (its home and configuration): a
    command that changes one needs a warm process started with it."""
    return variable == "AIRFLOW_HOME" or variable.startswith("AIRFLOW__")


# -- the client ----------------------------------------------------------------------------------
class AirflowForks:
    """``airflow`` commands in ``env``, each forked from one warm process, started by the first
    command or on entering it as a context manager.

    :param env: the environment of every command (as for ``subprocess.run``)
    :param log_path: where the warm process's own output goes
    """

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self._server: subprocess.Popen[bytes] | None = None
        self._replies: int | None = None
        self._buffer = b""

    def __enter__(self) -> AirflowForks:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start the warm process and wait until it is ready (stopped again if it never is)."""
        read_fd, write_fd = os.pipe()
        try:
            with self.log_path.open("ab") as log:
                self._server = subprocess.Popen(
                    [sys.executable, "-m", "tests.airflow_forks", str(write_fd)],
                    env=self.env,
                    cwd=REPO,
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(write_fd,),
                    start_new_session=True,
                )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._replies = read_fd
        try:
            self._expect("ready", READY_TIMEOUT)
        except BaseException:
            self.close()
            raise

    def run(
        self, argv: list[str], log_path: Path, timeout: float, env: Mapping[str, str] | None = None
    ) -> int:
        """``airflow <argv>`` with its output appended to ``log_path`` and ``env`` added to the warm
        process's environment (never Airflow's configuration: see the module docstring); its exit
        status. After ``timeout`` seconds its process group is killed and the status is ``-SIGKILL``."""
        added = dict(env or {})
        changed = sorted(key for key in added if read_at_import(key) and added[key] != self.env.get(key))
        if changed:
            raise ValueError(f"Airflow reads {changed} when it is imported: start a warm process with them")
        if self._server is None:
            self.start()
        assert self._server is not None
        assert self._server.stdin is not None
        self._server.stdin.write(
            json.dumps({"argv": argv, "log": str(log_path), "env": added}).encode() + b"\n"
        )
        self._server.stdin.flush()
        pid = int(self._expect("started", 60.0))
        try:
            return int(self._expect("exit", timeout))
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            self._expect("exit", 60.0)
            return -signal.SIGKILL

    def close(self) -> None:
        """Stop the warm process (it exits at the end of its input); kill it if it does not."""
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(BrokenPipeError):
                assert server.stdin is not None
                server.stdin.close()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        if self._replies is not None:
            os.close(self._replies)
            self._replies = None

    def _expect(self, word: str, timeout: float) -> str:
        """The rest of the next reply line, which must start with ``word``."""
        assert self._replies is not None
        assert self._server is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no '{word}' from the warm airflow process in {timeout:.0f} s")
            readable, _, _ = select.select([self._replies], [], [], min(left, 1.0))
            chunk = os.read(self._replies, 4096) if readable else b""
            if not chunk and (readable or self._server.poll() is not None):  # end of the pipe, or no process
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the warm airflow process exited; its log ends:\n{tail}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        head, _, rest = line.decode().partition(" ")
        if head != word:
            raise RuntimeError(f"the warm airflow process answered {line!r}, expected '{word}'")
        return rest


if __name__ == "__main__":
    serve(int(sys.argv[1]))
