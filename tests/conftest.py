"""Shared fixtures: the app on a clean database, clients, demo people, real-form sign-in."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import current_app
from sqlalchemy import create_engine, text


def _worker_database() -> str | None:
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


_WORKER_DATABASE = _worker_database()


def pytest_sessionfinish(session):
    """Drop this worker's database (the main one is the caller's to drop)."""
    if _WORKER_DATABASE is None:
        return
    server = os.environ["KAP_TEST_DATABASE_URL"].rpartition("/")[0]
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{_WORKER_DATABASE}" WITH (FORCE)'))
    admin.dispose()


from kap import create_app  # noqa: E402 - after the worker's database is chosen
from kap.config import TestConfig  # noqa: E402
from kap.demo.seed import DEMO_CLINICS, DEMO_PASSWORD, seed_demo  # noqa: E402
from kap.extensions import db, limiter  # noqa: E402
from kap.services.auth.attempt_limits import STORAGE_ERRORS  # noqa: E402

_schema_ready: set[str] = set()


def _reset_database(app) -> None:
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


@pytest.fixture
def app(tmp_path):
    """The application with TestConfig (CSRF on), an empty database and its own media folder."""
    app = create_app(TestConfig())
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    with app.app_context():
        _reset_database(app)
        # A test of an unreachable counter storage has nothing to reset there.
        with contextlib.suppress(STORAGE_ERRORS):
            limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # every app has its own engine; free its connections


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An application context for tests that call services directly."""
    with app.app_context():
        yield app


@dataclass(frozen=True)
class Person:
    """A demo account as tests see it."""

    id: int
    email: str
    role: str
    clinic_id: int
    password: str = DEMO_PASSWORD


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


def _settings_fingerprint(app) -> str:
    """The settings and the demo seeders' own objects (a monkeypatched one has another id)."""
    from kap.demo import content as demo_content
    from kap.demo import measures as demo_measures
    from kap.demo import seed as demo

    seeders = [(m.__name__, k, id(v)) for m in (demo, demo_content, demo_measures)
               for k, v in sorted(vars(m).items()) if not k.startswith("__")]  # fmt: skip
    settings = sorted((k, repr(v)) for k, v in app.config.items() if k != "MEDIA_DIR")
    return repr((settings, seeders))


def _snapshot_serves(seeded_at: datetime, now: datetime) -> bool:
    if abs(now - seeded_at) > timedelta(minutes=SNAPSHOT_MINUTES):
        return False
    zones = [ZoneInfo(zone) for _, zone in DEMO_CLINICS.values()]
    return all(_local_hour(now, zone) == _local_hour(seeded_at, zone) for zone in zones)


def _local_hour(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(minute=0, second=0, microsecond=0, tzinfo=None)


def _seed_demo_database() -> None:
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


@pytest.fixture
def people(app) -> dict[str, Person]:
    """The demo clinics and accounts, keyed by email."""
    from kap.models import User

    with app.app_context():
        _seed_demo_database()
        return {
            u.email: Person(u.id, u.email, u.role, u.clinic_id)
            for u in db.session.scalars(db.select(User))
        }


@pytest.fixture
def session_id(app, people) -> int:
    """The demo patient's Walkthrough session today (5 minutes of observation), not started.

    Found by its template, not by a window around the clock: the seed puts it at the start
    of the hour it ran in, which may be more than an hour ago a moment later.
    Modules with a session of their own define their own ``session_id``, which wins.
    """
    from kap.demo.content import WALKTHROUGH
    from kap.models import SessionStatus, SessionTemplate, TemplateVersion, TreatmentSession

    with app.app_context():
        return db.session.scalar(
            db.select(TreatmentSession.id)
            .join(TemplateVersion, TreatmentSession.template_version_id == TemplateVersion.id)
            .join(SessionTemplate, TemplateVersion.template_id == SessionTemplate.id)
            .where(
                TreatmentSession.patient_id == people["patient@demo.test"].id,
                TreatmentSession.status == SessionStatus.SCHEDULED,
                SessionTemplate.name == WALKTHROUGH,
            )
        )


@pytest.fixture
def patient(people):
    return people["patient@demo.test"]


@pytest.fixture
def patient2(people):
    return people["patient2@demo.test"]


@pytest.fixture
def therapist(people):
    return people["therapist@demo.test"]


@pytest.fixture
def therapist2(people):
    return people["therapist2@demo.test"]


@pytest.fixture
def admin(people):
    return people["admin@demo.test"]


@pytest.fixture
def other_patient(people):
    return people["patient@other.test"]


@pytest.fixture
def other_therapist(people):
    return people["therapist@other.test"]


@pytest.fixture
def other_admin(people):
    return people["admin@other.test"]


CSRF_INPUT = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'type="hidden" name="csrf_token" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token in page"
    return next(group for group in match.groups() if group)


class Auth:
    """Signs in through the real pages and API, CSRF included."""

    def __init__(self, client):
        self.client = client
        self.csrf_token: str | None = None

    def login(self, email: str, password: str = DEMO_PASSWORD, next: str | None = None):
        page = self.client.get("/signin")
        data = {"csrf_token": csrf_from(page.text), "email": email, "password": password}
        if next is not None:
            data["next"] = next
        return self.client.post("/signin", data=data)

    def logout(self):
        page = self.client.get("/")
        page = self.client.get(page.headers["Location"]) if page.status_code == 302 else page
        return self.client.post("/signout", data={"csrf_token": csrf_from(page.text)})

    def api_login(self, email: str, password: str = DEMO_PASSWORD):
        response = self.client.post("/api/v1/session", json={"email": email, "password": password})
        if response.status_code == 200:
            self.csrf_token = response.json["csrf_token"]
        return response

    @property
    def headers(self) -> dict[str, str]:
        """Headers for API writes."""
        return {"X-CSRFToken": self.csrf_token or ""}


@pytest.fixture
def auth(client):
    return Auth(client)
