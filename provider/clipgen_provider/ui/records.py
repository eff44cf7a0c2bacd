"""What one generation task instance shows, built from what Airflow stored for it (pure functions).

A generate operator, a job sensor or a ``@task.clipia`` / ``@task.clipwise`` task leaves, per try:
its job id under its own XCom key (``request_id``, ``generation_id``, ``extract_task_id``) pushed
before it waits; when the job finished, the result as its return value and the file lists as the
``media_urls`` and ``stored_paths`` XComs (:mod:`clipgen_provider.outputs`); and its rendered
template fields (the model or format and the input, as rendered). :func:`build_generation`
turns those into a :class:`Generation`; it never raises on an odd value, it just shows less.
"""

from __future__ import annotations

import mimetypes
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from clipgen_provider.operators.cost import JOB_ID_KEYS as PRICED_JOB_ID_KEYS
from clipgen_provider.operators.cost import ApiName

MediaKind = Literal["image", "video", "audio", "other"]

#: XCom key of a job id → the API it belongs to (``ClipgenJobOperator.job_id_xcom_key``): the
#: generate operators' keys, and the URL extraction's
JOB_ID_KEYS: dict[str, ApiName] = {**PRICED_JOB_ID_KEYS, "extract_task_id": "clipwise"}
#: the XComs a generation task instance is read from
XCOM_KEYS: tuple[str, ...] = ("return_value", "media_urls", "stored_paths", *JOB_ID_KEYS)
#: the operator names (``TaskInstance.operator`` or ``custom_operator_name``) of this provider's
#: generate operators, job sensors and decorators: a task of these shows its job before it ends
GENERATION_OPERATORS = frozenset(
    {
        "ClipiaGenerateOperator",
        "ClipiaRequestSensor",
        "ClipwiseGenerateOperator",
        "ClipwiseGenerationSensor",
        "ClipwiseExtractUrlOperator",
        "@task.clipia",
        "@task.clipwise",
    }
)
#: rendered template fields that name what was asked for, in the order they are shown
INPUT_FIELDS = ("model", "format", "mode", "prompt", "script", "inputs", "request_id", "generation_id", "url")


@dataclass(frozen=True)
class MediaEntry:
    """One produced file: the API's URL and, if ``output_path`` kept a copy, where it is stored.

    ``index`` is the file's position in ``stored_paths`` (the media route serves it by that index,
    never by a path taken from a request) or, with no stored copy, in ``media_urls``.
    """

    index: int
    kind: MediaKind
    content_type: str | None
    url: str | None
    stored_path: str | None

    @property
    def name(self) -> str:
        """The file name, for captions and downloads."""
        return posixpath.basename(urlsplit(self.stored_path or self.url or "").path) or f"file-{self.index}"


@dataclass(frozen=True)
class Generation:
    """A generation task instance as the Media tab shows it."""

    api: ApiName | None
    job_id: str | None
    status: str | None
    model: str | None
    cost: float | None
    prompt: str | None
    inputs: dict[str, Any] = field(default_factory=dict)
    media: list[MediaEntry] = field(default_factory=list)
    stored_paths: list[str] = field(default_factory=list)
    conn_id: str | None = None


def content_type_of(location: str, declared: str | None = None) -> str | None:
    """The declared content type, else the one the file extension says."""
    if declared:
        return declared.split(";", 1)[0].strip().lower()
    guessed, _ = mimetypes.guess_type(urlsplit(location).path)
    return guessed


def kind_of(content_type: str | None) -> MediaKind:
    """``image``, ``video``, ``audio`` or ``other``, from a content type."""
    major = (content_type or "").split("/", 1)[0]
    return major if major in ("image", "video", "audio") else "other"  # type: ignore[return-value]


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value if isinstance(item, str)] if isinstance(value, list) else []


def declared_types(result: Mapping[str, Any]) -> dict[str, str]:
    """URL → content type, as Clipia declares them in a result's ``output`` (images, video, audio)."""
    output = result.get("output")
    found: dict[str, str] = {}
    if not isinstance(output, Mapping):
        return found
    for value in output.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Mapping) and isinstance(item.get("url"), str) and item.get("content_type"):
                found[item["url"]] = str(item["content_type"])
    return found


def media_entries(
    urls: Sequence[str], stored: Sequence[str], declared: Mapping[str, str]
) -> list[MediaEntry]:
    """One entry per stored file (with the URL it came from when the lists line up), else per URL."""
    if stored:
        paired = list(urls) if len(urls) == len(stored) else [None] * len(stored)
        entries = []
        for index, (path, url) in enumerate(zip(stored, paired, strict=True)):
            content_type = content_type_of(path, declared.get(url or ""))
            entries.append(MediaEntry(index, kind_of(content_type), content_type, url, path))
        return entries
    return [
        MediaEntry(index, kind_of(ctype := content_type_of(url, declared.get(url))), ctype, url, None)
        for index, url in enumerate(urls)
    ]


def _job(xcoms: Mapping[str, Any], result: Mapping[str, Any]) -> tuple[ApiName | None, str | None]:
    for key, api in JOB_ID_KEYS.items():
        value = xcoms.get(key) or result.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return api, str(value)
    return None, None


def _cost(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def prompt_of(rendered: Mapping[str, Any]) -> str | None:
    """The prompt as rendered: ``inputs["prompt"]`` (Clipia, Clipwise) or the ``prompt`` or
    ``script`` field (Clipwise)."""
    inputs = rendered.get("inputs")
    for value in (
        inputs.get("prompt") if isinstance(inputs, Mapping) else None,
        rendered.get("prompt"),
        rendered.get("script"),
    ):
        if isinstance(value, str) and value:
            return value
    return None


def is_generation(operator: str | None, xcoms: Mapping[str, Any]) -> bool:
    """Whether a task instance is one of this provider's generations: by its operator's name, or
    (a subclass under another name) by the job id or media list it pushed."""
    return operator in GENERATION_OPERATORS or any(key in xcoms for key in ("media_urls", *JOB_ID_KEYS))


def build_generation(
    xcoms: Mapping[str, Any], rendered: Mapping[str, Any] | None, state: str | None
) -> Generation:
    """The :class:`Generation` of one task instance from its XComs (by key) and rendered fields.

    ``state`` (the task instance's) stands in for the job status while no result is stored.
    """
    raw_result = xcoms.get("return_value")
    result: Mapping[str, Any] = raw_result if isinstance(raw_result, Mapping) else {}
    fields: Mapping[str, Any] = rendered or {}
    api, job_id = _job(xcoms, result)
    urls = _strings(xcoms.get("media_urls")) or _strings(result.get("media_urls"))
    stored = _strings(xcoms.get("stored_paths")) or _strings(result.get("stored_paths"))
    model = result.get("model") or result.get("format") or fields.get("model") or fields.get("format")
    conn_id = fields.get("clipia_conn_id") if api == "clipia" else fields.get("clipwise_conn_id")
    return Generation(
        api=api,
        job_id=job_id,
        status=str(result["status"]) if result.get("status") else (f"task {state}" if state else None),
        model=str(model) if model else None,
        cost=_cost(result.get("cost")),
        prompt=prompt_of(fields),
        inputs={key: fields[key] for key in INPUT_FIELDS if fields.get(key) not in (None, "", {}, [])},
        media=media_entries(urls, stored, declared_types(result)),
        stored_paths=stored,
        conn_id=str(conn_id) if conn_id else None,
    )
