"""URLs of media the sandbox names (outputs, assets, extracted videos).

The shared ``/media/{id}.{ext}`` route of the sandbox app serves real bytes for any id, so a URL
only needs an id and one of the extensions that route knows.
"""

from __future__ import annotations

from pathlib import PurePosixPath

#: extensions the shared media route serves
MEDIA_EXTENSIONS = frozenset({"png", "mp4", "mp3", "wav", "srt", "txt", "json"})

#: extension used for each kind of file when the file name does not give a served one
EXTENSION_BY_FILE_TYPE = {
    "image": "png",
    "video": "mp4",
    "audio": "mp3",
    "subtitles": "srt",
    "text": "txt",
}


def media_url(base_url: str, media_id: str, ext: str) -> str:
    """Return the sandbox URL serving ``media_id`` (``base_url`` ends with ``/``)."""
    return f"{base_url}media/{media_id}.{ext}"


def media_extension(filename: str | None, file_type: str) -> str:
    """Pick the served extension for an uploaded file: its own if served, else by file type."""
    suffix = PurePosixPath(filename or "").suffix.lower().lstrip(".")
    if suffix in MEDIA_EXTENSIONS:
        return suffix
    return EXTENSION_BY_FILE_TYPE.get(file_type, "json")
