"""SQLite's disk fills up while a patient writes (issue 7).

The database is a file; a SQLAlchemy "connect" event gives every pooled connection
``PRAGMA max_page_count``, and a scratch table then fills every page that is left, so the next
write that needs a page fails with "database or disk is full" — as on a full disk. Writing an
entry then answers 503 with a plain message (a page for the form, the API error format for
the API), writes nothing (no entry without its audit row or the other way round), and leaves
the session signed in; once there is room, the outbox's replay of the same client_id lands
exactly once.
"""

from __future__ import annotations

import re
import uuid

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from kap import create_app
from kap.config import TestConfig
from kap.extensions import db, limiter
from kap.models import AuditEvent, JournalEntry
from tests.helpers import csrf_from

#: Long enough to need pages of its own (SQLite keeps at most ~4 KB of a row on its page).
ENTRY = "I felt the room open up and the music carried me somewhere quiet. " * 150
#: Tables a failed write must leave exactly as they were (sessions may be touched; filler grows).
UNTOUCHED = ("auth_sessions", "disk_filler", "alembic_version")


class DiskLimit:
    """PRAGMA max_page_count on every connection the engine opens (None: no limit)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.pages: int | None = None
        event.listen(engine, "connect", self._apply)

    def _apply(self, dbapi_connection, connection_record) -> None:
        pages = self.pages if self.pages is not None else 1_073_741_823  # SQLite's default
        dbapi_connection.execute(f"PRAGMA max_page_count = {int(pages)}")

    def set(self, pages: int | None) -> None:
        self.pages = pages
        self.engine.dispose()  # pooled connections reconnect, and so get the new limit

    def fill(self) -> None:
        """No room left: limit the file to its size, then use up every free byte of it."""
        with self.engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS disk_filler (data BLOB)")
            connection.commit()
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
        self.set(pages)
        with self.engine.connect() as connection:
            for size in (4096, 512, 64, 8):
                while True:
                    try:
                        connection.execute(
                            text("INSERT INTO disk_filler VALUES (randomblob(:size))"),
                            {"size": size},
                        )
                        connection.commit()
                    except OperationalError as error:
                        assert "database or disk is full" in str(error.orig)
                        connection.rollback()
                        break


@pytest.fixture
def app(tmp_path):
    """The app on a SQLite file built by the migrations, with the demo people and content."""

    class FileConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'kap.db'}"

    app = create_app(FileConfig())
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    with app.app_context():
        upgrade()
        limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def disk(app):
    with app.app_context():
        return DiskLimit(db.engine)


def row_counts(app) -> dict[str, int]:
    """Rows per table, except those a failed write may legitimately change."""
    with app.app_context():
        tables = [t for t in db.metadata.sorted_tables if t.name not in UNTOUCHED]
        counts = {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in tables}
        db.session.remove()
        return counts


def no_stack_trace(body: str) -> None:
    for leak in ("Traceback", "OperationalError", "sqlite", "disk_filler", 'File "', "INSERT"):
        assert leak not in body, f"the answer shows {leak!r}: {body[:500]}"


def entries_with(app, client_id: str) -> int:
    with app.app_context():
        query = select(func.count()).where(JournalEntry.client_id == client_id)
        return db.session.scalar(query.select_from(JournalEntry))


def test_full_disk_answers_503_saves_nothing_and_the_replay_lands_once(
    app, api_as, page_as, people, patient, disk, caplog
):
    """Form and API writes on a full disk: 503 with a plain message, no row written, still
    signed in, the operator told in the log; with room again, the same client_id lands once
    (form and API alike)."""
    browser, phone = page_as(patient.email), api_as(patient.email)
    page = browser.get("/patient/journal/new")
    form_client_id = re.search(r'name="client_id" type="hidden" value="([^"]+)"', page.text)
    form_client_id = form_client_id.group(1) if form_client_id else str(uuid.uuid4())
    form = {"csrf_token": csrf_from(page.text), "body": ENTRY, "client_id": form_client_id}
    outbox_record = {"client_id": f"outbox-{uuid.uuid4()}", "body": ENTRY, "shared": False}
    before = row_counts(app)

    disk.fill()

    # The form: a page saying nothing was saved, in words a person can act on.
    response = browser.post("/patient/journal/new", data=form)
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert "Nothing was saved" in response.text and "still in the form" in response.text
    no_stack_trace(response.text)
    assert row_counts(app) == before

    # The API, as the outbox retries: the error format of DESIGN §4, every time.
    for _ in range(3):
        response = phone.post("/api/v1/journal", json=outbox_record)
        assert response.status_code == 503
        assert response.mimetype == "application/json"
        assert set(response.json) == {"error"}
        assert response.json["error"]["code"] == "unavailable"
        assert "Nothing was saved" in response.json["error"]["message"]
        no_stack_trace(response.text)
    assert row_counts(app) == before

    full = [r for r in caplog.records if "database storage is full" in r.getMessage()]
    assert len(full) == 4 and all(r.levelname == "ERROR" for r in full)

    # Both are still signed in, and can still read.
    assert phone.get("/api/v1/me").json["user"]["email"] == patient.email
    assert browser.get("/patient/journal").status_code == 200

    disk.set(None)  # room again

    response = phone.post("/api/v1/journal", json=outbox_record)
    assert response.status_code == 201, response.text
    entry_id = response.json["id"]
    replay = phone.post("/api/v1/journal", json=outbox_record)
    assert replay.status_code == 200 and replay.json["id"] == entry_id
    assert replay.json["body"] == ENTRY
    response = browser.post("/patient/journal/new", data=form)  # the person sends it again
    assert response.status_code == 302
    assert browser.post("/patient/journal/new", data=form).status_code == 302

    assert entries_with(app, outbox_record["client_id"]) == 1
    assert entries_with(app, form_client_id) == 1
    after = row_counts(app)
    assert after["journal_entries"] == before["journal_entries"] + 2
    assert after["audit_events"] == before["audit_events"] + 2  # one journal.create each
    assert {k: v for k, v in after.items() if k not in ("journal_entries", "audit_events")} == {
        k: v for k, v in before.items() if k not in ("journal_entries", "audit_events")
    }
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(2)
        ).all()
    assert actions == ["journal.create", "journal.create"]


def test_the_limit_reaches_every_pooled_connection(app, disk):
    """The fault is real on each connection the app may use, not only the first one."""
    disk.fill()
    with app.app_context():
        connections = [db.engine.connect() for _ in range(3)]
        try:
            for connection in connections:
                limit = connection.exec_driver_sql("PRAGMA max_page_count").scalar()
                pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
                assert limit == pages
                with pytest.raises(OperationalError, match="database or disk is full"):
                    connection.execute(text("INSERT INTO disk_filler VALUES (randomblob(100000))"))
                connection.rollback()
        finally:
            for connection in connections:
                connection.close()
