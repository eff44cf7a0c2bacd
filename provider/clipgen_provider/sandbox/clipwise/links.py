"""Media of the Clipwise records, served by the sandbox's shared ``/media/{id}.{ext}`` route.

That route (:mod:`clipgen_provider.sandbox.media`) serves deterministic bytes for any id, so the
size and content type of sandbox-made media are known in advance and announced in answers.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from clipgen_provider.sandbox.media import EXTENSIONS, file_size, media_file

#: extension used for each kind of file when the file name does not give a served one
EXTENSION_BY_FILE_TYPE = {
    "image": "png",
    "video": "mp4",
    "audio": "mp3",
    "subtitles": "srt",
    "text": "txt",
}


def media_extension(filename: str | None, file_type: str) -> str:
    """Pick the served extension for an uploaded file: its own if served, else by file type."""
    suffix = PurePosixPath(filename or "").suffix.lower().lstrip(".")
    if suffix in EXTENSIONS:
        return suffix
    return EXTENSION_BY_FILE_TYPE.get(file_type, "json")


def media_facts(media_id: str, ext: str) -> dict[str, Any]:
    """``file_size`` and ``content_type`` of what the media route serves for ``media_id``."""
    return {"file_size": file_size(media_id, ext), "content_type": media_file(media_id, ext).content_type}
