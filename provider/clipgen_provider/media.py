"""Media files a generation produced: where they are, and copying them into the team's storage.

Every generate operator can take an ``output_path`` (an ``ObjectStoragePath`` or a URL string:
``file://``, ``s3://``, ``gs://``, ``memory://`` …). Each media file is streamed there in chunks
(never read whole into memory) under a predictable name, ``{job_id}-{index}.{ext}``, so a retry
of the same job overwrites instead of duplicating. The bytes written are checked against the
HTTP ``Content-Length`` and against the size and type the API declared. Media URLs are fetched
without credentials: an API key is never sent to a CDN.
"""

from __future__ import annotations

import mimetypes
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from clipgen_provider.exceptions import ClipgenConfigError, ClipgenError

CHUNK_BYTES = 256 * 1024
_DOWNLOAD_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class MediaDownloadError(ClipgenError):
    """A media file could not be copied intact; the task fails and a retry copies it again."""


@dataclass(frozen=True)
class MediaItem:
    """One produced file: its URL and, when the API declared them, its type and size."""

    url: str
    content_type: str | None = None
    file_size: int | None = None

    @property
    def extension(self) -> str:
        """The file extension, from the URL or else from the declared type (``.bin`` if neither)."""
        suffix = posixpath.splitext(urlsplit(self.url).path)[1]
        if suffix:
            return suffix.lower()
        guessed = mimetypes.guess_extension(self.content_type or "")
        return guessed or ".bin"


def as_storage_path(destination: Any) -> Any:
    """An ``ObjectStoragePath`` for a path object or a URL string (``memory://`` attached on demand)."""
    from airflow.sdk import ObjectStoragePath

    path = destination if isinstance(destination, ObjectStoragePath) else ObjectStoragePath(str(destination))
    if path.protocol == "memory":
        from airflow.sdk.io.store import attach
        from fsspec.implementations.memory import MemoryFileSystem

        attach(protocol="memory", fs=MemoryFileSystem())
    if not path.protocol:
        raise ClipgenConfigError(
            f"output_path {destination!r} has no scheme: give a URL such as file:///data/media or s3://bucket/media"
        )
    return path


def _media_type(header: str | None) -> str | None:
    return header.split(";", 1)[0].strip().lower() if header else None


def _copy_one(client: httpx.Client, item: MediaItem, target: Any) -> int:
    """Stream one URL into ``target``; return the bytes written, or raise if anything is off."""
    try:
        with client.stream("GET", item.url) as response:
            if response.status_code != 200:
                raise MediaDownloadError(f"downloading {item.url} answered HTTP {response.status_code}")
            served_type = _media_type(response.headers.get("content-type"))
            if item.content_type and served_type and served_type != _media_type(item.content_type):
                raise MediaDownloadError(
                    f"{item.url} served {served_type}, but the API declared {item.content_type}"
                )
            expected = response.headers.get("content-length")
            written = 0
            with target.open("wb") as sink:
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    sink.write(chunk)
                    written += len(chunk)
    except httpx.HTTPError as err:
        raise MediaDownloadError(f"downloading {item.url} failed: {type(err).__name__}: {err}") from err
    for what, size in (("Content-Length", expected), ("declared file_size", item.file_size)):
        if size is not None and int(size) != written:
            raise MediaDownloadError(f"{item.url}: wrote {written} bytes, but its {what} is {size}")
    return written


def store_media(items: Sequence[MediaItem], destination: Any, *, stem: str) -> list[str]:
    """Copy every item under ``destination`` as ``{stem}-{index}{ext}``; return the stored paths.

    The same ``stem`` (the job id) always gives the same names, so a retried copy overwrites.
    """
    folder = as_storage_path(destination)
    folder.mkdir(parents=True, exist_ok=True)
    stored: list[str] = []
    with httpx.Client(timeout=_DOWNLOAD_TIMEOUT, follow_redirects=True) as client:
        for index, item in enumerate(items):
            target = folder / f"{stem}-{index}{item.extension}"
            _copy_one(client, item, target)
            stored.append(str(target))
    return stored
