"""What a finished generation hands on, the same whether a generate operator or a sensor waited.

A task that saw a job end hands its outcome to the rest of the pipeline in four ways, and the
generate operators (:mod:`clipgen_provider.operators._job`) and the job sensors
(:mod:`clipgen_provider.sensors._job`) do all four through this module:

* the media files copied to the task's ``output_path`` (their paths returned as ``stored_paths``);
* the *Generated media* link (:class:`~clipgen_provider.links.ClipgenMediaLink`);
* the ``extra`` of the events of the task's outlet Assets (:data:`ASSET_EVENT_FIELDS`);
* on failure, the reason in the API's own words (:func:`failure_reason`).

Cheap to import (DAG parsing imports the operators): the media and HTTP stack load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clipgen_provider.exceptions import ClipgenConfigError
from clipgen_provider.links import ClipgenMediaLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

    from clipgen_provider.media import MediaItem

#: result fields copied onto the events of a task's outlet Assets
ASSET_EVENT_FIELDS = (
    "request_id",
    "generation_id",
    "status",
    "model",
    "format",
    "cost",
    "media_urls",
    "stored_paths",
)


def check_output_path(output_path: Any) -> None:
    """Refuse an ``output_path`` no filesystem can open, before anything is sent or waited for."""
    from clipgen_provider.media import as_storage_path

    try:
        as_storage_path(output_path).fs  # noqa: B018 - resolve the filesystem now (3.1 defers it to here)
    except ClipgenConfigError:
        raise
    except ValueError as err:
        raise ClipgenConfigError(
            f"output_path {str(output_path)!r} cannot be opened ({err}): give a local folder as "
            "file:///path, or an object-store URL whose Airflow provider is installed (s3:// needs "
            "the Amazon provider, gs:// the Google one)."
        ) from err


#: result keys also pushed as XComs of their own: ``task.output["stored_paths"]`` is the list itself
HANDOFF_XCOM_KEYS = ("media_urls", "stored_paths")


def media_items(result: dict[str, Any]) -> list[MediaItem]:
    """The files a job's result names: with the type and size Clipia declares in its ``output``,
    else one item per entry of ``media_urls`` (Clipwise and URL extractions declare neither)."""
    from clipgen_provider.media import MediaItem

    output = result.get("output")
    if isinstance(output, dict):
        from clipgen_provider.hooks.clipia import media_items as declared_media

        return declared_media(output)
    return [MediaItem(url) for url in result.get("media_urls") or []]


def deliver_outputs(
    task: BaseOperator, context: Context, result: Any, output_path: Any, *, job_id: str
) -> Any:
    """Copy the media of a completed job's ``result`` to ``output_path`` (adding ``stored_paths``),
    point the task's media link at its first file and annotate its outlet Asset events.

    Files are named ``{job_id}-{index}.{ext}``, so handing the same job on again overwrites them.
    The file lists also go to XCom under their own keys (:data:`HANDOFF_XCOM_KEYS`), so a next task
    takes them as they are: ``inputs={"image": generate.output["stored_paths"]}``.
    """
    if not isinstance(result, dict):
        return result
    if output_path:
        from clipgen_provider.media import store_media

        result["stored_paths"] = store_media(media_items(result), output_path, stem=job_id)
        for path in result["stored_paths"]:
            task.log.info("Stored: %s", path)
    for key in HANDOFF_XCOM_KEYS:
        if key in result:
            context["ti"].xcom_push(key=key, value=result[key])
    if result.get("media_urls"):
        ClipgenMediaLink.remember(task, result["media_urls"][0])
    annotate_asset_events(task, context, result)
    return result


def annotate_asset_events(task: BaseOperator, context: Context, result: dict[str, Any]) -> None:
    """Put the job's id, status, model or format, cost and files on every outlet Asset's event."""
    from airflow.sdk import Asset

    extra = {key: result[key] for key in ASSET_EVENT_FIELDS if result.get(key) is not None}
    for outlet in task.outlets:
        if isinstance(outlet, Asset):
            context["outlet_events"][outlet].extra.update(extra)


def failure_reason(error: Any) -> str | None:
    """An API's ``error`` of a failed job as text: ``message (code)``, or whichever of the two it
    gave; a plain string as it is; None when there is none."""
    if isinstance(error, dict):
        message, code = error.get("message"), error.get("code")
        if message and code:
            return f"{message} ({code})"
        return str(message or code) if (message or code) else None
    return str(error) if error else None
