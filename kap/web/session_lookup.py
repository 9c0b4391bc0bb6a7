"""Reading a request's session row in one round trip to PostgreSQL.

Every signed-in request reads its ``auth_sessions`` row (with its user and clinic), and many
requests read nothing else. On the app's engine that read costs PostgreSQL four round trips:
the pool's liveness ping, BEGIN, the SELECT, and the ROLLBACK that ends the request. Here it
costs one: the row is read on an engine of its own in autocommit (a single-row read needs no
transaction) without a ping. The read itself is the ping: if the pooled connection turns out
dead (the database restarted, a connection was cut), SQLAlchemy invalidates it and the read
is tried once more on a fresh connection; a database that is really down still raises, and
the session interface answers 503 as before.

The row is still read on every request, so a revoked session stops the very next request:
nothing about a session is cached. It is read as a Core row of the few columns every request
needs (the session's times and data, and what the timeout and second-factor checks need of
its user and clinic), not as ORM entities: building, joining and identity-mapping an
``AuthSession`` and its ``User`` cost more than the rest of a bare request. The ``User``
itself is loaded by Flask-Login only when a view touches ``current_user``. On PostgreSQL the
read goes straight to libpq: each pooled connection prepares it once (the server parses and
plans it once per connection) and then runs it with one ``PQexecPrepared`` call through
psycopg's documented ``pq`` layer, its values converted by psycopg's own ``Transformer``.
SQLAlchemy's execution (its statement cache, result metadata and row processing) cost more
than the round trip it wrapped, and psycopg's cursor (its query conversion, prepare
bookkeeping and non-blocking wait loop) still cost the worker 30 µs of CPU a request more
than this (tests/integration/test_request_floor.py keeps both reads equal).

SQLite keeps the request's own connection. It has no round trips to save, its in-memory test
database is one shared connection that a second engine would not see, and a second connection
to a SQLite *file* is a second lock holder: with it, a browser test of the full suite hung
for good (a request's session read waiting on the file lock its own request held), so it
was taken out again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from flask import Flask
from sqlalchemy import Select, bindparam, create_engine, event, select
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError

from kap.extensions import db
from kap.models import AuthSession, Clinic, User
from kap.models.base import as_utc
from kap.models.people import Role

#: Where the engine is kept on the app, beside the app engine it was made from.
EXTENSION = "kap_session_lookup"
#: Where a pooled connection keeps its prepared read (its ``info``, cleared with the
#: connection when it is replaced).
READER_KEY = "kap_session_reader"
#: The prepared statement's name on each connection (psycopg names its own ``_pg3_…``).
STATEMENT_NAME = b"kap_session_row"


class SessionClinic(NamedTuple):
    """What the request floor needs of the user's clinic."""

    require_clinician_second_factor: bool


class SessionAccount(NamedTuple):
    """What the request floor needs of a session's user, named as on ``User`` so that the
    rules written for users (``idle_limit``, ``is_mandatory``, ``is_enabled``) apply as they
    are, with no second copy of them."""

    id: int
    role: str
    active: bool
    totp_enabled_at: datetime | None
    totp_secret_encrypted: str | None
    clinic: SessionClinic

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_clinician(self) -> bool:
        return self.role in (Role.THERAPIST, Role.CLINIC_ADMIN)


class SessionRow(NamedTuple):
    """One ``auth_sessions`` row as every request reads it, with its user's facts (or None
    when the row has no user, or its user is gone)."""

    user_id: int | None
    data: dict[str, Any] | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    account: SessionAccount | None


@cache
def _statement() -> Select[Any]:
    """The read, built once per process (building it costs more than SQLite runs it)."""
    return (
        select(
            AuthSession.user_id,
            AuthSession.data,
            AuthSession.created_at,
            AuthSession.last_seen_at,
            AuthSession.expires_at,
            AuthSession.revoked_at,
            User.id.label("account_id"),
            User.role,
            User.active,
            User.totp_enabled_at,
            User.totp_secret_encrypted,
            Clinic.require_clinician_second_factor,
        )
        .select_from(AuthSession)
        .outerjoin(User, User.id == AuthSession.user_id)
        .outerjoin(Clinic, Clinic.id == User.clinic_id)
        .where(AuthSession.id == bindparam("digest"))
    )


def _session_row(values: Sequence[Any] | None) -> SessionRow | None:
    """The row's columns, in ``_statement()``'s order, as a ``SessionRow``."""
    if values is None:
        return None
    user_id, data, created_at, last_seen_at, expires_at, revoked_at, *user = values
    account_id, role, active, totp_enabled_at, totp_secret, clinician_second_factor = user
    account = None
    if account_id is not None:
        account = SessionAccount(
            id=account_id,
            role=role,
            active=bool(active),
            totp_enabled_at=as_utc(totp_enabled_at),
            totp_secret_encrypted=totp_secret,
            clinic=SessionClinic(bool(clinician_second_factor)),
        )
    return SessionRow(
        user_id=user_id,
        data=data,
        created_at=as_utc(created_at),  # type: ignore[arg-type]
        last_seen_at=as_utc(last_seen_at),  # type: ignore[arg-type]
        expires_at=as_utc(expires_at),  # type: ignore[arg-type]
        revoked_at=as_utc(revoked_at),
        account=account,
    )


def load_session_row(app: Flask, digest: str) -> SessionRow | None:
    """The ``auth_sessions`` row with this id and its user's facts, or None.

    Raises SQLAlchemy's OperationalError when the database cannot be reached.
    """
    bind = lookup_engine(app)
    if bind is None:
        # The request's own connection (SQLite): no ORM execution, no entities.
        statement = _statement()
        return _session_row(db.session.connection().execute(statement, {"digest": digest}).first())
    sql = _driver_sql(bind.dialect)
    driver_error = bind.dialect.loaded_dbapi.Error
    for attempt in (1, 2):
        try:
            # The pool hands out the driver's own errors here (Engine.connect would wrap them).
            connection = bind.raw_connection()
        except driver_error as error:  # no connection could be made: the database is down
            raise _wrapped(bind, sql, error, invalidated=False) from error
        try:
            # One prepared read per pooled connection, kept with it (and dropped with it when
            # it is invalidated).
            reader = connection.info.get(READER_KEY)
            if reader is None:
                reader = connection.info[READER_KEY] = PreparedRead(
                    connection.dbapi_connection, sql
                )
            return _session_row(reader.run(digest))
        except driver_error as error:
            gone = bind.dialect.is_disconnect(error, connection, None)
            if gone:
                connection.invalidate(error)  # never handed out again
            if not gone or attempt == 2:
                raise _wrapped(bind, sql, error, invalidated=gone) from error
        finally:
            connection.close()
    raise AssertionError("unreachable")  # pragma: no cover


def _wrapped(bind: Engine, sql: str, error: Exception, *, invalidated: bool) -> DBAPIError:
    """The driver's ``error`` as SQLAlchemy's (OperationalError for a lost database), which is
    what the session interface and the error handlers catch."""
    return DBAPIError.instance(
        sql,
        None,
        error,
        bind.dialect.loaded_dbapi.Error,
        hide_parameters=True,
        dialect=bind.dialect,
        connection_invalidated=invalidated,
    )


class PreparedRead:
    """The read, prepared on one psycopg connection and run there through libpq directly.

    The connection is in autocommit, so each run is a transaction of its own, as it was on a
    cursor; the connection's own state (its transaction status, psycopg's prepared statements)
    is untouched: the statement has a name of its own.
    """

    def __init__(self, connection: Any, sql: str) -> None:
        from psycopg.adapt import Transformer

        self.pgconn = connection.pgconn
        self.transformer = Transformer(connection)
        self._checked(self.pgconn.prepare(STATEMENT_NAME, sql.encode()))

    def run(self, digest: str) -> tuple[Any, ...] | None:
        """The row with this id, its values as psycopg loads them, or None.

        Raises psycopg's error (OperationalError for a lost connection), as a cursor would.
        """
        result = self._checked(self.pgconn.exec_prepared(STATEMENT_NAME, [digest.encode()]))
        if not result.ntuples:
            return None
        self.transformer.set_pgresult(result)
        return self.transformer.load_row(0, tuple)

    def _checked(self, result: Any) -> Any:
        from psycopg import errors, pq

        if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
            raise errors.error_from_result(result, encoding=self.transformer.encoding)
        return result


@cache
def _driver_sql(dialect: Dialect) -> str:
    """The read as libpq's own SQL text (``$1`` for the digest), compiled once per dialect."""
    numbered = type(dialect)(paramstyle="numeric_dollar")
    return str(_statement().compile(dialect=numbered))


def lookup_engine(app: Flask) -> Engine | None:
    """The autocommit engine for session rows (PostgreSQL only), made once per app engine.

    Same URL and options as the app engine (hidden SQL parameters included), minus the ping;
    disposed whenever the app engine is, so a test's app frees both.
    """
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return None
    made = app.extensions.get(EXTENSION)
    if made is not None and made[0] is engine:
        return made[1]
    options: dict[str, Any] = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # In autocommit a returned connection holds no transaction: nothing to roll back on return.
    options.update(pool_pre_ping=False, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
    lookup = create_engine(engine.url, **options)
    event.listen(engine, "engine_disposed", lambda _engine: lookup.dispose())
    app.extensions[EXTENSION] = (engine, lookup)
    return lookup
