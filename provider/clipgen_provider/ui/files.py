"""Serve one stored media file from ``output_path``'s store: streamed, typed, seekable.

The file is opened through ``ObjectStoragePath`` (fsspec), so ``file://``, ``s3://``, ``gs://``…
all work with the API server's own credentials for the store: a private bucket or a media URL
of the API that has long expired still shows. The caller chooses the path from the task
instance's ``stored_paths`` XCom, never from the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from clipgen_provider.media import CHUNK_BYTES, as_storage_path
from clipgen_provider.ui.ranges import ByteRange, UnsatisfiableRange, parse_range
from clipgen_provider.ui.records import content_type_of


class StoredFileMissing(LookupError):
    """The stored copy is gone (deleted, moved, or its store is unreachable)."""


def _chunks(path: Any, start: int, length: int) -> Iterator[bytes]:
    """``length`` bytes of ``path`` from ``start``, in chunks (never the whole file in memory)."""
    with path.open("rb") as handle:
        if start:
            handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK_BYTES, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def _size(path: Any) -> int:
    try:
        return int(path.stat()["size"])
    except (FileNotFoundError, OSError) as err:
        raise StoredFileMissing(str(path)) from err


def stored_file_response(
    location: str, range_header: str | None, declared_type: str | None = None
) -> Response:
    """The response for ``GET`` of the stored file ``location`` with the request's ``Range`` header.

    ``200`` with the whole file, ``206`` with ``Content-Range`` for one range, ``416`` for a range
    outside the file; ``Accept-Ranges: bytes`` always, so players know they can seek. Raises
    :class:`StoredFileMissing` when the file cannot be found.
    """
    path = as_storage_path(location)
    size = _size(path)
    media_type = content_type_of(location, declared_type) or "application/octet-stream"
    name = quote(path.name)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": f"inline; filename*=UTF-8''{name}",
        "Cache-Control": "private, max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    try:
        wanted: ByteRange | None = parse_range(range_header, size)
    except UnsatisfiableRange:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    if wanted is None:
        return StreamingResponse(
            _chunks(path, 0, size), media_type=media_type, headers={**headers, "Content-Length": str(size)}
        )
    return StreamingResponse(
        _chunks(path, wanted.start, wanted.length),
        status_code=206,
        media_type=media_type,
        headers={**headers, "Content-Length": str(wanted.length), "Content-Range": wanted.content_range},
    )
