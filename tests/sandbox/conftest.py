"""Fixtures of the sandbox tests: one real sandbox process per session and a webhook receiver."""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clipgen_provider.sandbox.server import SandboxServer

#: fast timings every sandbox test starts from (a test may change them; they are restored after)
FAST_SETTINGS = {
    "queue_seconds": 0.2,
    "run_seconds": 0.4,
    "webhook_retry_seconds": 0.1,
    "webhook_max_attempts": 4,
    "webhook_secrets": ["whsec_sandbox"],
    "initial_credits": 10_000.0,
    "concurrency_limit": 0,
    "realism": False,
    "realism_seed": 0,
}


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """The sandbox over loopback on a free port, with fast jobs (its log in pytest's tmp dir)."""
    with SandboxServer(log_path=tmp_path_factory.mktemp("sandbox") / "sandbox.log") as server:
        server.update_settings(**FAST_SETTINGS)
        yield server


@dataclass
class Delivery:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    received: float


class WebhookReceiver:
    """A tiny threaded HTTP server recording POSTs per path and answering planned statuses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deliveries: dict[str, list[Delivery]] = defaultdict(list)
        self._plans: dict[str, list[int]] = defaultdict(list)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._record(Delivery(self.path, dict(self.headers), body, time.time()))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, delivery: Delivery) -> int:
        with self._lock:
            self._deliveries[delivery.path].append(delivery)
            plan = self._plans[delivery.path]
            return plan.pop(0) if plan else 200

    def endpoint(self, statuses: list[int] | None = None) -> tuple[str, str]:
        """A fresh ``(url, path)`` whose first answers are ``statuses`` (then 200)."""
        path = f"/hooks/{uuid.uuid4().hex}"
        with self._lock:
            self._plans[path] = list(statuses or [])
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{path}", path

    def received(self, path: str) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries[path])

    def wait_for(self, path: str, count: int, timeout: float = 10.0) -> list[Delivery]:
        """Wait (polling, with a deadline) until ``count`` deliveries reached ``path``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received(path)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{len(self.received(path))} of {count} deliveries to {path} in {timeout}s")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A webhook receiver on a free loopback port."""
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()
