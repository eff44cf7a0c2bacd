"""Is a file real media? Magic numbers of what the sandbox serves (see ``sandbox/media.py``)."""

from __future__ import annotations

import struct
from pathlib import Path
from urllib.parse import unquote, urlsplit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def media_kind(data: bytes) -> str | None:
    """``png``, ``jpeg``, ``mp4``, ``mp3`` or ``wav`` from the leading bytes; None for anything else."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[4:8] == b"ftyp":
        return "mp4"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    return None


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (right after the signature)."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG with an IHDR chunk first")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def local_path(stored: str) -> Path:
    """The file a ``file://`` stored path (or a plain path) names."""
    parts = urlsplit(stored)
    if parts.scheme in ("", "file", "local"):
        return Path(unquote(parts.path))
    raise ValueError(f"{stored!r} is not a local path")


def read_local(stored: str) -> bytes:
    """The bytes of a locally stored file."""
    return local_path(stored).read_bytes()
