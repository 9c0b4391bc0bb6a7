"""The database half of a backup: a consistent dump, its row counts and migration revision,
and the way back into an empty database — with PostgreSQL's own tools or SQLite's backup API.

PostgreSQL: ``pg_dump`` (custom format) reads a snapshot exported by a REPEATABLE READ
transaction, and that transaction counts the rows, so the manifest's counts and revision are
those of the dump even while the app writes. The URL goes to libpq without its password
(PGPASSWORD, in the child's environment only: never on a command line, where ``ps`` shows it).
SQLite: ``sqlite3.Connection.backup`` copies a consistent snapshot while the app writes; the
counts are read from the copy.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL

from kap.services.backup.durable import replace_durably
from kap.services.backup.sealed import BackupError

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
#: The dump's name inside the backup, by database kind.
DUMP_NAMES = {POSTGRESQL: "database.pgdump", SQLITE: "database.sqlite3"}


@dataclass(frozen=True)
class Snapshot:
    """What the manifest says about the dumped database."""

    revision: str | None
    row_counts: dict[str, int]


def kind_of(url: URL) -> str:
    """'postgresql' or 'sqlite' (a clear error for anything else)."""
    backend = url.get_backend_name()
    if backend not in DUMP_NAMES:
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {backend!r}.")
    return backend


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI for ``url`` without its password, and the environment that carries it."""
    plain = url.set(drivername="postgresql", password=None)
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    """Run a PostgreSQL client tool; its own message on failure (it never holds row data)."""
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupError(
            f"{command[0]} was not found: install the PostgreSQL client tools "
            "(Debian: postgresql-client) of the server's major version."
        )
    # S603: the arguments are ours (tool flags, our temp paths, the configured database URL).
    result = subprocess.run([tool, *command[1:]], env=env, capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip() or result.returncode}")


def table_names(connection: Connection) -> list[str]:
    """The database's tables (PostgreSQL: the default schema), sorted."""
    return sorted(inspect(connection).get_table_names())


def row_counts(connection: Connection) -> dict[str, int]:
    """Rows per table, every table of the database."""
    return {
        name: int(connection.scalar(select(func.count()).select_from(table(name))) or 0)
        for name in table_names(connection)
    }


def revision_of(connection: Connection) -> str | None:
    """The Alembic revision the database is at (None before the first migration)."""
    if "alembic_version" not in table_names(connection):
        return None
    revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    return None if revision is None else str(revision)


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(url.database)


def dump(engine: Engine, target: Path) -> Snapshot:
    """Write a consistent dump of the database to ``target``; what it holds."""
    if kind_of(engine.url) == SQLITE:
        source_path = _sqlite_path(engine.url)
        if not source_path.exists():
            raise BackupError(f"The SQLite database {source_path} does not exist.")
        source, copy = sqlite3.connect(source_path), sqlite3.connect(target)
        try:
            source.backup(copy)  # all pages in one step: one consistent snapshot
        finally:
            source.close()
            copy.close()
        copy_engine = create_engine(f"sqlite:///{target}")
        try:
            with copy_engine.connect() as connection:
                return Snapshot(revision_of(connection), row_counts(connection))
        finally:
            copy_engine.dispose()
    uri, env = _libpq(engine.url)
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot_id = connection.scalar(text("SELECT pg_export_snapshot()"))
            snapshot = Snapshot(revision_of(connection), row_counts(connection))
            _run(
                ["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                 f"--snapshot={snapshot_id}", f"--file={target}", f"--dbname={uri}"],
                env,
                "pg_dump",
            )  # fmt: skip
    return snapshot


def ensure_empty(engine: Engine) -> None:
    """Refuse a target database that holds any table, saying how to get an empty one."""
    url = engine.url
    with engine.connect() as connection:
        names = table_names(connection)
    if not names:
        return
    shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
    if kind_of(url) == SQLITE:
        how = (
            f"move {url.database} away (or set KAP_DATABASE_URL to a new file's path, "
            "e.g. sqlite:////srv/kap/restored.db), then run restore again"
        )
    else:
        how = (
            f"create one with `createdb -h {url.host or 'localhost'} "
            f"-U {url.username or 'postgres'} {url.database}_restored` (or drop and re-create "
            f"{url.database}), point "
            "KAP_DATABASE_URL at it, then run restore again"
        )
    raise BackupError(
        f"The target database is not empty ({len(names)} tables: {shown}). Restore only goes "
        f"into an empty database: {how}."
    )


def load(engine: Engine, kind: str, dump_file: Path) -> None:
    """Put ``dump_file`` (of database ``kind``) into the empty database of ``engine``."""
    target_kind = kind_of(engine.url)
    if kind != target_kind:
        raise BackupError(
            f"This backup holds a {kind} database, but KAP_DATABASE_URL names a {target_kind} "
            f"one. Restore it into a {kind} database."
        )
    ensure_empty(engine)
    engine.dispose()  # no pooled connection may keep the old (empty) file or session open
    if kind == SQLITE:
        path = _sqlite_path(engine.url)
        path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in ("-wal", "-shm", "-journal"):  # the empty database's, if any
            Path(f"{path}{leftover}").unlink(missing_ok=True)
        temporary = path.with_name(f".{path.name}.restoring")
        shutil.copyfile(dump_file, temporary)
        temporary.chmod(0o600)
        replace_durably(temporary, path)
    else:
        uri, env = _libpq(engine.url)
        _run(
            ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
             "--single-transaction", f"--dbname={uri}", str(dump_file)],
            env,
            "pg_restore",
        )  # fmt: skip
    engine.dispose()
