"""Where uploaded bytes go: a private temporary directory, written in chunks, never held in memory.

The digest and size are computed while copying, so they describe exactly the stored bytes.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    """An upload on disk with its size and SHA-256."""

    path: Path
    size: int
    sha256: str


class FileStore:
    """A temporary directory of uploaded files, removed with the process."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="clipwise-sandbox-")
        self.root = Path(self._directory.name)

    def save(self, source: BinaryIO, name: str) -> StoredFile:
        """Copy ``source`` to ``name`` chunk by chunk (blocking: call it from a worker thread)."""
        path = self.root / name
        digest = hashlib.sha256()
        size = 0
        with path.open("wb") as target:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                target.write(chunk)
                size += len(chunk)
        return StoredFile(path, size, digest.hexdigest())

    def discard(self, path: Path | None) -> None:
        """Delete a stored file if there is one."""
        if path is not None:
            path.unlink(missing_ok=True)

    def clear(self) -> None:
        """Delete every stored file (sandbox reset)."""
        for path in self.root.iterdir():
            path.unlink(missing_ok=True)
