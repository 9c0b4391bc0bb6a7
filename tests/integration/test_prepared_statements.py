"""PostgreSQL: a transaction that only read ends in COMMIT, so psycopg keeps its prepared
statements (kap/prepared_statements.py); one that wrote, or failed, is rolled back as before.

On SQLite nothing is watched and these tests only check that."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, select, text, update
from sqlalchemy.exc import DBAPIError

from kap.extensions import db
from kap.models import Clinic, User
from kap.prepared_statements import READ_ONLY, is_read


def _postgres(app) -> bool:
    with app.app_context():
        return db.engine.dialect.driver == "psycopg"


#: A label no other statement carries, to find the test's own among the prepared ones.
PROBE = "prepared_statements_probe"


def _prepared_on(connection, like: str = "%") -> int:
    return connection.execute(
        text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :like"),
        {"like": like},
    ).scalar_one()


def test_only_psycopg_engines_are_watched(app):
    with app.app_context():
        watched = event.contains(db.engine, "rollback", _rolling_back())
        assert watched is _postgres(app)


def _rolling_back():
    from kap import prepared_statements

    return prepared_statements._rolling_back


@pytest.mark.parametrize(
    ("statement", "reads"),
    [
        ("SELECT 1", True),
        ("  select users.id FROM users", True),
        ("\nSELECT count(*) FROM users FOR UPDATE", True),
        ("UPDATE users SET name = 'x'", False),
        ("WITH gone AS (DELETE FROM users RETURNING id) SELECT count(*) FROM gone", False),
        ("INSERT INTO users (id) SELECT 1", False),
        ("SAVEPOINT sa_savepoint_1", False),
        ("DELETE FROM users", False),
        ("SELECT pg_notify('channel', 'sent on COMMIT only')", False),
        ("SELECT lo_from_bytea(0, '\\x00')", False),
        ("select users.id, LO_UNLINK (42) FROM users", False),
        ("SELECT users.halo_count FROM users", True),
        ("", False),
    ],
)
def test_what_counts_as_only_reading(statement, reads):
    assert is_read(statement) is reads


def test_a_read_only_transaction_keeps_the_statements_psycopg_prepared(app, people):
    """Run a read six times, each in its own transaction that is then rolled back (as
    Flask-SQLAlchemy ends every request): psycopg prepares it on the fifth, and keeps it."""
    if not _postgres(app):
        return
    with app.app_context(), db.engine.connect() as connection:
        probe = select(User.id.label(PROBE)).where(User.email == "patient@demo.test")
        for _ in range(6):
            connection.execute(probe).one()
            connection.rollback()
        assert _prepared_on(connection, f"%{PROBE}%") == 1
        connection.rollback()


def test_requests_that_only_read_leave_their_statements_prepared(app, api_as, patient):
    if not _postgres(app):
        return
    api = api_as(patient.email)
    for _ in range(12):
        assert api.get("/patient/journal").status_code == 200
    with app.app_context(), db.engine.connect() as connection:
        assert _prepared_on(connection) > 0


def _name_of(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).name


@pytest.mark.parametrize("write", ["orm", "core", "text", "cte"])
def test_a_transaction_that_wrote_is_still_rolled_back(app, people, patient, write):
    """Whatever way a transaction wrote, rolling it back undoes the write, on either
    database: it is never committed as though it had only read."""
    if write == "cte" and not _postgres(app):
        return  # SQLite has no UPDATE inside WITH
    with app.app_context():
        session = db.session
        session.execute(select(Clinic.id)).all()  # a read first: it must not decide
        if write == "orm":
            session.get(User, patient.id).name = "Not kept"
            session.flush()
        elif write == "core":
            session.execute(update(User).where(User.id == patient.id).values(name="Not kept"))
        elif write == "text":
            session.execute(
                text("UPDATE users SET name = 'Not kept' WHERE id = :id"), {"id": patient.id}
            )
        else:
            session.execute(
                text(
                    "WITH changed AS (UPDATE users SET name = 'Not kept' WHERE id = :id "
                    "RETURNING id) SELECT count(*) FROM changed"
                ),
                {"id": patient.id},
            )
        session.execute(select(User.id)).all()  # and a read after it
        session.rollback()
    assert _name_of(app, patient.id) != "Not kept"


def test_a_write_in_a_savepoint_that_is_released_is_still_rolled_back(app, people, patient):
    if not _postgres(app):
        return  # pysqlite's own transaction handling does not nest savepoints this way
    with app.app_context():
        session = db.session
        with session.begin_nested():
            session.execute(update(User).where(User.id == patient.id).values(name="Not kept"))
        session.rollback()
    assert _name_of(app, patient.id) != "Not kept"


def test_a_transaction_a_failed_read_aborted_is_rolled_back_and_the_connection_serves_on(
    app, people
):
    if not _postgres(app):
        return  # SQLite answers 1 / 0 with NULL
    with app.app_context():
        session = db.session
        with pytest.raises(DBAPIError):
            session.execute(text("SELECT 1 / 0")).all()
        session.rollback()
        assert session.execute(text("SELECT 2")).scalar_one() == 2
        session.rollback()


def test_the_read_only_mark_starts_afresh_with_each_transaction(app, people, patient):
    """A write in one transaction does not leave the next read-only one rolled back, nor a
    read-only one leave the next write committed."""
    if not _postgres(app):
        return
    with app.app_context(), db.engine.connect() as connection:
        connection.execute(update(User).where(User.id == patient.id).values(name="Not kept"))
        assert connection.info[READ_ONLY] is False
        connection.rollback()
        connection.execute(select(User.id)).all()
        assert connection.info[READ_ONLY] is True
        connection.rollback()
        connection.execute(select(User.id)).all()
        connection.execute(update(User).where(User.id == patient.id).values(name="Not kept"))
        connection.rollback()
    assert _name_of(app, patient.id) != "Not kept"


def test_a_read_only_transaction_whose_connection_was_cut_rolls_back_cleanly(app, people):
    """The server ends the connection in the middle of a read (a restart, a failover): the
    statement fails as a disconnect, the rollback that follows raises nothing more, and the
    session serves on with a new connection."""
    if not _postgres(app):
        return
    with app.app_context():
        session = db.session
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        admin = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        with pytest.raises(DBAPIError) as failure:
            session.execute(select(User.id)).all()
        assert failure.value.connection_invalidated
        session.rollback()
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
        session.rollback()


def test_a_notification_sent_by_a_select_is_still_dropped_by_the_rollback(app, people):
    """pg_notify is called through a SELECT, but a COMMIT would send what a ROLLBACK drops."""
    if not _postgres(app):
        return
    import psycopg

    with app.app_context():
        dsn = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as listener:
            listener.execute("LISTEN prepared_statements_probe")
            session = db.session
            session.execute(text("SELECT pg_notify('prepared_statements_probe', 'dropped')"))
            session.rollback()
            session.execute(text("SELECT pg_notify('prepared_statements_probe', 'sent')"))
            session.commit()
            payloads = [note.payload for note in listener.notifies(timeout=2, stop_after=1)]
    assert payloads == ["sent"]
