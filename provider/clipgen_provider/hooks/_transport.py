"""What the Clipia and Clipwise hooks share: base-URL rule, auth, retries and the error envelope.

:class:`ApiTransport` sends one logical API call, retrying transient failures (network errors, 429,
500, 502, 503, 504) with capped exponential backoff where a server ``Retry-After`` always wins, and
turning every failure into the API's typed exception. Headers given by the caller (such as an
``Idempotency-Key``) are fixed before the first attempt, so every retry of a submit carries the same
key and the API deduplicates it.

Async calls go through one ``httpx.AsyncClient`` per event loop, over aiohttp's connection pool, shared
by every hook in that loop: a triggerer with thousands of waiting triggers keeps one pool, not one per
trigger (see ``docs/benchmarks.md``). Credentials travel per request, so the shared client holds none,
and it keeps no cookies: one credential's answers never shape another's requests. A GET without a
body is built once and sent again on every poll, so a status poll allocates little beyond the answer.
"""

from __future__ import annotations

import asyncio
import email.utils
import json as jsonlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from clipgen_provider import __version__
from clipgen_provider.exceptions import TRANSIENT_STATUSES, ClipgenApiError, ClipgenConfigError

if TYPE_CHECKING:  # aiohttp is imported when the first async client is made: sync users never pay for it
    from httpx_aiohttp import AiohttpTransport

USER_AGENT = f"airflow-provider-clipgen/{__version__}"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
#: A server asking for a longer pause than this is treated as asking for this long.
MAX_RETRY_AFTER_SECONDS = 300.0


def check_base_url(url: str, *, api_name: str) -> str:
    """Return ``url`` without its trailing slash, or raise if the API key could leak through it.

    Only ``https://`` is allowed, except plain ``http://`` to a host that is exactly ``localhost`` or
    ``127.0.0.1`` (the local sandbox). Look-alikes such as ``http://localhost.evil.com`` are refused.
    """
    parts = urlsplit(url.strip())
    if parts.scheme == "https" and parts.hostname:
        return url.strip().rstrip("/")
    if parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS:
        return url.strip().rstrip("/")
    raise ClipgenConfigError(
        f"{api_name} base URL {url!r} is not allowed: use https://, or http:// only to localhost or "
        f"127.0.0.1 (the local sandbox). Fix the Host field of the {api_name} connection."
    )


def quote_segment(value: str) -> str:
    """URL-encode one path segment (a model slug or an id) with no safe characters."""
    return quote(str(value), safe="")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header given in seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently transient failures are retried."""

    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 20.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Pause before attempt ``attempt + 1``: the server's wish, else jittered exponential backoff."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class ApiResponse:
    """A decoded successful answer: HTTP status and JSON body."""

    status_code: int
    data: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def error_from_response(response: httpx.Response, error_cls: type[ClipgenApiError]) -> ClipgenApiError:
    """Build the typed exception from a non-2xx answer and its ``{"error": {...}}`` envelope."""
    try:
        body = response.json()
    except ValueError:
        body = None
    envelope = body.get("error") if isinstance(body, dict) else None
    if not isinstance(envelope, dict):
        envelope = {}
    text = response.text[:200] if not envelope else ""
    return error_cls(
        str(envelope.get("message") or text or response.reason_phrase or "no error message"),
        status_code=response.status_code,
        code=envelope.get("code"),
        type=envelope.get("type"),
        details=envelope.get("details"),
        request_id=(body.get("request_id") if isinstance(body, dict) else None)
        or response.headers.get("x-request-id"),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def _decode(response: httpx.Response, error_cls: type[ClipgenApiError]) -> ApiResponse:
    """Decode a 2xx answer; a garbled body is reported as a transient error."""
    if response.status_code == 204 or not response.content:
        return ApiResponse(response.status_code, None, response.headers)
    try:
        return ApiResponse(response.status_code, response.json(), response.headers)
    except ValueError as err:
        raise error_cls(
            f"the answer to {response.request.method} {response.request.url.path} was not valid JSON "
            f"({len(response.content)} bytes)",
            status_code=response.status_code,
            code="malformed_response",
            transient=True,
        ) from err


class _PollingAsyncClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` over aiohttp that does only what an API call needs.

    httpx's own ``send`` also runs an auth flow, a redirect loop, a cookie jar and a log line per
    request; our calls use none of them (the key is a header, redirects are not followed, the APIs
    set no cookies), and at thousands of polls a second they cost about as much CPU as the HTTP
    exchange itself, plus garbage that makes the loop pause for collections. So :meth:`send` asks
    ``_transport_for_url`` for the transport, as httpx does (and test mocks replace), and reads the
    body; :meth:`poll` sends a plain GET straight over the transport's aiohttp session and decodes a
    JSON answer without building httpx response objects at all.
    """

    def __init__(self, transport: AiohttpTransport, timeout: httpx.Timeout) -> None:
        super().__init__(transport=transport, timeout=timeout)
        self._aiohttp = transport

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        """Send ``request`` and return the answer with its body read.

        A caller asking for streaming, an auth or a redirect policy gets httpx's full ``send``.
        """
        if stream or auth is not httpx.USE_CLIENT_DEFAULT or follow_redirects is not httpx.USE_CLIENT_DEFAULT:
            return await super().send(request, stream=stream, auth=auth, follow_redirects=follow_redirects)
        response = await self._transport_for_url(request.url).handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def poll(self, request: httpx.Request) -> ApiResponse | httpx.Response:
        """GET ``request``: a decoded JSON 2xx answer, else the httpx response for the general checks.

        Only a GET on the client's own aiohttp transport takes the short way (a mocked or other
        transport gets :meth:`send`); an answer that is not plain JSON with a 2xx status (an error,
        an empty or compressed body) comes back as an httpx response, so it is read exactly as
        any other call's.
        """
        if self._transport_for_url(request.url) is not self._aiohttp:
            return await self.send(request)
        import aiohttp
        from httpx_aiohttp.transport import map_aiohttp_exceptions

        session = self._aiohttp.client
        if not isinstance(session, aiohttp.ClientSession):
            session = self._aiohttp.client = self._aiohttp.get_client()
        timeout = request.extensions.get("timeout", {})
        with map_aiohttp_exceptions():
            async with session.get(
                str(request.url),
                headers=request.headers,
                allow_redirects=False,
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                    connect=timeout.get("pool"),
                ),
            ) as answer:
                body = await answer.read()
        if 200 <= answer.status < 300 and body and "Content-Encoding" not in answer.headers:
            try:
                return ApiResponse(answer.status, jsonlib.loads(body), answer.headers)
            except ValueError:
                pass
        return httpx.Response(answer.status, headers=answer.raw_headers, content=body, request=request)


class _SharedAsyncClients:
    """One ``httpx.AsyncClient`` (aiohttp pool) per running event loop, reference counted."""

    def __init__(self) -> None:
        self._clients: dict[asyncio.AbstractEventLoop, tuple[_PollingAsyncClient, int]] = {}

    def acquire(self) -> _PollingAsyncClient:
        loop = asyncio.get_running_loop()
        client, users = self._clients.get(loop, (None, 0))
        if client is None:
            from httpx_aiohttp import AiohttpTransport

            limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
            client = _PollingAsyncClient(AiohttpTransport(limits=limits), DEFAULT_TIMEOUT)
        self._clients[loop] = (client, users + 1)
        return client

    async def release(self) -> None:
        loop = asyncio.get_running_loop()
        client, users = self._clients[loop]
        if users > 1:
            self._clients[loop] = (client, users - 1)
            return
        del self._clients[loop]
        await client.aclose()


shared_async_clients = _SharedAsyncClients()


@dataclass
class ApiTransport:
    """Authenticated, retrying access to one API for one credential.

    ``repr`` never shows the key; the key is only ever placed in the ``Authorization`` header.
    """

    base_url: str
    api_key: str = field(repr=False)
    error_cls: type[ClipgenApiError]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    log: logging.Logger | Any = field(default_factory=lambda: logging.getLogger(__name__), repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    asleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _async_client: _PollingAsyncClient | None = field(default=None, init=False, repr=False)
    #: the last body-less GET built and its path, sent again while that path is polled
    _last_get: tuple[str, httpx.Request] | None = field(default=None, init=False, repr=False)

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        headers.update(extra or {})
        return headers

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def client(self) -> httpx.Client:
        """The sync client, created on first use and kept for the hook's life."""
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout)
        return self._client

    def close(self) -> None:
        """Close the sync client's connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _should_retry(self, error: ClipgenApiError, attempt: int, what: str) -> float | None:
        """Return the pause before the next attempt, or None when ``error`` must be raised."""
        if not error.is_transient or attempt >= self.retry.max_attempts:
            return None
        pause = self.retry.delay(attempt, error.retry_after)
        self.log.warning(
            "%s failed (%s); retry %d/%d in %.1f s",
            what,
            error,
            attempt,
            self.retry.max_attempts - 1,
            pause,
        )
        return pause

    def _network_error(self, err: httpx.HTTPError, what: str) -> ClipgenApiError:
        return self.error_cls(f"{what}: {type(err).__name__}: {err}")

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, IO[bytes], str]] | None = None,
    ) -> ApiResponse:
        """Send one API call with retries; return the decoded 2xx answer or raise the typed error.

        File objects in ``files`` are rewound to where they started before every attempt, so a
        retried upload sends the whole file again (streamed, never read whole into memory).
        """
        what = f"{method} {path}"
        all_headers = self._headers(headers)
        starts = {name: part[1].tell() for name, part in (files or {}).items()}
        attempt = 0
        while True:
            attempt += 1
            for name, offset in starts.items():
                files[name][1].seek(offset)  # type: ignore[index]
            try:
                response = self.client.request(
                    method,
                    self._url(path),
                    json=json,
                    params=params,
                    headers=all_headers,
                    data=data,
                    files=files,
                )
                result = self._check(response)
            except httpx.HTTPError as err:
                error = self._network_error(err, what)
                pause = self._should_retry(error, attempt, what)
                if pause is None:
                    raise error from err
            except ClipgenApiError as error:
                pause = self._should_retry(error, attempt, what)
                if pause is None:
                    raise
            else:
                return result
            self.sleep(pause)

    async def arequest(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """Async twin of :meth:`request` (JSON bodies only) over the loop's shared client.

        A plain GET (no body, parameters or extra headers), such as a status poll, reuses the
        request built for the same path last time instead of building it again.
        """
        what = f"{method} {path}"
        plain_get = method == "GET" and json is None and not params and not headers
        attempt = 0
        while True:
            attempt += 1
            try:
                client = self._async_client or shared_async_clients.acquire()
                try:
                    if plain_get:
                        answer = await client.poll(self._plain_get(client, path))
                    else:
                        answer = await client.request(
                            method, self._url(path), json=json, params=params, headers=self._headers(headers)
                        )
                finally:
                    if self._async_client is None:
                        await shared_async_clients.release()
                result = answer if isinstance(answer, ApiResponse) else self._check(answer)
            except httpx.HTTPError as err:
                error = self._network_error(err, what)
                pause = self._should_retry(error, attempt, what)
                if pause is None:
                    raise error from err
            except ClipgenApiError as error:
                pause = self._should_retry(error, attempt, what)
                if pause is None:
                    raise
            else:
                return result
            await self.asleep(pause)

    def _plain_get(self, client: httpx.AsyncClient, path: str) -> httpx.Request:
        """The GET of ``path``: built on first use, then sent again while the same path is asked for."""
        if self._last_get is None or self._last_get[0] != path:
            request = client.build_request("GET", self._url(path), headers=self._headers(None))
            self._last_get = (path, request)
        return self._last_get[1]

    async def __aenter__(self) -> ApiTransport:
        """Hold the loop's shared client for a block of async calls (a trigger's whole run)."""
        if self._async_client is None:
            self._async_client = shared_async_clients.acquire()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._async_client is not None:
            self._async_client = None
            await shared_async_clients.release()

    def _check(self, response: httpx.Response) -> ApiResponse:
        if response.status_code >= 400:
            raise error_from_response(response, self.error_cls)
        return _decode(response, self.error_cls)


__all__ = [
    "TRANSIENT_STATUSES",
    "ApiResponse",
    "ApiTransport",
    "RetryPolicy",
    "check_base_url",
    "error_from_response",
    "parse_retry_after",
    "quote_segment",
]
