"""`flask backup` and `flask restore`: the demo round-trips byte for byte, and a bad file, a
wrong key or a non-empty target is refused with a clear error and nothing written.

On SQLite always; on PostgreSQL (pg_dump / pg_restore) when KAP_TEST_DATABASE_URL names it,
each database fresh and dropped afterwards. The round trip runs the real commands as
subprocesses; the refusals run the same commands in-process (faster, same code path).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import MetaData, create_engine, inspect, select, text

from kap.config import TestConfig
from kap.services.backup.sealed import key_id
from tests.database import own_postgres_database
from tests.servers import Server, server_env

BACKUP_KEY = base64.b64encode(b"backup-tests-key-32-bytes-long-0").decode()
OTHER_BACKUP_KEY = base64.b64encode(b"another-backup-key-32-bytes-long").decode()
OLD_DATA_KEY = "old:" + base64.b64encode(b"old-data-key-32-bytes-long-01234").decode()
NEW_DATA_KEY = "new:" + base64.b64encode(b"new-data-key-32-bytes-long-01234").decode()
SECRETS = {
    "KAP_SECRET_KEY": "backup-tests-secret-key-0123456789abcdef",
    "KAP_AUDIT_KEY": "backup-tests-audit-key-0123456789abcdef",
    "KAP_BACKUP_KEY": BACKUP_KEY,
}
OLD_ENTRY = "Written before the key rotation: the tide went out slowly."
NEW_ENTRY = "Written after the key rotation: the water came back."

ADD_UPLOAD_AND_ENTRY = """
import io, sys
from sqlalchemy import select
from kap.extensions import db
from kap.models import User
from kap.services.clinic.audio import store_upload
from kap.services.journal.entries import create_entry
from kap.services.media import media_store
from tests.audio_helpers import encoded, tone
from wsgi import app

with app.app_context():
    admin = db.session.scalar(select(User).where(User.email == "admin@demo.test"))
    patient = db.session.scalar(select(User).where(User.email == "patient@demo.test"))
    if sys.argv[2] == "upload":
        store_upload(admin, io.BytesIO(encoded(tone(2.0), "wav", "pcm_s16le")), "tide.wav")
        media_store().put("prompts/generated.m4a", io.BytesIO(b"made again on demand"))
    create_entry(patient, sys.argv[1], {"body": sys.argv[3], "shared": False})
"""

READ_MEDIA = """
import hashlib
from flask import current_app
from kap.services.media import media_store
from wsgi import app

with app.app_context():
    store = media_store()
    print(current_app.config["MEDIA_STORE"])
    for name in sorted(store.names()):
        with store.open(name) as stored:
            print(name, hashlib.sha256(stored.read()).hexdigest())
"""

READ_ENTRIES = """
import sys
from sqlalchemy import select
from kap.extensions import db
from kap.models import JournalEntry
from wsgi import app

with app.app_context():
    for client_id in sys.argv[1:]:
        entry = db.session.scalar(select(JournalEntry).where(JournalEntry.client_id == client_id))
        print(entry.body_ciphertext.split(":")[1], entry.body)
"""


def fresh_database(folder: Path, name: str) -> tuple[str, object]:
    """A new empty database (PostgreSQL when the tests run on it) and how to drop it."""
    postgres = own_postgres_database("backup")
    if postgres:
        return postgres
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / name}", lambda: None


@dataclass
class RoundTrip:
    """The demo's database and media, its backup, and the database restored from it."""

    source: Server
    target: Server
    backup_file: Path
    restore_output: str


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoundTrip]:
    """Seed the demo (old data key), add an upload and two entries (one per key), back it up
    and restore it into a fresh database, all through the real commands."""
    folder = tmp_path_factory.mktemp("backup")
    source_url, drop_source = fresh_database(folder / "source", "kap.db")
    target_url, drop_target = fresh_database(folder / "target", "kap.db")
    source_media, target_media = folder / "source" / "media", folder / "target" / "media"
    old = server_env(folder / "source", source_url, **SECRETS, KAP_DATA_KEYS=OLD_DATA_KEY,
                     KAP_MEDIA_DIR=str(source_media))  # fmt: skip
    rotated = {**old, "KAP_DATA_KEYS": f"{NEW_DATA_KEY},{OLD_DATA_KEY}"}
    source = Server("", old)
    try:
        source.migrate_and_seed()
        source.python(ADD_UPLOAD_AND_ENTRY, "backup-old-key", "upload", OLD_ENTRY)
        source = Server("", rotated)
        source.python(ADD_UPLOAD_AND_ENTRY, "backup-new-key", "-", NEW_ENTRY)
        backup_file = folder / "backups" / "demo.kapbackup"
        made = source.flask("backup", "--output", str(backup_file), check=True)
        assert "Backup written to" in made.stdout
        target = Server("", {**rotated, "KAP_DATABASE_URL": target_url,
                             "KAP_MEDIA_DIR": str(target_media)})  # fmt: skip
        restored = target.flask("restore", str(backup_file), check=True)
        yield RoundTrip(source, target, backup_file, restored.stdout)
    finally:
        drop_source()
        drop_target()


def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, each table ordered by its primary key."""
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {
                name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*(table.primary_key.columns or table.columns))
                    )
                ]
                for name, table in sorted(metadata.tables.items())
            }
    finally:
        engine.dispose()


def _media(server: Server) -> tuple[str, dict[str, str]]:
    """The server's media store (folder or database) and every name in it with its sha256."""
    kind, *lines = server.python(READ_MEDIA).splitlines()
    return kind, dict(line.split(" ", 1) for line in lines)


def test_every_row_of_every_table_is_restored(round_trip: RoundTrip) -> None:
    """Table by table, ordered by primary key, the restored rows equal the source's."""
    source = _rows(round_trip.source.env["KAP_DATABASE_URL"])
    restored = _rows(round_trip.target.env["KAP_DATABASE_URL"])
    assert sorted(restored) == sorted(source)
    assert sum(len(rows) for rows in source.values()) > 100  # the demo, not an empty database
    for name, rows in source.items():
        assert restored[name] == rows, f"table {name} differs after restore"
    assert "Restored the backup" in round_trip.restore_output


def test_every_media_byte_is_restored_and_generated_prompts_are_not(
    round_trip: RoundTrip,
) -> None:
    """The uploaded file comes back byte for byte, through the store the app reads. In the
    folder store prompts/ (made again on demand) is left out; in the database store it is in
    the dump with everything else, and comes back whole."""
    kind, source = _media(round_trip.source)
    assert "prompts/generated.m4a" in source
    uploaded = {name: sha for name, sha in source.items() if not name.startswith("prompts/")}
    assert len(uploaded) == 1 and next(iter(uploaded)).endswith(".wav")
    target_kind, restored = _media(round_trip.target)
    assert target_kind == kind
    assert restored == (uploaded if kind == "folder" else source)


def test_audit_chain_still_verifies_after_restore(round_trip: RoundTrip) -> None:
    """`flask audit-verify` passes on the restored database."""
    result = round_trip.target.flask("audit-verify")
    assert result.returncode == 0, result.stderr
    assert "Audit log intact." in result.stdout


def test_text_under_an_old_data_key_still_decrypts_after_restore(round_trip: RoundTrip) -> None:
    """An entry sealed under the old key (still listed after the new one) and one under the
    new key both read back from the restored database."""
    output = round_trip.target.python(READ_ENTRIES, "backup-old-key", "backup-new-key")
    assert output.splitlines() == [f"old {OLD_ENTRY}", f"new {NEW_ENTRY}"]


def test_the_backup_file_is_private_and_names_its_key_not_its_contents(
    round_trip: RoundTrip,
) -> None:
    """Mode 0600, a readable header naming format and key id, no plaintext inside."""
    data = round_trip.backup_file.read_bytes()
    assert round_trip.backup_file.stat().st_mode & 0o777 == 0o600
    assert data.startswith(b"KAP-BACKUP 1 AES-256-GCM-STREAM key=")
    assert BACKUP_KEY.encode() not in data
    for plaintext in (b"SQLite format", b"PGDMP", b"manifest", b"admin@demo.test", b"WAVE"):
        assert plaintext not in data
    assert not list(round_trip.backup_file.parent.glob(".*")), "a temporary file was left"


# --- Refusals: run in-process against a fresh empty target -------------------------------


@pytest.fixture(scope="module")
def empty_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A database and media folder that stay empty through every refused restore."""
    folder = tmp_path_factory.mktemp("refusals")
    url, drop = fresh_database(folder, "empty.db")
    try:
        yield url, folder / "media"
    finally:
        drop()


def _app(database_url: str, media: Path, backup_key: str = BACKUP_KEY) -> Flask:
    """The app on ``database_url`` with ``media`` and ``backup_key``, in this process."""
    from kap import create_app

    class BackupConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}
        AUDIT_ANCHOR_AT_EXIT = False
        MEDIA_DIR = str(media)
        # Never empty here: Config would make a development key in the repository's
        # instance/; tests of a missing key blank it on the built app instead.
        BACKUP_KEY = backup_key or OTHER_BACKUP_KEY

    return create_app(BackupConfig())


def _restore(app: Flask, file: Path) -> tuple[int, str]:
    """`flask restore FILE` in-process: exit code and output."""
    result = app.test_cli_runner().invoke(args=["restore", str(file)])
    with app.app_context():
        from kap.extensions import db

        db.engine.dispose()
    return result.exit_code, result.output


def _assert_nothing_written(url: str, media: Path) -> None:
    engine = create_engine(url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
    assert not media.exists() or not any(media.rglob("*"))


def _damaged(round_trip: RoundTrip, folder: Path, how: str) -> Path:
    data = bytearray(round_trip.backup_file.read_bytes())
    if how == "flipped byte":
        data[len(data) // 2] ^= 0x01
    elif how == "truncated":
        del data[-1000:]
    elif how == "cut to its header":
        del data[120:]
    elif how == "appended bytes":
        data += b"\0" * 16
    path = folder / f"{how.replace(' ', '-')}.kapbackup"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "how", ["flipped byte", "truncated", "cut to its header", "appended bytes"]
)
def test_a_damaged_backup_is_refused_and_nothing_is_written(
    round_trip: RoundTrip, empty_target: tuple[str, Path], tmp_path: Path, how: str
) -> None:
    """Any change to the file fails authentication before a byte reaches the target."""
    url, media = empty_target
    code, output = _restore(_app(url, media), _damaged(round_trip, tmp_path, how))
    assert code == 1
    assert "damaged, truncated or altered" in output or "truncated" in output
    _assert_nothing_written(url, media)


def test_a_wrong_backup_key_is_named_and_nothing_is_written(
    round_trip: RoundTrip, empty_target: tuple[str, Path]
) -> None:
    """Another key: the error names both key ids, so the operator finds the right one."""
    url, media = empty_target
    code, output = _restore(_app(url, media, OTHER_BACKUP_KEY), round_trip.backup_file)
    assert code == 1
    assert "This backup was encrypted with backup key" in output
    assert BACKUP_KEY not in output and OTHER_BACKUP_KEY not in output
    _assert_nothing_written(url, media)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "KAP_BACKUP_KEY is not set"),
        ("not base64 at all!", "KAP_BACKUP_KEY is not base64"),
        (base64.b64encode(b"short").decode(), "decodes to 5 bytes; it must be 32"),
    ],
)
def test_a_missing_or_malformed_backup_key_is_a_clear_error(
    round_trip: RoundTrip, empty_target: tuple[str, Path], key: str, message: str
) -> None:
    """Backup and restore both stop at once and say how to make a key."""
    url, media = empty_target
    app = _app(url, media, key)
    app.config["BACKUP_KEY"] = key  # as in production, where nothing fills it in
    code, output = _restore(app, round_trip.backup_file)
    assert code == 1 and message in output and "secrets.token_bytes(32)" in output
    result = app.test_cli_runner().invoke(args=["backup", "--output", "/nonexistent/x"])
    assert result.exit_code == 1 and message in result.output
    _assert_nothing_written(url, media)


def test_a_non_empty_target_database_is_refused(round_trip: RoundTrip, tmp_path: Path) -> None:
    """Restoring over a database with tables says how to make an empty one; media untouched."""
    media = tmp_path / "media"
    app = _app(round_trip.source.env["KAP_DATABASE_URL"], media)
    code, output = _restore(app, round_trip.backup_file)
    assert code == 1
    assert "The target database is not empty" in output
    assert "createdb" in output or "move" in output
    assert not media.exists() or not any(media.rglob("*"))


def test_a_backup_newer_than_the_code_is_refused(
    round_trip: RoundTrip, empty_target: tuple[str, Path], tmp_path: Path
) -> None:
    """A backup at a migration this code lacks is refused before anything is written."""
    copy = tmp_path / "future.db"
    url = f"sqlite:///{copy}"
    engine = create_engine(f"sqlite:///{copy}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    engine.dispose()
    future = tmp_path / "future.kapbackup"
    made = (
        _app(url, tmp_path / "future-media")
        .test_cli_runner()
        .invoke(args=["backup", "--output", str(future)])
    )
    assert made.exit_code == 0, made.output
    target_url, target_media = empty_target
    code, output = _restore(_app(target_url, target_media), future)
    assert code == 1
    assert "9999_from_the_future, which this code does not have" in output
    _assert_nothing_written(target_url, target_media)


def test_an_existing_output_file_is_never_overwritten(round_trip: RoundTrip) -> None:
    """`backup --output` onto an existing file refuses and leaves it as it was."""
    before = round_trip.backup_file.read_bytes()
    result = round_trip.source.flask("backup", "--output", str(round_trip.backup_file))
    assert result.returncode == 1 and "already exists" in result.stderr
    assert round_trip.backup_file.read_bytes() == before


def test_a_backup_taken_while_the_app_writes_is_one_consistent_moment(tmp_path: Path) -> None:
    """Rows inserted during the backup are in the dump or not, never counted one way and
    dumped another: the restore's row-count check against the manifest passes, and the
    restored rows are exactly the first N written."""
    from alembic.script import ScriptDirectory

    from kap.config import ROOT

    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    source_url, drop_source = fresh_database(tmp_path / "busy", "source.db")
    target_url, drop_target = fresh_database(tmp_path / "busy", "target.db")
    engine = create_engine(
        source_url, connect_args={"timeout": 30} if "sqlite" in source_url else {}
    )
    stop = threading.Event()

    def write_rows() -> None:
        while not stop.is_set():
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO busy_rows (note) VALUES ('x')"))

    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            connection.execute(text("INSERT INTO alembic_version VALUES (:head)"), {"head": head})
            connection.execute(
                text("CREATE TABLE busy_rows (id INTEGER PRIMARY KEY, note VARCHAR(8))")
                if "sqlite" in source_url
                else text("CREATE TABLE busy_rows (id SERIAL PRIMARY KEY, note VARCHAR(8))")
            )
        writer = threading.Thread(target=write_rows)
        writer.start()
        try:
            backup_file = tmp_path / "busy.kapbackup"
            made = (
                _app(source_url, tmp_path / "busy-media")
                .test_cli_runner()
                .invoke(args=["backup", "--output", str(backup_file)])
            )
        finally:
            stop.set()
            writer.join()
        assert made.exit_code == 0, made.output
        code, output = _restore(_app(target_url, tmp_path / "busy-restored"), backup_file)
        assert code == 0, output
        restored = create_engine(target_url)
        try:
            with restored.connect() as connection:
                ids = list(connection.scalars(text("SELECT id FROM busy_rows ORDER BY id")))
        finally:
            restored.dispose()
        assert ids == list(range(1, len(ids) + 1))
    finally:
        engine.dispose()
        drop_source()
        drop_target()


def test_a_dump_unlike_its_manifest_restores_nothing(
    round_trip: RoundTrip, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup whose database does not hold the rows its manifest lists (here: a manifest
    that counts one journal entry too many) is refused whole: the target database stays
    empty (on PostgreSQL the check ends the restore's one transaction), no media written."""
    from kap.services.backup import database

    def one_entry_too_many(connection) -> dict[str, int]:
        counts = real_row_counts(connection)
        return {**counts, "journal_entries": counts["journal_entries"] + 1}

    real_row_counts = database.row_counts
    bad = tmp_path / "miscounted.kapbackup"
    source = _app(round_trip.source.env["KAP_DATABASE_URL"], tmp_path / "source-media")
    with monkeypatch.context() as patch:
        patch.setattr(database, "row_counts", one_entry_too_many)
        made = source.test_cli_runner().invoke(args=["backup", "--output", str(bad)])
    assert made.exit_code == 0, made.output
    target_url, drop_target = fresh_database(tmp_path / "target", "miscounted.db")
    try:
        code, output = _restore(_app(target_url, tmp_path / "media"), bad)
        assert code == 1, output
        assert "does not hold the rows its manifest lists (in journal_entries)" in output
        assert "nothing was restored" in output
        _assert_nothing_written(target_url, tmp_path / "media")
    finally:
        drop_target()


def test_a_rotated_backup_key_still_restores_older_backups(
    round_trip: RoundTrip, tmp_path: Path
) -> None:
    """KAP_BACKUP_KEY="NEW,OLD": the demo's backup (made with the old key) restores, and the
    next backup is made with the new key."""
    target_url, drop_target = fresh_database(tmp_path / "target", "rotated.db")
    app = _app(target_url, tmp_path / "media", f"{OTHER_BACKUP_KEY},{BACKUP_KEY}")
    try:
        code, output = _restore(app, round_trip.backup_file)
        assert code == 0, output
        assert "Restored the backup" in output
        after = tmp_path / "after-rotation.kapbackup"
        made = app.test_cli_runner().invoke(args=["backup", "--output", str(after)])
        assert made.exit_code == 0, made.output
        new_id = key_id(base64.b64decode(OTHER_BACKUP_KEY))
        assert f"key={new_id}".encode() in after.read_bytes().split(b"\n")[0]
    finally:
        with app.app_context():
            from kap.extensions import db

            db.engine.dispose()
        drop_target()
