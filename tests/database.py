"""The test database: this worker's own PostgreSQL database, a clean schema, the demo data.

Importing this module chooses the database, so tests/conftest.py imports it before anything
from ``kap``: kap.config reads KAP_TEST_DATABASE_URL when it is imported.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import create_engine, text


def _use_worker_database() -> str | None:
    """Under pytest-xdist, each worker's own PostgreSQL database (made if missing), or None.

    Tests empty and refill the tables, so two workers must never share one database. This
    runs before kap.config is imported: TestConfig reads KAP_TEST_DATABASE_URL then.
    """
    url = os.environ.get("KAP_TEST_DATABASE_URL", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not url.startswith("postgresql"):
        return None
    server, _, name = url.rpartition("/")
    own = f"{name}_{worker}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        found = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": own})
        if not found:
            connection.execute(text(f'CREATE DATABASE "{own}"'))
    admin.dispose()
    os.environ["KAP_TEST_DATABASE_URL"] = f"{server}/{own}"
    return own


#: This worker's own database, or None (no xdist worker, or not PostgreSQL).
WORKER_DATABASE = _use_worker_database()


def drop_worker_database() -> None:
    """Drop this worker's database (the main one is the caller's to drop)."""
    if WORKER_DATABASE is None:
        return
    server = os.environ["KAP_TEST_DATABASE_URL"].rpartition("/")[0]
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{WORKER_DATABASE}" WITH (FORCE)'))
    admin.dispose()


def own_postgres_database(label: str = "attack") -> tuple[str, Callable[[], None]] | None:
    """A fresh PostgreSQL database beside KAP_TEST_DATABASE_URL's (named after ``label``), and
    how to drop it; None when the tests run on SQLite (for servers and apps that need a
    database to themselves)."""
    url = os.environ.get("KAP_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return None
    server, _, name = url.rpartition("/")
    own = f"{name}_{label}_{secrets.token_hex(3)}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{own}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
        admin.dispose()

    return f"{server}/{own}", drop


from kap.demo.seed import DEMO_CLINICS, seed_demo  # noqa: E402 - after the database is chosen
from kap.extensions import db  # noqa: E402

_schema_ready: set[str] = set()


def reset_database(app) -> None:
    """A clean schema: created on a fresh in-memory SQLite, emptied on a shared server."""
    engine = db.engine
    url = str(engine.url)
    if url not in _schema_ready:
        if engine.dialect.name != "sqlite" or url != "sqlite://":
            db.drop_all()
        db.create_all()
        if url != "sqlite://":
            _schema_ready.add(url)
        return
    with engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


#: The seeded in-memory database, copied into each test's (SQLite's backup API, ~1 ms, where
#: seeding takes ~70 ms), with the settings and time it was seeded with. A test may change
#: settings or patch the demo modules first (keys: the snapshot's ciphertexts and audit chain
#: depend on them; a patched seeder seeds less), and demo
#: data sits relative to "now" (a Walkthrough session at the start of this hour, sessions n
#: days ago), so a snapshot serves only the same settings, while the clock - real or frozen by
#: a test - reads within SNAPSHOT_MINUTES of that time and in the same local hour (so the same
#: day) in every demo clinic: a fresh seed would put the Walkthrough where the snapshot has it.
_demo_snapshot: tuple[str, datetime, sqlite3.Connection] | None = None
SNAPSHOT_MINUTES = 2


#: Settings every test sets to a folder of its own (tests/conftest.py ``app``): they say where
#: media and jobs go, which seeding never reads, and would otherwise make every test's
#: fingerprint unique, so that no snapshot ever served.
PER_TEST_PATHS = frozenset({"MEDIA_DIR", "JOBS_URL"})


def _settings_fingerprint(app) -> str:
    """The settings and the demo seeders' own objects (a monkeypatched one has another id)."""
    from kap.demo import content as demo_content
    from kap.demo import measures as demo_measures
    from kap.demo import seed as demo

    seeders = [(m.__name__, k, id(v)) for m in (demo, demo_content, demo_measures)
               for k, v in sorted(vars(m).items()) if not k.startswith("__")]  # fmt: skip
    settings = sorted((k, repr(v)) for k, v in app.config.items() if k not in PER_TEST_PATHS)
    return repr((settings, seeders))


def _snapshot_serves(seeded_at: datetime, now: datetime) -> bool:
    if abs(now - seeded_at) > timedelta(minutes=SNAPSHOT_MINUTES):
        return False
    zones = [ZoneInfo(zone) for _, zone in DEMO_CLINICS.values()]
    return all(_local_hour(now, zone) == _local_hour(seeded_at, zone) for zone in zones)


def _local_hour(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(minute=0, second=0, microsecond=0, tzinfo=None)


def seed_demo_database() -> None:
    """The demo data in this test's database: seeded, or copied from this process's snapshot
    when the database is the in-memory SQLite default (one connection, StaticPool)."""
    global _demo_snapshot
    if str(db.engine.url) != "sqlite://":
        seed_demo()
        return
    now = datetime.now(UTC)
    settings = _settings_fingerprint(current_app)
    raw = db.engine.raw_connection()
    try:
        if (
            _demo_snapshot is not None
            and _demo_snapshot[0] == settings
            and _snapshot_serves(_demo_snapshot[1], now)
        ):
            _demo_snapshot[2].backup(raw.driver_connection)
            db.session.remove()
            return
        seed_demo()
        db.session.commit()  # the backup copies committed pages only
        snapshot = sqlite3.connect(":memory:", check_same_thread=False)
        raw.driver_connection.backup(snapshot)
        _demo_snapshot = (settings, now, snapshot)
    finally:
        raw.close()
