"""The manifest inside a backup: what it holds, so a restore can check every byte of it.

Written as the archive's last member (``manifest.json``): the media hashes are computed while
the files stream into the archive, so each file is read once and what is hashed is what was
written.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

from kap.services.backup.sealed import BackupError

FORMAT_VERSION = 1
NAME = "manifest.json"
MEDIA = "media"


@dataclass(frozen=True)
class FileEntry:
    """One file of the archive: where it is in the archive, its size and SHA-256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """Format version, app revision, when, which database, its row counts, the media."""

    revision: str | None
    created_at: str
    database_kind: str
    database: FileEntry
    row_counts: dict[str, int]
    media: list[FileEntry] = field(default_factory=list)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        """The manifest as UTF-8 JSON, keys sorted (stable, readable)."""
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Read a manifest; a BackupError when it is not one this code understands."""
        try:
            raw: dict[str, Any] = json.loads(data)
            version = raw.get("format_version")
            if version != FORMAT_VERSION:
                raise BackupError(
                    f"This backup's manifest has format {version}; this version of KAP "
                    f"Companion reads format {FORMAT_VERSION}."
                )
            return cls(
                revision=raw["revision"],
                created_at=str(raw["created_at"]),
                database_kind=str(raw["database_kind"]),
                database=FileEntry(**raw["database"]),
                row_counts={str(k): int(v) for k, v in raw["row_counts"].items()},
                media=[FileEntry(**entry) for entry in raw["media"]],
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise BackupError("The backup's manifest is not readable.") from None


def media_member(relative: str) -> str:
    """The archive name of a media file at ``relative`` (POSIX) in the media folder."""
    return f"{MEDIA}/{relative}"


def safe_member_name(name: str) -> PurePosixPath:
    """An archive member's name as a relative path that stays inside the restore folder."""
    path = PurePosixPath(name)
    if (
        not name
        or path.is_absolute()
        or any(part in ("", ".", "..") or part.startswith(".") for part in path.parts)
    ):
        raise BackupError(f"The backup holds an unexpected file name {name!r}.")
    return path
