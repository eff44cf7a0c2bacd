"""Output media of the sandbox: small, valid, deterministic files served at ``/media/{id}.{ext}``.

Both routers (Clipia and Clipwise) name their outputs ``{base_url}media/{item_id}.{ext}``; the
bytes depend only on the item id and extension, so a URL can be fetched any number of times and
its ``file_size`` announced in advance. ``?size=N`` pads a file to exactly N bytes while keeping it
valid (a PNG ``tEXt`` chunk, an MP4 ``free`` box, ID3v2 padding, WAV silence, trailing newlines),
so clients can test streaming of large downloads; big bodies are streamed in chunks.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import struct
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from clipgen_provider.sandbox.clipia_http import ClipiaError

#: the largest ``?size=`` the media route pads to (ID3v2 tags cannot describe more)
MAX_SIZE = 256 * 1024 * 1024
_CHUNK = 64 * 1024
_DIMENSIONS = re.compile(r"-(\d{1,4})x(\d{1,4})$")
_MAX_SIDE = 1024
_DIGITS = re.compile(r"[0-9]{1,10}")

router = APIRouter()


@dataclass(frozen=True)
class MediaFile:
    """A file of fixed ``base_size`` that ``render(pad)`` writes out with ``pad`` filler bytes."""

    content_type: str
    base_size: int
    render: Callable[[int], Iterator[bytes]]

    def padding(self, size: int | None) -> int:
        """Return how many filler bytes make the file exactly ``size`` bytes long."""
        if size is None:
            return 0
        if not self.base_size <= size <= MAX_SIZE:
            raise ClipiaError(400, "invalid_request", f"size must be between {self.base_size} and {MAX_SIZE}")
        return size - self.base_size


def _filler(count: int, byte: bytes) -> Iterator[bytes]:
    """Yield ``count`` copies of one byte in chunks."""
    block = byte * _CHUNK
    while count > 0:
        piece = block[: min(count, _CHUNK)]
        count -= len(piece)
        yield piece


def _seed(item_id: str) -> bytes:
    """Return the hash every per-item detail (colour, tone) derives from."""
    return hashlib.sha256(item_id.encode("utf-8")).digest()


def _png_dimensions(item_id: str) -> tuple[int, int]:
    """Return the PNG size an item id asks for with a ``-WxH`` suffix (64x64 otherwise)."""
    match = _DIMENSIONS.search(item_id)
    if not match:
        return 64, 64
    width, height = (min(max(int(v), 1), _MAX_SIDE) for v in match.groups())
    return width, height


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """Return one PNG chunk: length, type, data, CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(item_id: str) -> MediaFile:
    """A solid-colour RGB PNG; padding grows a ``tEXt`` comment before ``IEND``."""
    width, height = _png_dimensions(item_id)
    row = b"\x00" + _seed(item_id)[:3] * width
    head = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _png_chunk(b"IDAT", zlib.compress(row * height, 9))
    )
    text = b"Comment\x00clipgen sandbox"
    tail = _png_chunk(b"IEND", b"")

    def render(pad: int) -> Iterator[bytes]:
        yield head + struct.pack(">I", len(text) + pad) + b"tEXt" + text
        crc = zlib.crc32(b"tEXt" + text)
        for piece in _filler(pad, b" "):
            crc = zlib.crc32(piece, crc)
            yield piece
        yield struct.pack(">I", crc) + tail

    return MediaFile("image/png", len(head) + 12 + len(text) + len(tail), render)


def _box(kind: bytes, payload: bytes) -> bytes:
    """Return one ISO-BMFF box."""
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _mp4(item_id: str) -> MediaFile:
    """An ISO-BMFF file (``ftyp``, ``moov``/``mvhd`` of 5 s, ``free``, empty ``mdat``)."""
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = struct.pack(">B3xIIIIIH10x", 0, 0, 0, 1000, 5000, 0x10000, 0x100) + matrix + bytes(24)
    head = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41") + _box(
        b"moov", _box(b"mvhd", mvhd + struct.pack(">I", 2))
    )
    marker = f"clipgen sandbox {item_id}".encode()
    tail = _box(b"mdat", b"")

    def render(pad: int) -> Iterator[bytes]:
        yield head + struct.pack(">I", 8 + len(marker) + pad) + b"free" + marker
        yield from _filler(pad, b"\x00")
        yield tail

    return MediaFile("video/mp4", len(head) + 8 + len(marker) + len(tail), render)


def _synchsafe(value: int) -> bytes:
    """Encode an ID3v2 size as four 7-bit bytes."""
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))


def _mp3(item_id: str) -> MediaFile:
    """An ID3v2.3 tag (padding grows it) and ten silent MPEG-1 Layer III frames (128 kbit/s)."""
    title = b"\x00" + f"clipgen sandbox {item_id}".encode("latin-1", "replace")
    frame = b"TIT2" + struct.pack(">IH", len(title), 0) + title
    audio = (b"\xff\xfb\x90\xc4" + bytes(417 - 4)) * 10

    def render(pad: int) -> Iterator[bytes]:
        yield b"ID3\x03\x00\x00" + _synchsafe(len(frame) + pad) + frame
        yield from _filler(pad, b"\x00")
        yield audio

    return MediaFile("audio/mpeg", 10 + len(frame) + len(audio), render)


def _wav(item_id: str) -> MediaFile:
    """An 8 kHz 8-bit mono PCM WAV: a quarter second of square tone, then silence as padding."""
    period = 8 + _seed(item_id)[0] % 24
    tone = bytes(0xC0 if (i // period) % 2 else 0x40 for i in range(2000))

    def render(pad: int) -> Iterator[bytes]:
        data_size = len(tone) + pad
        fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
        yield (
            b"RIFF"
            + struct.pack("<I", 36 + data_size)
            + b"WAVE"
            + b"fmt "
            + struct.pack("<I", len(fmt))
            + fmt
            + b"data"
            + struct.pack("<I", data_size)
            + tone
        )
        yield from _filler(pad, b"\x80")

    return MediaFile("audio/wav", 44 + len(tone), render)


def _text(content_type: str, body: str) -> MediaFile:
    """A UTF-8 text file; padding is trailing newlines (valid for SRT, text and JSON)."""
    data = body.encode("utf-8")

    def render(pad: int) -> Iterator[bytes]:
        yield data
        yield from _filler(pad, b"\n")

    return MediaFile(content_type, len(data), render)


_BUILDERS: dict[str, Callable[[str], MediaFile]] = {
    "png": _png,
    "mp4": _mp4,
    "mp3": _mp3,
    "wav": _wav,
    "srt": lambda item: _text(
        "application/x-subrip", f"1\n00:00:00,000 --> 00:00:02,000\nclipgen sandbox {item}\n"
    ),
    "txt": lambda item: _text("text/plain; charset=utf-8", f"clipgen sandbox {item}\n"),
    "json": lambda item: _text("application/json", json.dumps({"item_id": item, "sandbox": True}) + "\n"),
}

#: the extensions the media route serves
EXTENSIONS = frozenset(_BUILDERS)


@functools.lru_cache(maxsize=2048)
def media_file(item_id: str, ext: str) -> MediaFile:
    """Return the file of an item (``404 not_found`` for an unknown extension)."""
    builder = _BUILDERS.get(ext)
    if builder is None:
        raise ClipiaError(404, "not_found", f"no media with extension {ext!r}")
    return builder(item_id)


def file_size(item_id: str, ext: str, size: int | None = None) -> int:
    """Return the exact byte count ``media_url(..., size)`` serves."""
    media = media_file(item_id, ext)
    return media.base_size + media.padding(size)


def media_url(base_url: str, item_id: str, ext: str, size: int | None = None) -> str:
    """Return the URL of an item under ``base_url`` (which ends with ``/``)."""
    url = f"{base_url}media/{item_id}.{ext}"
    return url if size is None else f"{url}?size={size}"


async def _stream(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Hand the chunks to the server one at a time (each costs microseconds to produce)."""
    for chunk in chunks:
        yield chunk


@router.api_route("/media/{filename}", methods=["GET", "HEAD"], include_in_schema=False)
async def get_media(filename: str, request: Request) -> Response:
    """Serve ``/media/{item_id}.{ext}[?size=N]`` with exact ``Content-Length``; no auth, like a CDN."""
    item_id, dot, ext = filename.rpartition(".")
    if not dot or not item_id:
        raise ClipiaError(404, "not_found", "media URLs look like /media/{item_id}.{ext}")
    media = media_file(item_id, ext)
    raw_size = request.query_params.get("size")
    if raw_size is not None and not _DIGITS.fullmatch(raw_size):
        raise ClipiaError(400, "invalid_request", "size must be a whole number of bytes")
    pad = media.padding(None if raw_size is None else int(raw_size))
    headers = {"content-length": str(media.base_size + pad), "cache-control": "public, max-age=86400"}
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers, media_type=media.content_type)
    return StreamingResponse(_stream(media.render(pad)), headers=headers, media_type=media.content_type)
