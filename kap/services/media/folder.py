"""The folder store: media as files under one folder (the embedded default, next to SQLite).

Only the app servers that see the folder can serve its files, so it suits one machine (or a
folder every server mounts). The backup of the embedded default copies this folder beside the
database (``media_dir()`` in kap/services/clinic/audio.py is its root).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

from kap.services.media.store import COPY_BYTES, MediaMissing, Stored, check_name, copy_limited

#: Files being written start with this; a valid name never does (store.NAME).
TEMPORARY_PREFIX = ".put-"


class FolderStore:
    """Named files under ``root``; a name's "/" makes a subfolder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return self.root / check_name(name)

    def put(self, name: str, stream: IO[bytes], limit: int | None = None) -> Stored:
        """Written to a temporary file beside the target, then renamed: a reader never sees
        half a file, and two writers of one name both leave the same whole file."""
        target = self._path(name)
        if target.exists():
            return _describe(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.parent / f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}"
        try:
            with temporary.open("wb") as out:
                stored = copy_limited(stream, out, limit)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        return stored

    def open(self, name: str) -> BinaryIO:
        try:
            return self._path(name).open("rb")
        except FileNotFoundError:
            raise MediaMissing(name) from None

    def size(self, name: str) -> int:
        try:
            return self._path(name).stat().st_size
        except FileNotFoundError:
            raise MediaMissing(name) from None

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        """Every file under the root, unfinished temporary ones included: a leftover is a fault
        to be seen, not hidden."""
        if not self.root.exists():
            return []
        return sorted(
            p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()
        )

    @contextmanager
    def materialised(self, name: str) -> Iterator[Path]:
        """The file itself: it is already local."""
        path = self._path(name)
        if not path.is_file():
            raise MediaMissing(name)
        yield path


def _describe(path: Path) -> Stored:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while piece := source.read(COPY_BYTES):
            digest.update(piece)
    return Stored(path.stat().st_size, digest.hexdigest())
