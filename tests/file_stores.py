"""Object stores for the tests of file inputs: one that can sign URLs, one that holds huge files.

Airflow's ``memory://`` store cannot sign URLs (like a local disk); :class:`SigningMemoryFileSystem`
can, and, like a real store, gives a different URL each time it signs (a real signature embeds the
signing time): that difference is what a resubmit must not send.

:class:`PatternFileSystem` serves files of any size made up on the fly, ``pattern://{name}-{size}.{ext}``,
so a test can stream a 1 GiB object-store file without a GiB of disk or memory behind it.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from typing import Any

from fsspec.implementations.memory import MemoryFileSystem
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

#: the scheme of the signing store
SIGNING_PROTOCOL = "signedmem"


class SigningMemoryFileSystem(MemoryFileSystem):
    """``memory://`` files under another scheme, whose ``sign`` returns a new https URL every call."""

    protocol = (SIGNING_PROTOCOL,)
    _signatures = itertools.count(1)

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        # MemoryFileSystem strips only its own "memory://"
        prefix = f"{SIGNING_PROTOCOL}://"
        return str(super()._strip_protocol(path[len(prefix) :] if path.startswith(prefix) else path))

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        key = re.sub(r"^[a-zA-Z][\w+.-]*:/*", "", path).lstrip("/")  # each Airflow version spells it its way
        return f"https://signed.example.com/{key}?expires={expiration}&signature={next(self._signatures)}"


#: the scheme of the pattern store
PATTERN_PROTOCOL = "pattern"
_BLOCK = bytes(range(256)) * 4096  # 1 MiB that repeats


def pattern_bytes(start: int, end: int) -> bytes:
    """Bytes ``start`` to ``end`` of every pattern file."""
    offset, length = start % len(_BLOCK), end - start
    repeats = -(-(offset + length) // len(_BLOCK))  # blocks the range touches
    return (_BLOCK * repeats)[offset : offset + length]


def pattern_sha256(size: int) -> str:
    """The SHA-256 of a pattern file of ``size`` bytes, computed in 1 MiB steps."""
    digest = hashlib.sha256()
    for start in range(0, size, len(_BLOCK)):
        digest.update(pattern_bytes(start, min(start + len(_BLOCK), size)))
    return digest.hexdigest()


class _PatternFile(AbstractBufferedFile):
    def _fetch_range(self, start: int, end: int) -> bytes:
        return pattern_bytes(start, min(end, self.size))


class PatternFileSystem(AbstractFileSystem):
    """Read-only files whose size is in their name (``clip-1073741824.mp4``) and bytes a pattern."""

    protocol = (PATTERN_PROTOCOL,)

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        name = self._strip_protocol(path)
        match = re.search(r"-(\d+)\.\w+$", name)
        if match is None:
            raise FileNotFoundError(path)
        return {"name": name, "size": int(match.group(1)), "type": "file"}

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> _PatternFile:
        return _PatternFile(self, path, mode, size=self.info(path)["size"], **kwargs)


def attach_pattern_store() -> None:
    """Make ``pattern://`` known to fsspec and to Airflow's ``ObjectStoragePath`` (this process)."""
    _attach(PATTERN_PROTOCOL, PatternFileSystem)


def attach_signing_store() -> None:
    """Make ``signedmem://`` known to fsspec and to Airflow's ``ObjectStoragePath`` (this process)."""
    _attach(SIGNING_PROTOCOL, SigningMemoryFileSystem)


def _attach(protocol: str, filesystem: type[AbstractFileSystem]) -> None:
    import fsspec
    from airflow.sdk.io.store import attach
    from upath.registry import register_implementation

    fsspec.register_implementation(protocol, filesystem, clobber=True)
    register_implementation(protocol, "upath.implementations.memory.MemoryPath", clobber=True)
    attach(protocol=protocol, fs=filesystem())
