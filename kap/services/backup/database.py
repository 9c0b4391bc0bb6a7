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
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

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


def _tool(name: str) -> str:
    """The path of a PostgreSQL client tool, or a BackupError saying what to install."""
    tool = shutil.which(name)
    if tool is None:
        raise BackupError(
            f"{name} was not found: install the PostgreSQL client tools "
            "(Debian: postgresql-client) of the server's major version."
        )
    return tool


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    """Run a PostgreSQL client tool; its own message on failure (it never holds row data)."""
    tool = _tool(command[0])
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


def _inconsistent(where: str) -> BackupError:
    return BackupError(
        f"The backup's database does not hold the rows its manifest lists (in {where}); "
        "nothing was restored. Restore another backup."
    )


def counts_differ(found: dict[str, int], expected: dict[str, int]) -> BackupError | None:
    """The error for a database whose rows per table are not the manifest's, or None."""
    differing = sorted(
        name for name in found.keys() | expected.keys() if found.get(name) != expected.get(name)
    )
    return _inconsistent(", ".join(differing)) if differing else None


def _sqlite_counts(path: Path) -> dict[str, int]:
    """Rows per table of the SQLite file at ``path``, opened read-only."""
    reader = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with reader.connect() as connection:
            return row_counts(connection)
    finally:
        reader.dispose()


#: The end of a PostgreSQL restore's transaction: a table missing, one too many or a count
#: unlike the manifest's raises, and psql (ON_ERROR_STOP) rolls everything back.
_CHECK_COUNTS = """
DO $kap_restore$
DECLARE
    differing text[] := '{{}}';
BEGIN
    IF (SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = {schema}) <> {tables} THEN
        differing := differing || 'the number of tables'::text;
    END IF;
{checks}
    IF cardinality(differing) > 0 THEN
        RAISE EXCEPTION 'kap-restore: row counts differ in %', array_to_string(differing, ', ');
    END IF;
END
$kap_restore$;
"""
_CHECK_TABLE = """    IF (SELECT count(*) FROM {table}) <> {count} THEN
        differing := differing || {name}::text;
    END IF;"""


def _count_checks(connection: Connection, schema: str, expected: dict[str, int]) -> str:
    """The DO block that checks ``expected`` (table: rows) inside the restore's transaction."""
    quote = connection.dialect.identifier_preparer.quote

    def literal(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    checks = "\n".join(
        _CHECK_TABLE.format(
            table=f"{quote(schema)}.{quote(name)}", count=int(count), name=literal(name)
        )
        for name, count in sorted(expected.items())
    )
    return _CHECK_COUNTS.format(schema=literal(schema), tables=len(expected), checks=checks)


def _restore_postgresql(engine: Engine, dump_file: Path, expected: dict[str, int]) -> None:
    """pg_restore's script through psql in ONE transaction that ends by checking the row
    counts: a restore that does not match its manifest leaves the database empty."""
    uri, env = _libpq(engine.url)
    with engine.connect() as connection:
        schema = str(connection.scalar(text("SELECT current_schema()")))
        check = _count_checks(connection, schema, expected)
    script = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(dump_file)]
    apply = [_tool("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1",
             "--single-transaction", "--file=-", f"--dbname={uri}"]  # fmt: skip
    with tempfile.TemporaryFile() as script_errors, tempfile.TemporaryFile() as apply_errors:
        # S603: our tools, our temp file, the configured database's URI (no password in it).
        dumping = subprocess.Popen(script, stdout=subprocess.PIPE, stderr=script_errors, env=env)  # noqa: S603
        applying = subprocess.Popen(  # noqa: S603
            apply, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=apply_errors, env=env
        )
        script_out, apply_in = cast("IO[bytes]", dumping.stdout), cast("IO[bytes]", applying.stdin)
        try:
            shutil.copyfileobj(script_out, apply_in, 1024 * 1024)
            if dumping.wait() == 0:
                apply_in.write(check.encode())
                apply_in.close()  # psql commits only if the check passes
            else:
                applying.kill()  # a script cut short is never committed: its session ends
        except BrokenPipeError:  # psql stopped at an error: it says which, below
            pass
        finally:
            script_out.close()
            if dumping.poll() is None:  # psql gave up first: the rest of the script is unread
                dumping.kill()
            dumping.wait()
        applied = applying.wait()
        script_errors.seek(0)
        apply_errors.seek(0)
        failure = apply_errors.read().decode(errors="replace").strip()
        if applied != 0 and failure:  # psql's own error comes first
            marker = "kap-restore: row counts differ in "
            if marker in failure:
                raise _inconsistent(failure.split(marker, 1)[1].splitlines()[0])
            raise BackupError(f"Loading the dump failed; nothing was restored: {failure}")
        if dumping.returncode != 0 or applied != 0:
            detail = script_errors.read().decode(errors="replace").strip()
            raise BackupError(
                f"pg_restore failed; nothing was restored: {detail or dumping.returncode}"
            )


def load(engine: Engine, kind: str, dump_file: Path, expected: dict[str, int]) -> None:
    """Put ``dump_file`` (of database ``kind``) into the empty database of ``engine``, all or
    nothing: unless its rows per table are ``expected`` (the manifest's), nothing is kept."""
    target_kind = kind_of(engine.url)
    if kind != target_kind:
        raise BackupError(
            f"This backup holds a {kind} database, but KAP_DATABASE_URL names a {target_kind} "
            f"one. Restore it into a {kind} database."
        )
    ensure_empty(engine)
    if kind == SQLITE:
        error = counts_differ(_sqlite_counts(dump_file), expected)
        if error is not None:
            raise error
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
        _restore_postgresql(engine, dump_file, expected)
    engine.dispose()
