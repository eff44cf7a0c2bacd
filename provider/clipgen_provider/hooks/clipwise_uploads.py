"""Files for Clipwise: streamed multipart parts, and uploading the files a generation names.

The official Clipwise client uploads local files given for known generation parameters and replaces
them by the resulting id. :class:`UploadPlan` does the same for every kind of file input
(:mod:`clipgen_provider.file_inputs`: local paths, ``file://`` and object-store URLs,
``ObjectStoragePath``, http(s) media URLs), with two safety rules: every value is checked before the
first upload (a typo or a missing file never reaches a paid job as a bogus asset id, and no upload
is left behind when the second file is missing), and a file is always streamed from an open file
object, never read whole into memory.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Literal, TypeAlias, cast

from clipgen_provider.file_inputs import (
    CLIPWISE_ACCEPTS,
    AssetId,
    FileSource,
    HttpUrl,
    StoredFile,
    entries,
    is_asset_id,
    locate,
    readable_file,
    single,
    substitute,
)

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath


#: a file to upload: anything :func:`~clipgen_provider.file_inputs.readable_file` takes (a local
#: path, a ``file://``/``s3://``/… or http(s) URL, an ``ObjectStoragePath``), a file it located, or a
#: binary file object positioned where the upload starts
FileInput: TypeAlias = "str | os.PathLike[str] | ObjectStoragePath | FileSource | IO[bytes]"
#: a multipart file part as httpx takes it: (file name, file object, content type)
FilePart: TypeAlias = "tuple[str, IO[bytes], str]"


@dataclass(frozen=True)
class UploadTarget:
    """Where a file for a generation parameter goes.

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
#: parameters the API also takes an http(s) URL for: a URL is passed on, not downloaded and uploaded
URL_PARAMS = frozenset({"video"})
#: the only format whose ``reference_video`` is a motion reference rather than a reference ad
_DANCING_FORMAT = "viral_dancing_video"


def upload_target(format: str, param: str) -> UploadTarget | None:
    """Where a file given for ``param`` of ``format`` is uploaded; None if it takes no file.

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


@contextmanager
def multipart_file(file: FileInput, *, param: str = "file") -> Iterator[FilePart]:
    """The multipart part for ``file``, streamed: a path or URL is opened (a URL downloaded first)
    and closed after the block; a file object is sent whole (httpx rewinds it to its start) and left
    open for its owner.
    """
    if hasattr(file, "read"):
        name = os.path.basename(str(getattr(file, "name", "") or "")) or "upload"
        yield name, cast("IO[bytes]", file), guess_content_type(name)
        return
    source = file if isinstance(file, HttpUrl | StoredFile) else readable_file(param, file)
    with source.open() as handle:
        yield source.name, handle, guess_content_type(source.name)


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


def _joined_ids(value: str) -> bool:
    """Whether ``value`` is ids joined by commas (``"upl_1,upl_2"``), which the API takes for a list."""
    return "," in value and all(is_asset_id(part.strip()) for part in value.split(","))


#: uploads one file to its target and returns the new asset's id
Uploader = Callable[[UploadTarget, FileSource], str]


@dataclass(frozen=True)
class PlannedUpload:
    """One file of a generation's parameters, the place it fills, and where it is uploaded."""

    param: str
    #: index in a list parameter; None for a single-file parameter
    position: int | None
    source: FileSource
    target: UploadTarget


@dataclass(frozen=True)
class UploadPlan:
    """A generation's parameters with every file input checked, and the uploads that make them ids.

    ``params`` holds the values as they will be sent, except the files still to upload: ids pass
    through, an http(s) URL passes through where the API takes URLs (``video``), a single-file
    parameter given a list of one holds that item, a list parameter holds a list.
    """

    params: dict[str, Any]
    uploads: tuple[PlannedUpload, ...]

    @classmethod
    def of(cls, format: str, params: Mapping[str, Any]) -> UploadPlan:
        """Check every file parameter of ``params`` and plan its uploads; nothing is sent.

        Single-file parameters (``video``, ``audio``, ``image``, ``source_image``, ``product_image``,
        ``reference_image``, ``background_image``, ``reference_video``) take one value (or a list of
        one); list parameters (``product_images``, ``images``, ``media_ids``, ``source_images``) take
        a list (a lone value is planned the same way and stays a lone value). A value that names no
        id, URL or existing file raises :class:`~clipgen_provider.exceptions.ClipgenConfigError`.
        """
        planned: dict[str, Any] = dict(params)
        uploads: list[PlannedUpload] = []
        for param, value in params.items():
            target = upload_target(format, param)
            if target is None or value is None:
                continue
            if param in LIST_FILE_PARAMS and isinstance(value, str) and _joined_ids(value):
                continue
            if param in LIST_FILE_PARAMS:
                items = entries(param, value)
            else:
                planned[param] = single(param, value, CLIPWISE_ACCEPTS)
                items = [(param, None, planned[param])]
            for label, position, item in items:
                located = locate(label, item, CLIPWISE_ACCEPTS)
                if isinstance(located, AssetId) or (isinstance(located, HttpUrl) and param in URL_PARAMS):
                    continue
                uploads.append(PlannedUpload(param, position, located, target))
        return cls(substitute(planned, {}), tuple(uploads))

    def run(self, upload: Uploader) -> dict[str, Any]:
        """Upload every planned file (one file planned twice for one target is uploaded once) and
        return the parameters with each file replaced by its new id.
        """
        ids: dict[tuple[str, UploadTarget], str] = {}
        replacements: dict[tuple[str, int | None], Any] = {}
        for item in self.uploads:
            key = (item.source.key, item.target)
            if key not in ids:
                ids[key] = upload(item.target, item.source)
            replacements[(item.param, item.position)] = ids[key]
        return substitute(self.params, replacements)
