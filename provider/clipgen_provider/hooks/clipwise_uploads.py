"""Local files for Clipwise: streamed multipart parts and the generation auto-upload mapping.

The official Clipwise client uploads local files given for known generation parameters and replaces
them by the resulting id. :func:`resolve_local_files` does the same, with two safety rules: a value
that looks like a path but does not exist is an error (a typo must never reach a paid job as a
bogus asset id), and every path is checked before the first upload (no stray uploads when the second
file is missing). Files are always streamed from an open file object, never read whole into memory.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, TypeAlias

from clipgen_provider.exceptions import ClipgenConfigError

#: a file to upload: a local path, or a binary file object positioned where the upload starts
FileInput: TypeAlias = "str | os.PathLike[str] | IO[bytes]"
#: a multipart file part as httpx takes it: (file name, file object, content type)
FilePart: TypeAlias = "tuple[str, IO[bytes], str]"

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_MEDIA_TYPES = ("image/", "video/", "audio/")


@dataclass(frozen=True)
class UploadTarget:
    """Where a local file for a generation parameter goes.

    ``kind="upload"`` means ``POST uploads/`` with ``name`` as the purpose; ``kind="resource"``
    means ``POST resources/{name}/upload/``.
    """

    kind: Literal["upload", "resource"]
    name: str


#: parameters that take one file
SINGLE_FILE_PARAMS: Mapping[str, UploadTarget] = {
    "video": UploadTarget("upload", "video"),
    "audio": UploadTarget("upload", "audio"),
    "image": UploadTarget("upload", "image"),
    "source_image": UploadTarget("upload", "image"),
    "product_image": UploadTarget("resource", "product_images"),
    "reference_image": UploadTarget("resource", "poses"),
    "background_image": UploadTarget("resource", "background_images"),
}
#: parameters that take a list of files
LIST_FILE_PARAMS: Mapping[str, UploadTarget] = {
    "product_images": UploadTarget("resource", "product_images"),
    "images": UploadTarget("upload", "image"),
    "media_ids": UploadTarget("upload", "image"),
    "source_images": UploadTarget("upload", "image"),
}
#: the only format whose ``reference_video`` is a motion reference rather than a reference ad
_DANCING_FORMAT = "viral_dancing_video"


def upload_target(format: str, param: str) -> UploadTarget | None:
    """Where a local file given for ``param`` of ``format`` is uploaded; None if it takes no file.

    ``format`` may be written as a slug or display name (``Viral Dancing Video``): case, spaces and
    hyphens are ignored when telling ``viral_dancing_video`` apart.
    """
    if param == "reference_video":
        slug = re.sub(r"[\s-]+", "_", format.strip().lower())
        return UploadTarget("resource", "reference_videos" if slug == _DANCING_FORMAT else "reference_ads")
    return SINGLE_FILE_PARAMS.get(param) or LIST_FILE_PARAMS.get(param)


def guess_content_type(filename: str) -> str:
    """The MIME type for ``filename`` from its extension, ``application/octet-stream`` if unknown."""
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def existing_file(path: str | os.PathLike[str], param: str) -> Path:
    """``path`` (``~`` expanded) if it is a regular file, else a config error naming ``param``."""
    resolved = Path(path).expanduser()
    if resolved.is_dir():
        raise ClipgenConfigError(f"{param}: {str(resolved)!r} is a directory; pass a file.")
    if not resolved.is_file():
        raise ClipgenConfigError(f"{param}: no such file {str(resolved)!r}.")
    return resolved


@contextmanager
def multipart_file(file: FileInput, *, param: str = "file") -> Iterator[FilePart]:
    """The multipart part for ``file``, streamed: a path is opened (and closed after the block);
    a file object is sent whole (httpx rewinds it to its start) and left open for its owner.
    """
    if isinstance(file, str | os.PathLike):
        path = existing_file(file, param)
        with path.open("rb") as handle:
            yield path.name, handle, guess_content_type(path.name)
        return
    name = os.path.basename(str(getattr(file, "name", "") or "")) or "upload"
    yield name, file, guess_content_type(name)


def form_fields(metadata: Mapping[str, Any]) -> dict[str, str]:
    """Metadata as multipart string fields: None left out, booleans ``true``/``false``,
    lists and dicts as JSON, everything else ``str()``.
    """
    fields: dict[str, str] = {}
    for name, value in metadata.items():
        if value is None:
            continue
        if isinstance(value, bool):
            fields[name] = "true" if value else "false"
        elif isinstance(value, list | tuple | dict):
            fields[name] = json.dumps(value)
        else:
            fields[name] = str(value)
    return fields


def _looks_like_path(value: str) -> bool:
    """True for strings meant as file paths: a path separator, ``~``, or a media file extension."""
    if "/" in value or os.sep in value or value.startswith("~"):
        return True
    return guess_content_type(value).startswith(_MEDIA_TYPES)


def local_file(param: str, value: Any) -> Path | None:
    """The local file ``value`` names, or None when it is an id or URL to pass through unchanged.

    A ``pathlib.Path`` is always a local file. A string is one when it exists on disk; a string that
    looks like a path (see :func:`_looks_like_path`) but does not exist is a config error, as is a
    directory. URLs (``scheme://…``) always pass through.
    """
    if isinstance(value, os.PathLike):
        return existing_file(value, param)
    if not isinstance(value, str) or not value or _URL.match(value):
        return None
    if Path(value).expanduser().exists() or _looks_like_path(value):
        return existing_file(value, param)
    return None


#: uploads one local file to its target and returns the new asset's id
Uploader = Callable[[UploadTarget, Path], str]


def resolve_local_files(format: str, params: Mapping[str, Any], upload: Uploader) -> dict[str, Any]:
    """A copy of ``params`` in which every local file of a file parameter is replaced by the id of
    its upload, the way the official Clipwise client does it.

    Single-file parameters (``video``, ``audio``, ``image``, ``source_image``, ``product_image``,
    ``reference_image``, ``background_image``, ``reference_video``) take one value; list parameters
    (``product_images``, ``images``, ``media_ids``, ``source_images``) take a list or tuple (a
    lone value is resolved the same way and stays a lone value). Ids and URLs pass through. Every
    value is checked before anything is uploaded, and one file given twice is uploaded once.
    """
    plan: list[tuple[str, int | None, Path, UploadTarget]] = []
    for param, value in params.items():
        target = upload_target(format, param)
        if target is None or value is None:
            continue
        if param in LIST_FILE_PARAMS and isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if path := local_file(f"{param}[{index}]", item):
                    plan.append((param, index, path, target))
        elif path := local_file(param, value):
            plan.append((param, None, path, target))

    resolved = dict(params)
    uploaded: dict[tuple[Path, UploadTarget], str] = {}
    for param, position, path, target in plan:
        key = (path.resolve(), target)
        if key not in uploaded:
            uploaded[key] = upload(target, path)
        if position is None:
            resolved[param] = uploaded[key]
        else:
            items = resolved[param] = list(resolved[param])
            items[position] = uploaded[key]
    return resolved
