"""Run the sandbox as a subprocess for tests, demos and benchmarks.

``with SandboxServer() as sandbox:`` starts ``python -m clipgen_provider.sandbox`` on a free
loopback port, waits until ``/healthz`` answers, and stops it on exit (SIGTERM, then SIGKILL).
The helpers wrap the control API so a test reads like its scenario.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from clipgen_provider.sandbox.clipia_http import key_fingerprint

_PORT_ATTEMPTS = 3
_POLL_SECONDS = 0.05
_STOP_SECONDS = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago (bind port 0 and ask the kernel)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class SandboxServer:
    """A sandbox process on a free port, with helpers over its control API.

    ``args`` are extra command-line options (e.g. ``"--queue-seconds", "0.1"``); ``env`` is added
    to the current environment. The process's stdout and stderr go to :attr:`log_path`.
    """

    def __init__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        startup_timeout: float = 30.0,
        log_path: str | Path | None = None,
    ) -> None:
        self.args = args
        self.env = dict(env or {})
        self.host = host
        self.startup_timeout = startup_timeout
        if log_path is None:
            handle, name = tempfile.mkstemp(prefix="clipgen-sandbox-", suffix=".log")
            os.close(handle)
            log_path = name
        #: where the server's stdout and stderr go
        self.log_path = Path(log_path)
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._client: httpx.Client | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self.port is None:
            raise RuntimeError("the sandbox is not running")
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        """Start the process and wait for ``/healthz``; retry on another port if one was taken."""
        try:
            for _ in range(_PORT_ATTEMPTS):
                if self._spawn_and_wait(free_port(self.host)):
                    self._client = httpx.Client(base_url=self.url, timeout=10.0)
                    return self
            raise RuntimeError(f"the sandbox did not start; see {self.log_path}:\n{self._log_tail()}")
        except BaseException:
            self.stop()
            raise

    def _spawn_and_wait(self, port: int) -> bool:
        """Start on ``port``; True once healthy, False if the process exited (port taken...)."""
        self.port = port
        self._log = self.log_path.open("ab")
        command = [sys.executable, "-m", "clipgen_provider.sandbox", "--host", self.host, "--port", str(port)]
        self._process = subprocess.Popen(  # noqa: S603 - our own module, with our own arguments
            [*command, *self.args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._reap()
                return False
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(_POLL_SECONDS)
        raise TimeoutError(f"the sandbox was not healthy within {self.startup_timeout} s")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after a grace period); safe to call twice."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._reap()
        self.port = None

    def _reap(self) -> None:
        """Forget the finished process and close its log handle."""
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _log_tail(self, limit: int = 4000) -> str:
        """The end of the server log, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the control API and return its JSON (raises ``httpx.HTTPStatusError`` on non-2xx)."""
        if self._client is None:
            raise RuntimeError("the sandbox is not running")
        response = self._client.request(method, f"/_sandbox/{path}", **kwargs)
        response.raise_for_status()
        return response.json()

    def settings(self) -> dict[str, Any]:
        """The current settings."""
        return dict(self._control("GET", "settings"))

    def update_settings(self, **values: Any) -> dict[str, Any]:
        """Change settings (e.g. ``queue_seconds=0.1``); returns all settings."""
        return dict(self._control("PATCH", "settings", json=values))

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """Add a fault rule (see ``docs/sandbox.md``); returns it with its ``id``."""
        return dict(self._control("POST", "faults", json=rule)["fault"])

    def faults(self) -> list[dict[str, Any]]:
        """The active fault rules."""
        return list(self._control("GET", "faults")["faults"])

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._control("DELETE", "faults")

    def calls(self, *, api_key: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """API calls received, filtered by ``method``, ``path`` (prefix), ``status``,
        ``idempotency_key``, ``key_fingerprint`` or ``api_key`` (turned into its fingerprint)."""
        if api_key is not None:
            filters["key_fingerprint"] = key_fingerprint(api_key)
        return list(self._control("GET", "calls", params=filters)["calls"])

    def clear_calls(self) -> None:
        """Forget the call log."""
        self._control("DELETE", "calls")

    def hold(self, api_key: str, progress: int | None = None) -> None:
        """Hold the Clipia jobs ``api_key`` submits from now on ``IN_PROGRESS`` (at ``progress``
        percent) until :meth:`release`: a test then meets them running however slow the machine is."""
        self._control("POST", "holds", json={"api_key": api_key, "progress": progress})

    def release(self, api_key: str) -> list[str]:
        """Let ``api_key``'s held jobs run the rest of their time from now, and hold no new ones;
        returns their request ids."""
        return list(self._control("POST", "holds/release", json={"api_key": api_key})["released"])

    def webhook_attempts(self, request_id: str | None = None) -> list[dict[str, Any]]:
        """Webhook delivery attempts, optionally of one request."""
        params = {"request_id": request_id} if request_id else {}
        return list(self._control("GET", "webhooks", params=params)["attempts"])

    def cancel(self, api_key: str, request_id: str) -> dict[str, Any]:
        """Cancel a running Clipia request out of band."""
        headers = {"Authorization": f"Bearer {api_key}"}
        return dict(self._control("POST", f"clipia/requests/{request_id}/cancel", headers=headers))

    def reset(self) -> None:
        """Back to a fresh process (settings, accounts, jobs, faults, logs)."""
        self._control("POST", "reset")
