"""Hook for the Clipia queue API: submit, status, result, catalog, estimate, account (each sync and async)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, cast

from clipgen_provider.exceptions import ClipiaApiError
from clipgen_provider.hooks._base import ClipgenApiHook
from clipgen_provider.hooks._connection_form import connection_form_widgets, ui_field_behaviour
from clipgen_provider.hooks._transport import quote_segment
from clipgen_provider.jobs import JobState
from clipgen_provider.media import MediaItem
from clipgen_provider.results import ClipiaAccount, ClipiaEstimate, ClipiaGenerateResult, ClipiaSubmitAnswer

#: statuses after which a request never changes again
TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELED"})


class ClipiaHook(ClipgenApiHook):
    """Talk to Clipia with the API key of a ``clipia`` connection.

    :param clipia_conn_id: the connection: API key in *Password*, base URL in *Host* (default
        ``https://api.clipia.ai``), extras ``webhook_secrets`` and ``webhook_base_url``.
    """

    conn_name_attr = "clipia_conn_id"
    default_conn_name = "clipia_default"
    conn_type = "clipia"
    hook_name = "Clipia"

    api_name: ClassVar[str] = "Clipia"
    default_base_url: ClassVar[str] = "https://api.clipia.ai"
    error_cls = ClipiaApiError
    test_path: ClassVar[str] = "/v1/account"

    def __init__(self, clipia_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(clipia_conn_id, **kwargs)

    # -- connection form (Airflow 3.1 reads it here; 3.2+ from the provider info) ------------------
    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form's relabeled, hidden and prefilled fields."""
        return ui_field_behaviour(cls.conn_type)

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The connection form's extra fields (the webhook secrets masked)."""
        return connection_form_widgets(cls.conn_type)

    # -- queue ------------------------------------------------------------------------------
    def submit(
        self,
        model: str,
        input: dict[str, Any],
        *,
        webhook_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> ClipiaSubmitAnswer:
        """Queue a generation; returns ``{request_id, status, queue_position, cost, warnings, ...}``.

        One ``Idempotency-Key`` (a new UUID v4 unless given) is sent with every retry of this
        submit, so a retried submit never creates, or charges for, a second generation.
        """
        path, body, headers = self._submit_request(model, input, webhook_url, idempotency_key)
        answer = self.get_conn().request("POST", path, json=body, headers=headers)
        return cast(ClipiaSubmitAnswer, dict(answer.data))

    async def asubmit(
        self,
        model: str,
        input: dict[str, Any],
        *,
        webhook_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> ClipiaSubmitAnswer:
        """Async twin of :meth:`submit`: the same body, and one ``Idempotency-Key`` for all its retries."""
        path, body, headers = self._submit_request(model, input, webhook_url, idempotency_key)
        answer = await (await self.aget_conn()).arequest("POST", path, json=body, headers=headers)
        return cast(ClipiaSubmitAnswer, dict(answer.data))

    @staticmethod
    def _submit_request(
        model: str, input: dict[str, Any], webhook_url: str | None, idempotency_key: str | None
    ) -> tuple[str, dict[str, Any], dict[str, str]]:
        """Path, JSON body and headers of a submit; the key is fixed here, once per logical submit."""
        body: dict[str, Any] = {"input": input}
        if webhook_url:
            body["webhook_url"] = webhook_url
        key = idempotency_key or str(uuid.uuid4())
        return f"/v1/models/{quote_segment(model)}", body, {"Idempotency-Key": key}

    def get_status(self, request_id: str) -> dict[str, Any]:
        """Status, queue position, progress and logs of a request."""
        return dict(self.get_conn().request("GET", self._status_path(request_id)).data)

    async def aget_status(self, request_id: str) -> dict[str, Any]:
        """Async twin of :meth:`get_status`."""
        return dict((await (await self.aget_conn()).arequest("GET", self._status_path(request_id))).data)

    def get_result(self, request_id: str) -> dict[str, Any]:
        """The request's result; while it is not terminal only its lifecycle fields (HTTP 202)."""
        return dict(self.get_conn().request("GET", self._result_path(request_id)).data)

    async def aget_result(self, request_id: str) -> dict[str, Any]:
        """Async twin of :meth:`get_result`."""
        return dict((await (await self.aget_conn()).arequest("GET", self._result_path(request_id))).data)

    # -- catalog, estimate, account ---------------------------------------------------------
    def list_models(self) -> list[dict[str, Any]]:
        """Every model in the catalog."""
        return list(self.get_conn().request("GET", "/v1/models").data["data"])

    async def alist_models(self) -> list[dict[str, Any]]:
        """Async twin of :meth:`list_models`."""
        return list((await (await self.aget_conn()).arequest("GET", "/v1/models")).data["data"])

    def get_model(self, slug: str) -> dict[str, Any]:
        """One model: pricing, input schema, text limits."""
        return dict(self.get_conn().request("GET", self._model_path(slug)).data)

    async def aget_model(self, slug: str) -> dict[str, Any]:
        """Async twin of :meth:`get_model`."""
        return dict((await (await self.aget_conn()).arequest("GET", self._model_path(slug))).data)

    def estimate(self, model: str, input: dict[str, Any]) -> ClipiaEstimate:
        """Credits a submit of ``input`` would cost, and the input keys the model would ignore."""
        answer = self.get_conn().request("POST", self._estimate_path(model), json={"input": input})
        return cast(ClipiaEstimate, dict(answer.data))

    async def aestimate(self, model: str, input: dict[str, Any]) -> ClipiaEstimate:
        """Async twin of :meth:`estimate`."""
        transport = await self.aget_conn()
        answer = await transport.arequest("POST", self._estimate_path(model), json={"input": input})
        return cast(ClipiaEstimate, dict(answer.data))

    def get_account(self) -> ClipiaAccount:
        """Balance and 30-day usage of the key's account."""
        return cast(ClipiaAccount, dict(self.get_conn().request("GET", "/v1/account").data))

    async def aget_account(self) -> ClipiaAccount:
        """Async twin of :meth:`get_account`."""
        return cast(ClipiaAccount, dict((await (await self.aget_conn()).arequest("GET", "/v1/account")).data))

    # -- connection extras ------------------------------------------------------------------
    @property
    def webhook_secrets(self) -> list[str]:
        """Signing secrets from the connection (comma-separated); every one is accepted."""
        raw = self.connection_extras.get("webhook_secrets") or ""
        if isinstance(raw, str):
            raw = raw.split(",")
        return [secret.strip() for secret in raw if secret and secret.strip()]

    @property
    def webhook_base_url(self) -> str | None:
        """Public base URL at which Clipia can reach this deployment's API servers."""
        value = self.connection_extras.get("webhook_base_url")
        return str(value).rstrip("/") if value else None

    # -- paths --------------------------------------------------------------------------------
    @staticmethod
    def _model_path(slug: str) -> str:
        return f"/v1/models/{quote_segment(slug)}"

    @classmethod
    def _estimate_path(cls, slug: str) -> str:
        return f"{cls._model_path(slug)}/estimate"

    @staticmethod
    def _status_path(request_id: str) -> str:
        return f"/v1/requests/{quote_segment(request_id)}/status"

    @staticmethod
    def _result_path(request_id: str) -> str:
        return f"/v1/requests/{quote_segment(request_id)}"


def clipia_job_state(status: dict[str, Any]) -> JobState:
    """Map a Clipia status (or result) answer to the provider's neutral :class:`JobState`."""
    remote = str(status.get("status"))
    error = status.get("error")
    if isinstance(error, dict):
        error = error.get("message") or error.get("code")
    return JobState(
        job_id=str(status.get("request_id")),
        status=remote,
        terminal=remote in TERMINAL_STATUSES,
        succeeded=remote == "COMPLETED",
        queue_position=status.get("queue_position") if remote == "IN_QUEUE" else None,
        progress=status.get("progress") if remote == "IN_PROGRESS" else None,
        error=str(error) if error else None,
    )


def media_items(output: dict[str, Any] | None) -> list[MediaItem]:
    """Every media file in a Clipia ``output`` (images, video, audio tracks), once each, with the
    content type and size Clipia declared for it."""
    if not output:
        return []
    entries: list[Any] = [*output.get("images", []), output.get("video"), output.get("audio")]
    entries += output.get("audios", [])
    items: dict[str, MediaItem] = {}
    for entry in entries:
        if isinstance(entry, dict) and entry.get("url") and entry["url"] not in items:
            items[entry["url"]] = MediaItem(entry["url"], entry.get("content_type"), entry.get("file_size"))
    return list(items.values())


def media_urls(output: dict[str, Any] | None) -> list[str]:
    """Every media URL in a Clipia ``output``: images, video, audio tracks (no duplicates)."""
    return [item.url for item in media_items(output)]


def result_summary(result: dict[str, Any]) -> ClipiaGenerateResult:
    """The XCom-ready digest of a finished Clipia result, with every media URL listed."""
    return {
        "request_id": result.get("request_id", ""),
        "status": result.get("status", ""),
        "model": result.get("model"),
        "output": result.get("output"),
        "cost": result.get("cost"),
        "media_urls": media_urls(result.get("output")),
        "created_at": result.get("created_at"),
        "completed_at": result.get("completed_at"),
    }
