"""Backup and restore: the database and the media folder in one encrypted file, and back.

The file (kap/services/backup/sealed.py) wraps a streamed tar archive: the database dump,
``media/…`` (every file of the media folder but the generated ``prompts/`` and dot-files,
which are uploads still being written), then ``manifest.json``. A restore decrypts and checks
the whole file into a private temporary folder before it touches the target, so a wrong key,
a damaged file or a backup newer than the code writes nothing.

Plaintext exists outside the encrypted file only in that temporary folder (mode 0700 under
TMPDIR, removed at the end): the SQLite backup API and a tar member of known size both need a
real file to copy from.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app

from kap.extensions import db
from kap.services.backup import database
from kap.services.backup.durable import replace_durably
from kap.services.backup.manifest import (
    MEDIA,
    NAME,
    FileEntry,
    Manifest,
    media_member,
    safe_member_name,
)
from kap.services.backup.sealed import BackupError, SealedReader, SealedWriter, key_id, parse_keys
from kap.services.clinic.audio import media_dir

#: The media folder's generated prompt tracks: made again on demand, so never backed up.
GENERATED = "prompts"
_COPY = 1024 * 1024


@dataclass(frozen=True)
class BackupReport:
    """What a backup wrote (for the command's summary; no patient data)."""

    path: Path
    size: int
    key_id: str
    manifest: Manifest


@dataclass(frozen=True)
class RestoreReport:
    """What a restore put in place, and whether the schema needs `flask db upgrade`."""

    manifest: Manifest
    media_written: int
    media_already_there: int
    needs_upgrade: bool


def configured_keys() -> list[bytes]:
    """KAP_BACKUP_KEY's keys, checked, the one new backups use first (production has no
    default: a missing key stops the command)."""
    return parse_keys(current_app.config.get("BACKUP_KEY"))


def default_output() -> Path:
    """kap-backup-<UTC time>.kapbackup in the current folder."""
    return Path(f"kap-backup-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.kapbackup")


def _media_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(POSIX path relative to ``folder``, path) of each backed-up media file, sorted."""
    for root, directories, files in os.walk(folder):  # never follows symlinked folders
        here = Path(root)
        directories[:] = sorted(
            d
            for d in directories
            if not d.startswith(".") and not (here == folder and d == GENERATED)
        )
        for name in sorted(files):
            path = here / name
            if not name.startswith(".") and path.is_file() and not path.is_symlink():
                yield path.relative_to(folder).as_posix(), path


class _Hashing:
    """A reader that hashes what passes through it."""

    def __init__(self, source: BinaryIO) -> None:
        self.source, self.digest, self.size = source, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def _add(archive: tarfile.TarFile, path: Path, name: str) -> FileEntry:
    """Stream ``path`` into ``archive`` as ``name``; its size and hash as written."""
    with path.open("rb") as handle:
        info = tarfile.TarInfo(name)
        info.size, info.mode = os.fstat(handle.fileno()).st_size, 0o600
        info.mtime = int(os.fstat(handle.fileno()).st_mtime)
        hashing = _Hashing(handle)
        try:
            archive.addfile(info, cast("BinaryIO", hashing))
        except OSError:
            if hashing.size < info.size:  # tarfile: "unexpected end of data"
                raise BackupError(f"{name} shrank while it was backed up; run again.") from None
            raise
    return FileEntry(name, hashing.size, hashing.digest.hexdigest())


def _add_media(archive: tarfile.TarFile, folder: Path) -> list[FileEntry]:
    """Every backed-up media file into ``archive``; a file deleted meanwhile is left out."""
    entries = []
    for relative, path in _media_files(folder):
        try:
            entries.append(_add(archive, path, media_member(relative)))
        except FileNotFoundError:
            continue  # deleted since the folder was listed: not part of this backup
    return entries


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def make_backup(output: Path | None = None) -> BackupReport:
    """Write the database and the media folder to one new encrypted file at ``output``."""
    key = configured_keys()[0]
    output = Path(output or default_output()).absolute()
    if output.exists():
        raise BackupError(f"{output} already exists; choose another file name.")
    output.parent.mkdir(parents=True, exist_ok=True)
    kind = database.kind_of(db.engine.url)
    folder = media_dir()
    with tempfile.TemporaryDirectory(prefix="kap-backup-") as work:
        dump_path = Path(work) / database.DUMP_NAMES[kind]
        snapshot = database.dump(db.engine, dump_path)
        handle, temporary_name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
        temporary = Path(temporary_name)  # mkstemp: mode 0600 from the start
        try:
            with os.fdopen(handle, "wb") as raw:
                writer = SealedWriter(raw, key)
                stream = cast("BinaryIO", writer)
                with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as archive:
                    dumped = _add(archive, dump_path, database.DUMP_NAMES[kind])
                    media = _add_media(archive, folder)
                    manifest = Manifest(
                        revision=snapshot.revision,
                        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                        database_kind=kind,
                        database=dumped,
                        row_counts=snapshot.row_counts,
                        media=media,
                    )
                    _add_bytes(archive, NAME, manifest.to_json())
                writer.finish()
            replace_durably(temporary, output)
        except OSError as error:  # a full disk, a folder we may not write: no traceback
            raise BackupError(f"The backup could not be written: {error}.") from None
        finally:
            temporary.unlink(missing_ok=True)
    return BackupReport(output, output.stat().st_size, key_id(key), manifest)


def _unpack(source: Path, keys: list[bytes], work: Path) -> Manifest:
    """Decrypt and authenticate all of ``source`` into ``work``; its manifest."""
    try:
        raw = source.open("rb")
    except OSError as error:
        raise BackupError(f"Cannot read {source}: {error.strerror}.") from None
    with raw:
        reader = SealedReader(raw, keys)
        try:
            with tarfile.open(fileobj=cast("BinaryIO", reader), mode="r|") as archive:
                for member in archive:
                    name = safe_member_name(member.name)
                    extracted = archive.extractfile(member) if member.isfile() else None
                    if extracted is None:
                        raise BackupError(f"The backup holds an unexpected entry {member.name!r}.")
                    (work / name).parent.mkdir(parents=True, exist_ok=True)
                    with (work / name).open("wb") as target:
                        shutil.copyfileobj(extracted, target, _COPY)
        except tarfile.TarError:
            raise BackupError("The backup's contents are not readable.") from None
        reader.drain()
    if not (work / NAME).is_file():
        raise BackupError("The backup has no manifest.")
    return Manifest.from_json((work / NAME).read_bytes())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_COPY):
            digest.update(chunk)
    return digest.hexdigest()


def _check(work: Path, entry: FileEntry) -> Path:
    """The unpacked file of ``entry``, after checking its size and SHA-256."""
    path = work / safe_member_name(entry.path)
    if not path.is_file():
        raise BackupError(f"The backup lacks {entry.path}, which its manifest lists.")
    if path.stat().st_size != entry.size or _sha256(path) != entry.sha256:
        raise BackupError(f"{entry.path} does not match the manifest's SHA-256.")
    return path


def _needs_upgrade(revision: str | None) -> bool:
    """Whether the code is ahead of a backup at ``revision``; refuse one it does not know."""
    scripts = ScriptDirectory(current_app.extensions["migrate"].directory)
    if revision is None:
        raise BackupError("The backup's database was never migrated; there is nothing to restore.")
    try:
        scripts.get_revision(revision)
    except CommandError:
        raise BackupError(
            f"The backup is at migration {revision}, which this code does not have: it was "
            "made by a newer version of KAP Companion. Install that version (or newer) and "
            "restore with it."
        ) from None
    return revision not in scripts.get_heads()


def _media_target(relative: str) -> Path:
    return media_dir() / safe_member_name(relative.removeprefix(f"{MEDIA}/"))


def restore_backup(source: Path) -> RestoreReport:
    """Restore the backup at ``source`` into the (empty) configured database and the media
    folder; every byte is checked before anything is written."""
    keys = configured_keys()
    try:
        return _restore(Path(source), keys)
    except OSError as error:  # a full disk, a folder we may not write: no traceback
        raise BackupError(f"The restore could not finish: {error}.") from None


def _restore(source: Path, keys: list[bytes]) -> RestoreReport:
    with tempfile.TemporaryDirectory(prefix="kap-restore-") as folder:
        work = Path(folder)
        manifest = _unpack(source, keys, work)
        needs_upgrade = _needs_upgrade(manifest.revision)
        dump_file = _check(work, manifest.database)
        checked = [(_check(work, entry), entry) for entry in manifest.media]
        already_there = 0
        for _, entry in checked:
            target = _media_target(entry.path)
            if target.exists():
                if _sha256(target) != entry.sha256:
                    raise BackupError(
                        f"The media folder already holds a different {target.name}; restore "
                        "into an empty media folder (KAP_MEDIA_DIR)."
                    )
                already_there += 1
        # All or nothing: a dump whose rows are not the manifest's leaves the target empty.
        database.load(db.engine, manifest.database_kind, dump_file, manifest.row_counts)
        written = 0
        for path, entry in checked:
            target = _media_target(entry.path)
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".restore-{secrets.token_hex(8)}")
            shutil.copyfile(path, temporary)
            replace_durably(temporary, target)
            written += 1
    return RestoreReport(manifest, written, already_there, needs_upgrade)
