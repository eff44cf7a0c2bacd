"""The part of a hook that is the same for every API: connection lookup, transport, test, repr."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from airflow.sdk import BaseHook, Connection

from clipgen_provider.exceptions import ClipgenApiError, ClipgenConfigError
from clipgen_provider.hooks._transport import ApiTransport, RetryPolicy, check_base_url


class ClipgenApiHook(BaseHook):
    """Base of the Clipia and Clipwise hooks: one API key (``password``), one base URL (``host``).

    Subclasses name the API and add its calls. The connection is read once per hook and the
    resulting :class:`ApiTransport` is kept, so a hook reuses its HTTP connections.
    """

    default_conn_name: ClassVar[str]
    api_name: ClassVar[str]
    default_base_url: ClassVar[str]
    error_cls: ClassVar[type[ClipgenApiError]]
    #: a cheap authenticated GET that proves the key and the URL work
    test_path: ClassVar[str]

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id or self.default_conn_name
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._transport: ApiTransport | None = None
        self._connection: Connection | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # -- connection ---------------------------------------------------------------------------
    def _base_url(self, conn: Connection) -> str:
        host = (conn.host or "").strip()
        if not host:
            return self.default_base_url
        if "://" not in host:
            host = f"https://{host}"
        if conn.port and ":" not in host.split("://", 1)[1]:
            host = f"{host.rstrip('/')}:{conn.port}"
        return host

    def _transport_for(self, conn: Connection) -> ApiTransport:
        if not conn.password:
            raise ClipgenConfigError(
                f"The {self.api_name} connection {self.conn_id!r} has no API key: put the key in its "
                f"Password field (or in a secrets backend) and try again."
            )
        self._connection = conn
        kwargs: dict[str, Any] = {}
        if self.timeout is not None:
            import httpx

            kwargs["timeout"] = httpx.Timeout(self.timeout)
        return ApiTransport(
            base_url=check_base_url(self._base_url(conn), api_name=self.api_name),
            api_key=conn.password,
            error_cls=self.error_cls,
            retry=self.retry,
            log=self.log,
            **kwargs,
        )

    def get_conn(self) -> ApiTransport:
        """Return the transport for this hook's connection (read once, then cached)."""
        if self._transport is None:
            self._transport = self._transport_for(self.get_connection(self.conn_id))
        return self._transport

    async def aget_conn(self) -> ApiTransport:
        """Async twin of :meth:`get_conn`; never touches the sync connection API on the loop."""
        if self._transport is None:
            self._transport = self._transport_for(await self.aget_connection(self.conn_id))
        return self._transport

    @property
    def connection_extras(self) -> dict[str, Any]:
        """The connection's ``extra`` fields (read after :meth:`get_conn` / :meth:`aget_conn`)."""
        if self._connection is None:
            self.get_conn()
        assert self._connection is not None
        return self._connection.extra_dejson

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close pooled sync connections."""
        if self._transport is not None:
            self._transport.close()

    def __enter__(self) -> ClipgenApiHook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> ClipgenApiHook:
        """Hold the event loop's shared HTTP client for a block of async calls."""
        await (await self.aget_conn()).__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._transport is not None:
            await self._transport.__aexit__(*exc_info)

    # -- connection test ----------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated GET; a message that says what to fix when it fails."""
        try:
            # one attempt: the person pressing "Test" wants an answer now, not after backoff
            transport = dataclasses.replace(self.get_conn(), retry=RetryPolicy(max_attempts=1))
            transport.request("GET", self.test_path)
        except ClipgenConfigError as err:
            return False, str(err)
        except ClipgenApiError as err:
            if err.status_code in (401, 403):
                return False, f"{err} — check the API key in the connection's Password field."
            if err.status_code is None:
                return False, f"{err} — check the connection's Base URL and that the host is reachable."
            return False, str(err)
        return True, f"Connected to {self.api_name} at {transport.base_url}."
