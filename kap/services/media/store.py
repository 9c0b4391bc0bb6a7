"""What every media store offers, and the rules they share (names, the size limit, the checksum).

A store keeps named files of bytes: uploads, recordings, rendered prompt tracks. A name holds
one content for ever (uploads get random names, prompt tracks a key over their sound), which
is what lets ``put`` be idempotent: a second put of a name keeps the first content, so two app
servers rendering the same track at once store it once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Protocol

from kap.services.errors import TooLarge

#: Read and written this many bytes at a time when copying a stream.
COPY_BYTES = 1024 * 1024
#: Letters, digits, dot, dash and underscore in "/"-separated parts, none starting with a dot:
#: a name can never leave a folder store's root or collide with its temporary files.
NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
MAX_NAME_LENGTH = 200


class MediaMissing(LookupError):
    """No file of that name in the store."""


@dataclass(frozen=True)
class Stored:
    """What a store holds under a name: its length and SHA-256 (hex)."""

    size: int
    sha256: str


class MediaStore(Protocol):
    """A place for named media files that every app server of a deployment reads alike."""

    def put(self, name: str, stream: IO[bytes], limit: int | None = None) -> Stored:
        """Keep ``stream``'s bytes under ``name`` (TooLarge past ``limit`` bytes, nothing kept);
        when ``name`` is already kept, keep the first content and describe that."""
        ...

    def open(self, name: str) -> BinaryIO:
        """A seekable, readable file of the bytes (MediaMissing when absent). Reading a range
        reads only that part; the caller closes it."""
        ...

    def size(self, name: str) -> int:
        """The length in bytes (MediaMissing when absent)."""
        ...

    def exists(self, name: str) -> bool:
        """Whether ``name`` is kept."""
        ...

    def delete(self, name: str) -> None:
        """Forget ``name``; nothing happens when it is not kept."""
        ...

    def names(self) -> list[str]:
        """Every name kept, sorted."""
        ...

    def materialised(self, name: str) -> AbstractContextManager[Path]:
        """A local file with the bytes, for libraries that need a path (PyAV, mutagen), valid
        inside the ``with`` block."""
        ...


def check_name(name: str) -> str:
    """``name`` when it is a valid media name, else ValueError (names come from code, so an
    invalid one is a bug, not a user's mistake)."""
    if len(name) > MAX_NAME_LENGTH or not NAME.fullmatch(name):
        raise ValueError(f"not a valid media name: {name!r}")
    return name


def megabytes(size: int) -> str:
    """'50 MB', or '0.5 MB' for small limits."""
    return f"{size / (1024 * 1024):g} MB"


def limited_chunks(stream: IO[bytes], limit: int | None, chunk_bytes: int) -> Iterator[bytes]:
    """``stream`` in pieces of exactly ``chunk_bytes`` (the last may be shorter), raising
    TooLarge as soon as more than ``limit`` bytes have arrived."""
    size = 0
    pending = b""
    while piece := stream.read(COPY_BYTES):
        size += len(piece)
        if limit is not None and size > limit:
            raise TooLarge(
                f"That file is larger than the limit of {megabytes(limit)}. "
                "Please upload a smaller or more compressed file."
            )
        pending += piece
        while len(pending) >= chunk_bytes:
            yield pending[:chunk_bytes]
            pending = pending[chunk_bytes:]
    if pending:
        yield pending


def copy_limited(stream: IO[bytes], target: IO[bytes], limit: int | None) -> Stored:
    """Copy ``stream`` into ``target``, refusing more than ``limit`` bytes; size and SHA-256."""
    size = 0
    digest = hashlib.sha256()
    for piece in limited_chunks(stream, limit, COPY_BYTES):
        size += len(piece)
        digest.update(piece)
        target.write(piece)
    return Stored(size, digest.hexdigest())
