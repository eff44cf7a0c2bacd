"""Operators for Clipwise: generate a video/image/audio (deferrable), extract a social video URL,
and manage the assets generations use (re-exported from :mod:`.clipwise_assets`).

Every class is importable from here: ``from clipgen_provider.operators.clipwise import ...``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import Context

from clipgen_provider.exceptions import ClipgenConfigError, ClipwiseApiError
from clipgen_provider.jobs import JobState
from clipgen_provider.operators._job import ClipgenJobOperator
from clipgen_provider.operators._ledger import once_per_task_instance
from clipgen_provider.operators.clipwise_assets import (
    ClipwiseCloneVoiceOperator,
    ClipwiseCreateProductOperator,
    ClipwiseDeleteOperator,
    ClipwiseGenerateResourceOperator,
    ClipwiseUploadOperator,
)
from clipgen_provider.operators.clipwise_base import ClipwiseHookMixin

if TYPE_CHECKING:
    from clipgen_provider.results import ClipwiseExtractUrlResult, ClipwiseGenerationResult
    from clipgen_provider.triggers.clipwise import ClipwiseExtractUrlTrigger, ClipwiseGenerationTrigger

__all__ = [
    "ClipwiseCloneVoiceOperator",
    "ClipwiseCreateProductOperator",
    "ClipwiseDeleteOperator",
    "ClipwiseExtractUrlOperator",
    "ClipwiseGenerateOperator",
    "ClipwiseGenerateResourceOperator",
    "ClipwiseUploadOperator",
]

#: inputs that are arguments of their own and so cannot also be given inside ``inputs``
_RESERVED_INPUTS = frozenset({"format", "idempotency_key"})


def _is_missing(value: Any) -> bool:
    """Whether a required input counts as not given: absent, None, blank, or an empty list/dict."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | tuple | dict) and not value)


def missing_inputs(format_spec: Mapping[str, Any], inputs: Mapping[str, Any]) -> list[str]:
    """The format's required inputs that ``inputs`` does not give, in the catalog's order."""
    return [name for name in format_spec.get("required_inputs") or [] if _is_missing(inputs.get(name))]


class ClipwiseGenerateOperator(ClipwiseHookMixin, ClipgenJobOperator):
    """Start a Clipwise generation (a video format or a tool) and wait for it, without paying twice.

    Before anything is uploaded or generated, the format is read from the catalog and ``inputs`` is
    checked against its required inputs: an unknown format, or every missing input, fails the task
    at once (no retry), as does a file parameter (``video``, ``image``, ``product_image``,
    ``reference_image``, ``product_images``, ...) whose value names no id, http(s) URL or existing
    file. Files (local paths, ``file://`` and object-store URLs, ``ObjectStoragePath``, http(s) media
    URLs: an earlier task's ``stored_paths`` or ``media_urls`` as they are) are then uploaded,
    streamed, and replaced by their ids; the resolved inputs are recorded in ``task_state_store``,
    so a retry neither uploads again nor changes the body its idempotency key was first sent with.
    The submit carries an idempotency key tied to the task instance; the ``generation_id`` is
    pushed to XCom before waiting; the wait runs in the triggerer
    (:class:`~clipgen_provider.triggers.clipwise.ClipwiseGenerationTrigger`) or, with
    ``deferrable=False``, on the worker.

    Returns ``{generation_id, format, mode, status, outputs, video_url, result_url, transcript,
    generated_media_id, media_urls}`` (see
    :func:`~clipgen_provider.operators.clipwise_results.generation_summary`).

    When the wait times out, or a user kills the task, a generation that still runs is cancelled
    best-effort; one that is past cancelling (``unsupported_cancellation``) runs on, which is
    logged, never raised.

    :param format: format or tool: slug, template name, display name or alias, e.g. ``smart``,
        ``ugc_video``, ``static_ad``, ``text_to_audio`` (templated)
    :param inputs: the format's parameters, e.g. ``{"product_id": ..., "ad_format": ...}``
        (templated). Named ``inputs`` because ``params`` is Airflow's own operator argument.
    :param prompt: shortcut for ``inputs["prompt"]`` (templated)
    :param script: shortcut for ``inputs["script"]`` (templated)
    :param clipwise_conn_id: the ``clipwise`` connection

    Plus the options of :class:`~clipgen_provider.operators._job.ClipgenJobOperator`
    (``idempotency_key``, ``deferrable``, ``poll_interval``, ``wait_timeout``).
    """

    template_fields: Sequence[str] = (
        "format",
        "inputs",
        "prompt",
        "script",
        "idempotency_key",
        "output_path",
        "clipwise_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"inputs": "json"}
    ui_color = "#d7f0ff"

    ledger_name: ClassVar[str] = "clipwise_generation"
    job_id_xcom_key: ClassVar[str] = "generation_id"
    job_noun: ClassVar[str] = "Clipwise generation"

    def __init__(
        self,
        *,
        format: str,
        inputs: dict[str, Any] | None = None,
        prompt: str | None = None,
        script: str | None = None,
        clipwise_conn_id: str = "clipwise_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.format = format
        self.inputs = inputs or {}
        self.prompt = prompt
        self.script = script
        self.clipwise_conn_id = clipwise_conn_id
        #: the generation this try waits for (set when the wait starts; what ``on_kill`` cancels)
        self._generation_id: str | None = None

    def generation_inputs(self) -> dict[str, Any]:
        """``inputs`` with ``prompt`` and ``script`` folded in; an input given twice is an error."""
        if not isinstance(self.inputs, Mapping):
            raise ClipgenConfigError(
                f"inputs must be a dict of the format's parameters, not {type(self.inputs).__name__}."
            )
        merged = dict(self.inputs)
        if reserved := sorted(_RESERVED_INPUTS & merged.keys()):
            raise ClipgenConfigError(
                f"inputs must not contain {', '.join(reserved)}: pass each as the operator argument "
                "of the same name instead."
            )
        for name, value in (("prompt", self.prompt), ("script", self.script)):
            if value is None:
                continue
            if name in merged:
                raise ClipgenConfigError(
                    f"{name} is given twice, as the {name} argument and in inputs; keep one of them."
                )
            merged[name] = value
        return merged

    def check_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Fail unless ``format`` is an active catalog entry and ``inputs`` gives all it requires."""
        if not isinstance(self.format, str) or not self.format.strip():
            raise ClipgenConfigError(
                "format is empty: pass a Clipwise format or tool such as 'smart' or 'ugc_video' "
                "(ClipwiseHook().list_formats() lists them)."
            )
        try:
            spec = self.hook.get_format(self.format)
        except ClipwiseApiError as err:
            if err.status_code != 404:
                raise
            raise ClipgenConfigError(
                f"format {self.format!r} is not in the Clipwise catalog: check its spelling against "
                "ClipwiseHook().list_formats() (or `clipwise formats list`). Nothing was uploaded or "
                "generated."
            ) from err
        slug = spec.get("slug") or self.format
        if spec.get("active") is False:
            raise ClipgenConfigError(f"Clipwise format {slug!r} is inactive; pick an active one.")
        if missing := missing_inputs(spec, inputs):
            optional = ", ".join(spec.get("optional_inputs") or []) or "none"
            raise ClipgenConfigError(
                f"Clipwise format {slug!r} requires {', '.join(missing)}, missing from inputs. Add "
                f"{'it' if len(missing) == 1 else 'them'} to inputs (required: "
                f"{', '.join(spec.get('required_inputs') or [])}; optional: {optional}). Nothing was "
                "uploaded or generated."
            )

    def submit_job(self, context: Context, idempotency_key: str) -> str:
        from clipgen_provider.hooks.clipwise_uploads import UploadPlan

        inputs = self.generation_inputs()
        plan = UploadPlan.of(self.format, inputs)  # every file input checked before anything is sent
        self.check_inputs(inputs)
        resolved = once_per_task_instance(
            context,
            "clipwise_generation_inputs",
            {"format": self.format, "inputs": plan.params},
            lambda: self.hook.prepare_generation_params(self.format, plan.params),
            self.log,
        )
        generation = self.hook.create_generation(self.format, idempotency_key=idempotency_key, **resolved)
        self.log.info(
            "Started Clipwise generation %s (format %s), status %s.",
            generation["id"],
            generation.get("format") or self.format,
            generation.get("status"),
        )
        return str(generation["id"])

    def read_job(self, job_id: str) -> JobState:
        from clipgen_provider.hooks.clipwise import clipwise_job_state

        return clipwise_job_state(self.hook.get_generation(job_id))

    def make_trigger(self, job_id: str, deadline: float | None) -> ClipwiseGenerationTrigger:
        from clipgen_provider.triggers.clipwise import ClipwiseGenerationTrigger

        self._generation_id = job_id
        return ClipwiseGenerationTrigger(
            job_id=job_id, conn_id=self.clipwise_conn_id, deadline=deadline, **self.poll_options()
        )

    def complete_job(self, context: Context, job_id: str) -> ClipwiseGenerationResult:
        from clipgen_provider.operators.clipwise_results import generation_summary

        summary = generation_summary(self.hook.get_generation(job_id))
        self.log.info("Clipwise generation %s %s.", job_id, summary["status"])
        for url in summary["media_urls"]:
            self.log.info("Media: %s", url)
        return summary

    def requested(self) -> dict[str, Any]:
        return {"format": self.format}

    def describe_failure(self, job_id: str, event: dict[str, Any]) -> str:
        from clipgen_provider.outputs import failure_reason

        return failure_reason(self.hook.get_generation(job_id).get("error")) or str(event.get("message"))

    def on_job_timeout(self, job_id: str) -> str | None:
        """The wait timed out: cancel the generation if it can still stop."""
        if self.cancel_best_effort(job_id):
            return "it was cancelled, so a retry of this task starts a new generation"
        return None

    def on_kill(self) -> None:
        """The task is killed while waiting on the worker: cancel the generation if it can still stop."""
        if self._generation_id:
            self.cancel_best_effort(self._generation_id)

    def cancel_best_effort(self, generation_id: str) -> bool:
        """Cancel ``generation_id`` unless it already finished; True if it was cancelled.

        A refusal (``unsupported_cancellation``: the work can no longer stop) or an API error is
        logged, never raised: the task is already failing or being killed for its own reason.
        """
        from clipgen_provider.triggers.clipwise import cancel_refusal, nothing_to_cancel

        try:
            if reason := nothing_to_cancel(self.read_job(generation_id)):
                self.log.info(reason)
                return False
            self.hook.cancel_generation(generation_id)
        except ClipwiseApiError as err:
            self.log.warning(cancel_refusal(generation_id, err))
            return False
        self.log.warning("Cancelled Clipwise generation %s.", generation_id)
        return True


class ClipwiseExtractUrlOperator(ClipwiseHookMixin, ClipgenJobOperator):
    """Turn a social video link (TikTok, Instagram, ...) into a video URL generations can use.

    Starts ``POST extract-url/``, pushes the extraction's ``extract_task_id`` to XCom, then waits
    (:class:`~clipgen_provider.triggers.clipwise.ClipwiseExtractUrlTrigger`, or on the worker with
    ``deferrable=False``). A retry re-attaches to the extraction an earlier try started. A link the
    API cannot extract fails the task with its ``error_code`` (``url_extract_failed``).

    Returns ``{extract_task_id, source_url, video_url, media_urls}``.

    :param url: the link, an absolute ``http(s)`` URL (templated)
    :param clipwise_conn_id: the ``clipwise`` connection

    Plus ``deferrable``, ``poll_interval`` and ``wait_timeout`` of
    :class:`~clipgen_provider.operators._job.ClipgenJobOperator`. The extract-url API takes no
    idempotency key, so ``idempotency_key`` is refused.
    """

    template_fields: Sequence[str] = ("url", "output_path", "clipwise_conn_id")
    ui_color = "#d7f0ff"

    ledger_name: ClassVar[str] = "clipwise_extract_url"
    job_id_xcom_key: ClassVar[str] = "extract_task_id"
    job_noun: ClassVar[str] = "Clipwise URL extraction"

    def __init__(self, *, url: str, clipwise_conn_id: str = "clipwise_default", **kwargs: Any) -> None:
        if kwargs.get("idempotency_key") is not None:
            raise ClipgenConfigError(
                "ClipwiseExtractUrlOperator takes no idempotency_key: the extract-url API has none (a "
                "retry re-attaches to the earlier try's extraction instead)."
            )
        super().__init__(**kwargs)
        self.url = url
        self.clipwise_conn_id = clipwise_conn_id

    def requested(self) -> dict[str, Any]:
        return {"source_url": self.url}

    def submit_job(self, context: Context, idempotency_key: str) -> str:
        started = self.hook.start_extract_url(self.url)
        self.log.info("Started Clipwise URL extraction %s of %s.", started["task_id"], self.url)
        return str(started["task_id"])

    def read_job(self, job_id: str) -> JobState:
        from clipgen_provider.hooks.clipwise import extract_url_job_state

        return extract_url_job_state(job_id, self.hook.get_extract_url(job_id))

    def make_trigger(self, job_id: str, deadline: float | None) -> ClipwiseExtractUrlTrigger:
        from clipgen_provider.triggers.clipwise import ClipwiseExtractUrlTrigger

        return ClipwiseExtractUrlTrigger(
            job_id=job_id, conn_id=self.clipwise_conn_id, deadline=deadline, **self.poll_options()
        )

    def complete_job(self, context: Context, job_id: str) -> ClipwiseExtractUrlResult:
        answer = self.hook.get_extract_url(job_id)
        video_url = answer.get("video_url")
        self.log.info("Clipwise URL extraction %s ready: %s", job_id, video_url)
        return {
            "extract_task_id": job_id,
            "source_url": answer.get("source_url") or self.url,
            "video_url": video_url,
            "media_urls": [video_url] if video_url else [],
        }
