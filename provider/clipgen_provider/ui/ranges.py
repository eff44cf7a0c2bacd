"""HTTP ``Range`` requests for one stored file: which bytes to send (RFC 9110, single ranges).

Browsers seek in a video by asking for ``bytes=START-`` and play from what comes back as ``206``
with a ``Content-Range``. Only one range per request is served; a header asking for several gets
the whole file (``200``), which RFC 9110 allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SINGLE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class UnsatisfiableRange(ValueError):
    """The range lies outside the file: answered ``416`` with ``Content-Range: bytes */size``."""


@dataclass(frozen=True)
class ByteRange:
    """The bytes ``start`` … ``end`` (both included) of a file of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        """How many bytes the range holds."""
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        """The ``Content-Range`` header of a ``206`` answer."""
        return f"bytes {self.start}-{self.end}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range ``header`` asks for in a file of ``size`` bytes, or None for the whole file.

    None also for a header that is not a single byte range (several ranges, another unit, junk):
    the whole file is then the right answer. Raises :class:`UnsatisfiableRange` for a range that
    starts past the end, or a suffix of zero bytes.
    """
    if not header:
        return None
    match = _SINGLE.match(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # bytes=-N: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise UnsatisfiableRange(header)
        return ByteRange(max(size - suffix, 0), size - 1, size)
    start = int(first)
    if start >= size:
        raise UnsatisfiableRange(header)
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return None  # syntactically invalid (last < first): ignore the header
    return ByteRange(start, end, size)
