"""Migration 0012 (the media store) moves the media folder's files into the database.

On SQLite and, in CI's second pass, PostgreSQL: with the database store configured, every
finished file (uploads at the top, prompt tracks under prompts/, one larger than a chunk)
becomes a blob of the same name and bytes, a half-written temporary file does not, and the
files stay where they were; the downgrade writes the blobs back out; upgrading again adds
nothing twice. With the folder store, the tables are made and left empty.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade

from kap.extensions import db

BEFORE, AFTER = "0011_prompt_audio", "0012_media_store"


@pytest.fixture
def media_folder(migration_app, tmp_path) -> dict[str, bytes]:
    """A media folder as 0011 left it; the finished files by name."""
    folder = tmp_path / "media"
    migration_app.config["MEDIA_DIR"] = str(folder)
    files = {
        "3f2a.wav": secrets.token_bytes(1000),
        "b71c.mp3": secrets.token_bytes(600 * 1024),  # more than one 512 KiB chunk
        "prompts/0123456789abcdef.m4a": secrets.token_bytes(3000),
    }
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    (folder / ".upload-5e5e").write_bytes(b"half an upload")
    return files


def _blobs() -> dict[str, tuple[int, str, bytes]]:
    rows = db.session.execute(
        db.text("SELECT id, name, size_bytes, sha256 FROM media_blobs ORDER BY name")
    ).all()
    blobs = {}
    for row in rows:
        chunks = db.session.execute(
            db.text("SELECT data FROM media_chunks WHERE blob_id = :b ORDER BY seq"), {"b": row.id}
        ).scalars()
        blobs[row.name] = (row.size_bytes, row.sha256, b"".join(bytes(c) for c in chunks))
    db.session.remove()
    return blobs


def test_with_the_database_store_the_folder_moves_in_and_back_out(migration_app, media_folder):
    """Every finished file becomes a blob with its bytes; downgrade and upgrade lose nothing
    and duplicate nothing."""
    migration_app.config["MEDIA_STORE"] = "database"
    folder = Path(migration_app.config["MEDIA_DIR"])
    upgrade(revision=BEFORE)

    upgrade(revision=AFTER)

    expected = {
        name: (len(content), hashlib.sha256(content).hexdigest(), content)
        for name, content in media_folder.items()
    }
    assert _blobs() == expected
    assert all((folder / name).read_bytes() == content for name, content in media_folder.items())

    # Down: the files removed meanwhile come back from the database, byte for byte.
    for name in media_folder:
        (folder / name).unlink()
    downgrade(revision=BEFORE)
    assert {name: (folder / name).read_bytes() for name in media_folder} == media_folder
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [".upload-5e5e"]

    # Up again: one blob per file, as before.
    upgrade(revision=AFTER)
    assert _blobs() == expected


def test_with_the_folder_store_nothing_moves(migration_app, media_folder):
    """The embedded default keeps its folder: the tables are made and stay empty."""
    migration_app.config["MEDIA_STORE"] = "folder"
    upgrade(revision=BEFORE)

    upgrade(revision=AFTER)

    assert _blobs() == {}
    folder = Path(migration_app.config["MEDIA_DIR"])
    assert all((folder / name).read_bytes() == content for name, content in media_folder.items())
