"""Operators for the assets Clipwise generations use: uploads, products, voices, generated resources,
and deleting them again when a pipeline cleans up.

None of these is a paid generation, and the API takes no idempotency key for them. So that a retried
task does not create a second copy, each write is recorded in ``task_state_store`` with a
fingerprint of its inputs and reused by a later try with the same inputs (see
:func:`~clipgen_provider.operators._ledger.once_per_task_instance`); deletes treat "already
gone" as done. Permanent API errors fail the task at once; transient ones let Airflow retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator, Context

from clipgen_provider.exceptions import ClipgenConfigError, ClipwiseApiError
from clipgen_provider.operators._job import fail_fast_on_permanent_errors
from clipgen_provider.operators._ledger import once_per_task_instance
from clipgen_provider.operators.clipwise_base import ClipwiseHookMixin

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from clipgen_provider.file_inputs import FileSource
    from clipgen_provider.results import (
        ClipwiseDeleteResult,
        ClipwiseProductResult,
        ClipwiseResourceResult,
        ClipwiseVoiceResult,
    )

_UI_COLOR = "#e6f6ff"


def _file_to_upload(value: Any, param: str) -> FileSource:
    """The file ``value`` names, checked before anything is sent: a local path, a ``file://``,
    object-store or http(s) URL, an ``ObjectStoragePath``, or a list of one of them
    (see :mod:`clipgen_provider.file_inputs`).
    """
    from clipgen_provider.file_inputs import readable_file

    return readable_file(param, value)


def _new_id(answer: dict[str, Any], what: str) -> str:
    """The id of what a write created, or a permanent error if the answer has none."""
    from clipgen_provider.hooks.clipwise import extract_id

    if new_id := extract_id(answer):
        return new_id
    raise ClipwiseApiError(f"the answer to creating {what} named no id", code="malformed_response")


def _record(answer: dict[str, Any], envelope: str) -> dict[str, Any]:
    """The created record inside the answer (``resource``, ``product``, ...), else the answer itself."""
    inner = answer.get(envelope)
    return dict(inner) if isinstance(inner, dict) else dict(answer)


class ClipwiseUploadOperator(ClipwiseHookMixin, BaseOperator):
    """Upload a file to Clipwise and return its id.

    Without ``resource_type`` the file becomes a generic upload (``POST uploads/``, for source
    videos, images and audio of one-off generations); with it, a reusable resource of that type
    (``POST resources/{type}/upload/``: ``product_images``, ``reference_ads``, ``background_music``,
    ``overlays``, ``avatars``, ...). The file is streamed (an http(s) URL is downloaded to a temporary
    file first). Returns the new id (``upl_…`` or ``res_…``), ready for a generation's inputs or
    ``ClipwiseCreateProductOperator(images=...)``.

    :param file_path: the file: a local path, a ``file://``, ``s3://`` (any URL Airflow can open) or
        http(s) URL, an ``ObjectStoragePath``, or a list of one, e.g. an earlier task's
        ``stored_paths`` (templated)
    :param purpose: generic uploads only: ``image``, ``video``, ``audio``, ``document``, ``other``
    :param resource_type: upload as a resource of this type instead (templated)
    :param metadata: extra form fields, e.g. ``{"product_type": "skincare"}`` or
        ``{"type": "video"}`` for reference ads (templated)
    :param clipwise_conn_id: the ``clipwise`` connection
    """

    template_fields: Sequence[str] = ("file_path", "purpose", "resource_type", "metadata", "clipwise_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"metadata": "json"}
    ui_color = _UI_COLOR

    def __init__(
        self,
        *,
        file_path: str | ObjectStoragePath | list[Any],
        purpose: str = "image",
        resource_type: str | None = None,
        metadata: dict[str, Any] | None = None,
        clipwise_conn_id: str = "clipwise_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.file_path = file_path
        self.purpose = purpose
        self.resource_type = resource_type
        self.metadata = metadata or {}
        self.clipwise_conn_id = clipwise_conn_id

    def execute(self, context: Context) -> str:
        """Upload the file once per task instance; return its id."""
        with fail_fast_on_permanent_errors():
            source = _file_to_upload(self.file_path, "file_path")
            target = (
                {"resource_type": self.resource_type} if self.resource_type else {"purpose": self.purpose}
            )
            return once_per_task_instance(
                context,
                "clipwise_upload",
                {"file": source.key, **target, "metadata": self.metadata},
                lambda: self._upload(source),
                self.log,
            )

    def _upload(self, source: FileSource) -> str:
        if self.resource_type:
            answer = self.hook.upload_resource(self.resource_type, source, **self.metadata)
            where = f"resource of type {self.resource_type}"
        else:
            answer = self.hook.upload_file(source, self.purpose, **self.metadata)
            where = f"upload ({self.purpose})"
        asset_id = _new_id(answer, f"the {where}")
        self.log.info("Uploaded %s to Clipwise as %s %s.", source, where, asset_id)
        return asset_id


class ClipwiseCreateProductOperator(ClipwiseHookMixin, BaseOperator):
    """Create a Clipwise product (what ``static_ad`` and product videos take as ``product_id``).

    ``images`` may mix upload ids and image files (local paths, ``file://``, object-store or http(s)
    URLs, ``ObjectStoragePath``: e.g. an earlier task's ``stored_paths`` or ``media_urls`` as they
    are); every one is checked before anything is sent, then the files are uploaded (as image
    uploads, streamed), and recorded, so a retry does not upload them again. Returns
    ``{"product_id", "product"}``.

    :param name: product name (templated)
    :param images: upload or product-image ids and/or image files; a single value is one image
        (templated)
    :param url: product page URL (templated)
    :param product_type: category, e.g. ``skincare`` (templated)
    :param description: product description (templated)
    :param metadata: further product fields (templated)
    :param clipwise_conn_id: the ``clipwise`` connection
    """

    template_fields: Sequence[str] = (
        "name",
        "images",
        "url",
        "product_type",
        "description",
        "metadata",
        "clipwise_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"metadata": "json"}
    ui_color = _UI_COLOR

    def __init__(
        self,
        *,
        name: str,
        images: list[Any] | str | ObjectStoragePath | None = None,
        url: str | None = None,
        product_type: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        clipwise_conn_id: str = "clipwise_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.images = images
        self.url = url
        self.product_type = product_type
        self.description = description
        self.metadata = metadata or {}
        self.clipwise_conn_id = clipwise_conn_id

    def execute(self, context: Context) -> ClipwiseProductResult:
        """Upload local images, then create the product, each at most once per task instance."""
        from clipgen_provider.file_inputs import is_file_list

        images = list(self.images) if is_file_list(self.images) else [self.images] if self.images else []
        with fail_fast_on_permanent_errors():
            if not self.name or not str(self.name).strip():
                raise ClipgenConfigError("name is empty: a Clipwise product needs a name.")
            # the rule of the generation parameter ``images``: files go to uploads/ (purpose image),
            # ids pass through; every value is checked before the first upload
            image_ids = once_per_task_instance(
                context,
                "clipwise_product_images",
                images,
                lambda: list(self.hook.prepare_generation_params("product", {"images": images})["images"]),
                self.log,
            )
            fields = {
                "name": self.name,
                "image_ids": image_ids,
                "url": self.url,
                "product_type": self.product_type,
                "description": self.description,
                **self.metadata,
            }
            return once_per_task_instance(
                context, "clipwise_product", fields, lambda: self._create(fields), self.log
            )

    def _create(self, fields: dict[str, Any]) -> ClipwiseProductResult:
        answer = self.hook.create_product(**fields)
        product_id = _new_id(answer, "the product")
        self.log.info("Created Clipwise product %s (%s).", product_id, self.name)
        return {"product_id": product_id, "product": _record(answer, "product")}


class ClipwiseGenerateResourceOperator(ClipwiseHookMixin, BaseOperator):
    """Generate a reusable ``avatars`` or ``background_images`` resource from a prompt.

    Returns ``{"resource_id", "resource"}``; a retry with the same inputs reuses the resource.

    :param resource_type: ``avatars`` or ``background_images`` (templated)
    :param prompt: what to generate, e.g. "Female presenter in a studio" (templated)
    :param metadata: further fields, e.g. ``{"video_format": "ugc_video"}`` (templated)
    :param clipwise_conn_id: the ``clipwise`` connection
    """

    template_fields: Sequence[str] = ("resource_type", "prompt", "metadata", "clipwise_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"metadata": "json"}
    ui_color = _UI_COLOR

    def __init__(
        self,
        *,
        resource_type: str,
        prompt: str,
        metadata: dict[str, Any] | None = None,
        clipwise_conn_id: str = "clipwise_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource_type = resource_type
        self.prompt = prompt
        self.metadata = metadata or {}
        self.clipwise_conn_id = clipwise_conn_id

    def execute(self, context: Context) -> ClipwiseResourceResult:
        """Generate the resource once per task instance."""
        with fail_fast_on_permanent_errors():
            inputs = {"resource_type": self.resource_type, "prompt": self.prompt, **self.metadata}
            return once_per_task_instance(
                context, "clipwise_generated_resource", inputs, self._generate, self.log
            )

    def _generate(self) -> ClipwiseResourceResult:
        answer = self.hook.generate_resource(self.resource_type, self.prompt, **self.metadata)
        resource_id = _new_id(answer, f"the {self.resource_type} resource")
        self.log.info("Generated Clipwise %s resource %s.", self.resource_type, resource_id)
        return {"resource_id": resource_id, "resource": _record(answer, "resource")}


class ClipwiseCloneVoiceOperator(ClipwiseHookMixin, BaseOperator):
    """Clone a voice from a recording; the new voice works as any format's ``voice`` input.

    Returns ``{"voice_id", "voice"}``; a retry with the same inputs reuses the voice.

    :param file_path: the recording, e.g. a WAV or MP3: a local path, a ``file://``, ``s3://`` (any
        URL Airflow can open) or http(s) URL, an ``ObjectStoragePath``, or a list of one, e.g. an
        earlier task's ``stored_paths`` (templated)
    :param name: the voice's name (templated)
    :param language: its language, e.g. ``en`` (templated)
    :param description: a description (templated)
    :param clipwise_conn_id: the ``clipwise`` connection
    """

    template_fields: Sequence[str] = ("file_path", "name", "language", "description", "clipwise_conn_id")
    ui_color = _UI_COLOR

    def __init__(
        self,
        *,
        file_path: str | ObjectStoragePath | list[Any],
        name: str,
        language: str | None = None,
        description: str | None = None,
        clipwise_conn_id: str = "clipwise_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.file_path = file_path
        self.name = name
        self.language = language
        self.description = description
        self.clipwise_conn_id = clipwise_conn_id

    def execute(self, context: Context) -> ClipwiseVoiceResult:
        """Clone the voice once per task instance."""
        with fail_fast_on_permanent_errors():
            source = _file_to_upload(self.file_path, "file_path")
            inputs = {
                "file": source.key,
                "name": self.name,
                "language": self.language,
                "description": self.description,
            }
            return once_per_task_instance(
                context, "clipwise_voice", inputs, lambda: self._clone(source), self.log
            )

    def _clone(self, source: FileSource) -> ClipwiseVoiceResult:
        answer = self.hook.clone_voice(
            source, self.name, language=self.language, description=self.description
        )
        voice_id = _new_id(answer, "the voice")
        self.log.info("Cloned Clipwise voice %s (%s) from %s.", voice_id, self.name, source)
        return {"voice_id": voice_id, "voice": _record(answer, "resource")}


class ClipwiseDeleteOperator(ClipwiseHookMixin, BaseOperator):
    """Delete an upload, a product or a resource, e.g. as a pipeline's clean-up (teardown) task.

    Something already gone counts as deleted (``missing_ok``), so a retry after a lost answer
    succeeds. Shared catalog assets cannot be deleted (a permanent error). Returns
    ``{"resource_type", "asset_id", "deleted"}`` (``deleted`` False when it was already gone).

    :param resource_type: ``uploads`` (the ``upl_…`` ids, also spelled ``generic_uploads``),
        ``products``, or any resource type: ``product_images``, ``voices``, ``avatars``,
        ``background_images``, ``reference_ads``, ... (templated)
    :param asset_id: the id to delete (templated, e.g. from the creating task's XCom)
    :param missing_ok: treat "not found" as done (default True)
    :param clipwise_conn_id: the ``clipwise`` connection
    """

    template_fields: Sequence[str] = ("resource_type", "asset_id", "clipwise_conn_id")
    ui_color = _UI_COLOR

    def __init__(
        self,
        *,
        resource_type: str,
        asset_id: str,
        missing_ok: bool = True,
        clipwise_conn_id: str = "clipwise_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource_type = resource_type
        self.asset_id = asset_id
        self.missing_ok = missing_ok
        self.clipwise_conn_id = clipwise_conn_id

    def execute(self, context: Context) -> ClipwiseDeleteResult:
        """Delete the asset; "not found" is done when ``missing_ok``."""
        outcome: ClipwiseDeleteResult = {
            "resource_type": self.resource_type,
            "asset_id": self.asset_id,
            "deleted": True,
        }
        with fail_fast_on_permanent_errors():
            # "None" is what a template pulling a missing XCom renders to: never report it "gone"
            if not self.asset_id or not str(self.asset_id).strip() or self.asset_id == "None":
                raise ClipgenConfigError(
                    f"asset_id is empty ({self.asset_id!r}): pass the id to delete, e.g. the XCom of the "
                    "task that created it."
                )
            try:
                self._delete()
            except ClipwiseApiError as err:
                if err.status_code != 404 or not self.missing_ok:
                    raise
                self.log.info("Clipwise %s %s is already gone.", self.resource_type, self.asset_id)
                return {**outcome, "deleted": False}
        self.log.info("Deleted Clipwise %s %s.", self.resource_type, self.asset_id)
        return outcome

    def _delete(self) -> None:
        if self.resource_type in ("uploads", "generic_uploads"):
            self.hook.delete_upload(self.asset_id)
        elif self.resource_type == "products":
            self.hook.delete_product(self.asset_id)
        else:
            self.hook.delete_resource(self.resource_type, self.asset_id)
