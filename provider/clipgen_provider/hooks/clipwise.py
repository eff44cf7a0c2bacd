"""Hook for the Clipwise generation API: formats, resources, uploads, products, voices,
generations and URL extraction.

Calls mirror the official ``clipwise`` client. Getters of one thing return that thing
(:meth:`ClipwiseHook.get_format` returns the format, :meth:`~ClipwiseHook.get_generation` the
generation); ``list_*`` return one page (``{"items", "pagination"}``) and ``iter_*`` walk every
page; writes return the API's answer as it is, from which :func:`extract_id` reads the new id.

Async twins (``a``-prefixed, over the event loop's shared HTTP pool): formats (list, get), resource
types, resources (list one page, get), generations (create, get, cancel) and extract-url (start,
get). Sync only: uploads and voice cloning (they stream local files), products, generating and
deleting resources, and the ``iter_*`` page walks.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from clipgen_provider.exceptions import ClipgenConfigError, ClipwiseApiError
from clipgen_provider.hooks._base import ClipgenApiHook
from clipgen_provider.hooks._connection_form import ui_field_behaviour
from clipgen_provider.hooks._transport import quote_segment
from clipgen_provider.hooks.clipwise_uploads import (
    FileInput,
    UploadPlan,
    UploadTarget,
    form_fields,
    multipart_file,
)
from clipgen_provider.jobs import JobState

if TYPE_CHECKING:
    from clipgen_provider.file_inputs import FileSource

API_PREFIX = "/api/sdk/v1"
#: statuses after which a generation never changes again
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
#: the resource types the API can generate from a prompt
GENERATABLE_RESOURCE_TYPES = frozenset({"avatars", "background_images"})
#: items per page when walking a list; the page size the official client's docs use
DEFAULT_PAGE_SIZE = 20


def api_path(*segments: str) -> str:
    """``/api/sdk/v1/<segments>/``: every segment URL-encoded, always a trailing slash."""
    return "/".join([API_PREFIX, *(quote_segment(segment) for segment in segments)]) + "/"


def extract_id(response: Any) -> str | None:
    """The id in a write's answer: ``upload.id``, ``resource.id``, ``product.id``, then ``id``."""
    if not isinstance(response, Mapping):
        return None
    for envelope in ("upload", "resource", "product"):
        inner = response.get(envelope)
        if isinstance(inner, Mapping) and inner.get("id"):
            return str(inner["id"])
    return str(response["id"]) if response.get("id") else None


def _has_next_page(pagination: Any, page: int, page_size: int, received: int) -> bool:
    """Whether a page after ``page`` exists, from whatever the ``pagination`` block says.

    Explicit flags win (``has_next``/``has_more``, ``next_page``), then totals (``total_pages``,
    ``total``); with no block the list was not paged. An empty page always ends the walk.
    """
    if received == 0 or not isinstance(pagination, Mapping):
        return False
    for flag in ("has_next", "has_more"):
        if flag in pagination:
            return bool(pagination[flag])
    if "next_page" in pagination:
        return pagination["next_page"] is not None
    if pagination.get("total_pages") is not None:
        return page < int(pagination["total_pages"])
    if pagination.get("total") is not None:
        return page * page_size < int(pagination["total"])
    return received >= page_size


def walk_pages(
    fetch: Callable[[int, int], Mapping[str, Any]], *, page_size: int = DEFAULT_PAGE_SIZE
) -> Iterator[dict[str, Any]]:
    """Yield every item of a paginated list; ``fetch(page, limit)`` returns one page (pages from 1)."""
    page = 1
    while True:
        answer = fetch(page, page_size)
        items = list(answer.get("items") or [])
        yield from items
        if not _has_next_page(answer.get("pagination"), page, page_size, len(items)):
            return
        page += 1


def _unwrap(data: Any, key: str) -> Any:
    """``data[key]``, or a permanent API error saying the answer had an unexpected shape."""
    if isinstance(data, Mapping) and key in data:
        return data[key]
    raise ClipwiseApiError(
        f"expected an answer with {key!r}, got {type(data).__name__}",
        status_code=200,
        code="malformed_response",
    )


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _formats_query(kind: str | None, platform: str | None, include_inactive: bool) -> dict[str, Any]:
    """The query of a format-catalog read: only the filters that are set."""
    return _without_none(
        {"kind": kind, "platform": platform, "include_inactive": "true" if include_inactive else None}
    )


def _page_query(page: int | None, limit: int | None, **filters: Any) -> dict[str, Any]:
    """The query of one page of a list: page, size and the filters that are set."""
    return _without_none({"page": page, "limit": limit, **filters})


def _generation_request(
    format: str, resolved_params: Mapping[str, Any], idempotency_key: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Body and headers of a create: None values left out; the key (a new UUID v4 unless given) is
    fixed here, once per logical create, so every retry of it sends the same one."""
    body = _without_none({"format": format, **resolved_params})
    return body, {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}


def _without_empty(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value not in (None, "", [], (), {})}


def clipwise_job_state(generation: Mapping[str, Any]) -> JobState:
    """Map a Clipwise generation (as :meth:`ClipwiseHook.get_generation` returns it) to a JobState."""
    remote = str(generation.get("status") or "").lower()
    error = generation.get("error")
    if isinstance(error, Mapping):
        error = error.get("message") or error.get("code")
    progress = generation.get("progress")
    return JobState(
        job_id=str(generation.get("id")),
        status=remote,
        terminal=remote in TERMINAL_STATUSES,
        succeeded=remote == "completed",
        progress=int(progress)
        if isinstance(progress, int | float) and remote not in TERMINAL_STATUSES
        else None,
        error=str(error) if error else None,
    )


def extract_url_job_state(task_id: str, answer: Mapping[str, Any]) -> JobState:
    """Map an extract-URL poll answer to a JobState; ``ready`` with ``success: false`` failed."""
    ready = bool(answer.get("ready"))
    succeeded = ready and bool(answer.get("success"))
    error = None
    if ready and not succeeded:
        code = answer.get("error_code") or "url_extract_failed"
        error = f"{code}: {answer.get('error') or 'the URL could not be extracted'}"
    return JobState(
        job_id=task_id,
        status=("succeeded" if succeeded else "failed") if ready else "processing",
        terminal=ready,
        succeeded=succeeded,
        error=error,
    )


class ClipwiseHook(ClipgenApiHook):
    """Talk to Clipwise with the API token of a ``clipwise`` connection.

    :param clipwise_conn_id: the connection: API token in *Password*, base URL in *Host*
        (default ``https://app.clipwise.ai``; set it only for staging or a private deployment).
    """

    conn_name_attr = "clipwise_conn_id"
    default_conn_name = "clipwise_default"
    conn_type = "clipwise"
    hook_name = "Clipwise"

    api_name: ClassVar[str] = "Clipwise"
    default_base_url: ClassVar[str] = "https://app.clipwise.ai"
    error_cls = ClipwiseApiError
    #: the format catalog: any valid token may read it, whatever its scopes
    test_path: ClassVar[str] = api_path("formats")

    def __init__(self, clipwise_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(clipwise_conn_id, **kwargs)

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form's relabeled, hidden and prefilled fields (Airflow 3.1 reads them
        here; 3.2+ from the provider info). The form has no extra fields."""
        return ui_field_behaviour(cls.conn_type)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.get_conn().request(method, path, **kwargs).data

    async def _acall(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await (await self.aget_conn()).arequest(method, path, **kwargs)).data

    # -- formats ------------------------------------------------------------------------------
    def list_formats(
        self, kind: str | None = None, platform: str | None = None, include_inactive: bool = False
    ) -> list[dict[str, Any]]:
        """The catalog of formats and tools; ``kind`` ``format``/``tool``, ``platform``
        ``clipwise``/``video_company``; all active ones when nothing is set.
        """
        params = _formats_query(kind, platform, include_inactive)
        return list(_unwrap(self._call("GET", api_path("formats"), params=params), "formats"))

    async def alist_formats(
        self, kind: str | None = None, platform: str | None = None, include_inactive: bool = False
    ) -> list[dict[str, Any]]:
        """Async twin of :meth:`list_formats`."""
        params = _formats_query(kind, platform, include_inactive)
        return list(_unwrap(await self._acall("GET", api_path("formats"), params=params), "formats"))

    def get_format(self, id_or_slug: str) -> dict[str, Any]:
        """One format by slug, template name, display name or alias: its inputs and outputs."""
        return dict(_unwrap(self._call("GET", api_path("formats", id_or_slug)), "format"))

    async def aget_format(self, id_or_slug: str) -> dict[str, Any]:
        """Async twin of :meth:`get_format`."""
        return dict(_unwrap(await self._acall("GET", api_path("formats", id_or_slug)), "format"))

    # -- resources ----------------------------------------------------------------------------
    def list_resource_types(self) -> Any:
        """The live catalog of resource types, as the API answers it."""
        return self._call("GET", api_path("resource-types"))

    async def alist_resource_types(self) -> Any:
        """Async twin of :meth:`list_resource_types`."""
        return await self._acall("GET", api_path("resource-types"))

    def list_resources(
        self,
        resource_type: str,
        *,
        page: int | None = None,
        limit: int | None = None,
        video_format: str | None = None,
        **filters: Any,
    ) -> dict[str, Any]:
        """One page of resources of ``resource_type`` (``{"items", "pagination"}``); ``video_format`` keeps
        only assets compatible with that format; ``filters`` such as ``type``, ``product_type``,
        ``collection``, ``file_type`` are sent when set.
        """
        params = _page_query(page, limit, video_format=video_format, **filters)
        return dict(self._call("GET", api_path("resources", resource_type), params=params))

    async def alist_resources(
        self,
        resource_type: str,
        *,
        page: int | None = None,
        limit: int | None = None,
        video_format: str | None = None,
        **filters: Any,
    ) -> dict[str, Any]:
        """Async twin of :meth:`list_resources` (one page)."""
        params = _page_query(page, limit, video_format=video_format, **filters)
        return dict(await self._acall("GET", api_path("resources", resource_type), params=params))

    def iter_resources(
        self, resource_type: str, *, page_size: int = DEFAULT_PAGE_SIZE, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """Every resource of ``resource_type`` matching ``filters``, walking all pages."""
        return walk_pages(
            lambda page, limit: self.list_resources(resource_type, page=page, limit=limit, **filters),
            page_size=page_size,
        )

    def get_resource(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """One resource."""
        return dict(_unwrap(self._call("GET", api_path("resources", resource_type, resource_id)), "resource"))

    async def aget_resource(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """Async twin of :meth:`get_resource`."""
        answer = await self._acall("GET", api_path("resources", resource_type, resource_id))
        return dict(_unwrap(answer, "resource"))

    def upload_resource(self, resource_type: str, file: FileInput, **metadata: Any) -> dict[str, Any]:
        """Upload a file as a resource of ``resource_type`` (e.g. ``product_images``, ``reference_ads`` with
        ``type="video"``); answers ``{"resource": {"id", ...}}``. ``file`` is a local path, a
        ``file://``, object-store or http(s) URL, an ``ObjectStoragePath`` or a binary file object;
        it is streamed (a URL is downloaded to a temporary file first).
        """
        return self._upload(api_path("resources", resource_type, "upload"), file, metadata)

    def generate_resource(self, resource_type: str, prompt: str, **metadata: Any) -> dict[str, Any]:
        """Generate an ``avatars`` or ``background_images`` resource from ``prompt``."""
        if resource_type not in GENERATABLE_RESOURCE_TYPES:
            raise ClipgenConfigError(
                f"Clipwise can generate only {', '.join(sorted(GENERATABLE_RESOURCE_TYPES))} resources, "
                f"not {resource_type!r}; upload the asset instead."
            )
        body = _without_none({"prompt": prompt, **metadata})
        return dict(self._call("POST", api_path("resources", resource_type, "generate"), json=body))

    def delete_resource(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """Delete one resource."""
        return dict(self._call("DELETE", api_path("resources", resource_type, resource_id)))

    # -- uploads ------------------------------------------------------------------------------
    def upload_file(self, file: FileInput, purpose: str = "image", **metadata: Any) -> dict[str, Any]:
        """Upload a one-off generation input (``purpose`` ``image``, ``video``, ``audio``, …);
        answers ``{"upload": {"id", ...}}``. ``file`` is whatever :meth:`upload_resource` takes;
        it is streamed.
        """
        return self._upload(api_path("uploads"), file, {"purpose": purpose, **metadata})

    def list_uploads(
        self, *, page: int | None = None, limit: int | None = None, **filters: Any
    ) -> dict[str, Any]:
        """One page of uploads."""
        params = _without_none({"page": page, "limit": limit, **filters})
        return dict(self._call("GET", api_path("uploads"), params=params))

    def iter_uploads(self, *, page_size: int = DEFAULT_PAGE_SIZE, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every upload, walking all pages."""
        return walk_pages(
            lambda page, limit: self.list_uploads(page=page, limit=limit, **filters), page_size=page_size
        )

    def delete_upload(self, upload_id: str) -> dict[str, Any]:
        """Delete an upload (uploads are the ``generic_uploads`` resources)."""
        return self.delete_resource("generic_uploads", upload_id)

    def _upload(self, path: str, file: FileInput, metadata: Mapping[str, Any]) -> dict[str, Any]:
        with multipart_file(file) as part:
            return dict(self._call("POST", path, data=form_fields(metadata), files={"file": part}))

    # -- products -----------------------------------------------------------------------------
    def list_products(self, *, page: int | None = None, limit: int | None = None) -> dict[str, Any]:
        """One page of products."""
        params = _without_none({"page": page, "limit": limit})
        return dict(self._call("GET", api_path("products"), params=params))

    def iter_products(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every product, walking all pages."""
        return walk_pages(lambda page, limit: self.list_products(page=page, limit=limit), page_size=page_size)

    def create_product(
        self,
        name: str,
        *,
        image_ids: list[str] | None = None,
        url: str | None = None,
        product_type: str | None = None,
        description: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Create a product (empty values are left out); answers ``{"product": {"id", ...}}``."""
        body = _without_empty(
            {
                "name": name,
                "image_ids": image_ids,
                "url": url,
                "product_type": product_type,
                "description": description,
                **extra,
            }
        )
        return dict(self._call("POST", api_path("products"), json=body))

    def update_product(self, product_id: str, **fields: Any) -> dict[str, Any]:
        """Change the given fields of a product (None means "leave as is")."""
        return dict(self._call("PATCH", api_path("products", product_id), json=_without_none(fields)))

    def delete_product(self, product_id: str) -> dict[str, Any]:
        """Delete a product."""
        return dict(self._call("DELETE", api_path("products", product_id)))

    # -- voices -------------------------------------------------------------------------------
    def list_voices(
        self, *, page: int | None = None, limit: int | None = None, **filters: Any
    ) -> dict[str, Any]:
        """One page of the voice catalog and cloned voices (the ``voices`` resources)."""
        return self.list_resources("voices", page=page, limit=limit, **filters)

    def clone_voice(
        self, file: FileInput, name: str, language: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        """Clone a voice from a recording (a ``voices`` resource upload)."""
        return self.upload_resource("voices", file, name=name, language=language, description=description)

    # -- generations --------------------------------------------------------------------------
    def prepare_generation_params(self, format: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` with every file of a file parameter uploaded and replaced by its id.

        A file is a local path, a ``file://`` or object-store URL, an ``ObjectStoragePath`` or an
        http(s) URL (downloaded, then uploaded; passed on as it is for ``video``, which takes URLs);
        ids pass through. Every value is checked first: one naming no id, URL or existing file raises
        :class:`ClipgenConfigError` before anything is uploaded (see
        :class:`~clipgen_provider.hooks.clipwise_uploads.UploadPlan`).
        """
        return UploadPlan.of(format, params).run(self._upload_planned_file)

    def _upload_planned_file(self, target: UploadTarget, source: FileSource) -> str:
        if target.kind == "upload":
            answer = self.upload_file(source, target.name)
        else:
            answer = self.upload_resource(target.name, source)
        asset_id = extract_id(answer)
        if asset_id is None:
            raise ClipwiseApiError(f"the upload of {str(source)!r} answered no id", code="malformed_response")
        self.log.info("Uploaded %s to Clipwise %s %s as %s", source, target.kind, target.name, asset_id)
        return asset_id

    def create_generation(
        self, format: str, *, idempotency_key: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """Start a generation; returns at once with ``{"id": "gen_…", "status", ...}``.

        Local files given for file parameters are uploaded first (see
        :meth:`prepare_generation_params`; already-resolved ids pass through). None values are left
        out. One ``Idempotency-Key`` (a new UUID v4 unless given) is sent with every retry of this
        create, so a retried create never starts, or charges for, a second generation.
        """
        body, headers = _generation_request(
            format, self.prepare_generation_params(format, params), idempotency_key
        )
        return dict(self._call("POST", api_path("generations"), json=body, headers=headers))

    async def acreate_generation(
        self, format: str, *, idempotency_key: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """Async twin of :meth:`create_generation`, with the same contract: local files are uploaded
        first (streamed, sync, in a worker thread off the event loop) and one ``Idempotency-Key`` is
        sent with every retry of this create.
        """
        await self.aget_conn()  # the uploads reuse this transport: no sync connection lookup in the thread
        resolved = await asyncio.to_thread(self.prepare_generation_params, format, params)
        body, headers = _generation_request(format, resolved, idempotency_key)
        return dict(await self._acall("POST", api_path("generations"), json=body, headers=headers))

    def get_generation(self, generation_id: str) -> dict[str, Any]:
        """The generation: ``id``, ``status``, ``progress``, ``outputs``, ``error``."""
        return dict(_unwrap(self._call("GET", api_path("generations", generation_id)), "generation"))

    async def aget_generation(self, generation_id: str) -> dict[str, Any]:
        """Async twin of :meth:`get_generation`."""
        return dict(_unwrap(await self._acall("GET", api_path("generations", generation_id)), "generation"))

    def cancel_generation(self, generation_id: str) -> dict[str, Any]:
        """Cancel a generation and return it (now ``cancelled``); the API answers ``409
        unsupported_cancellation`` when the work can no longer really stop.
        """
        answer = self._call("POST", api_path("generations", generation_id, "cancel"))
        return dict(_unwrap(answer, "generation"))

    async def acancel_generation(self, generation_id: str) -> dict[str, Any]:
        """Async twin of :meth:`cancel_generation` (a trigger's ``on_kill`` runs on the event loop)."""
        answer = await self._acall("POST", api_path("generations", generation_id, "cancel"))
        return dict(_unwrap(answer, "generation"))

    # -- extract URL --------------------------------------------------------------------------
    def start_extract_url(self, url: str) -> dict[str, Any]:
        """Start turning a social video link into a usable video: ``{"task_id", "video_url"?, ...}``
        (``video_url`` is set when the video was ready at once).
        """
        return dict(self._call("POST", api_path("extract-url"), json={"url": url}))

    async def astart_extract_url(self, url: str) -> dict[str, Any]:
        """Async twin of :meth:`start_extract_url`."""
        return dict(await self._acall("POST", api_path("extract-url"), json={"url": url}))

    def get_extract_url(self, task_id: str) -> dict[str, Any]:
        """Poll an extraction: ``{"ready", "success", "video_url", "error", "error_code", ...}``."""
        return dict(self._call("GET", api_path("extract-url", task_id)))

    async def aget_extract_url(self, task_id: str) -> dict[str, Any]:
        """Async twin of :meth:`get_extract_url`."""
        return dict(await self._acall("GET", api_path("extract-url", task_id)))
