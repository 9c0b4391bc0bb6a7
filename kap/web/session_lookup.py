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
nothing about a session is cached. The objects join the request's SQLAlchemy session as
usual (identity map; lazy loads and writes go through the app engine's transaction).

SQLite keeps the ordinary path: it has no round trips, and its in-memory test database is one
shared connection that a second engine would not see.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload

from kap.extensions import db
from kap.models import AuthSession

#: Where the engine is kept on the app, beside the app engine it was made from.
EXTENSION = "kap_session_lookup"


def load_session_row(app: Flask, digest: str) -> AuthSession | None:
    """The ``auth_sessions`` row with this id, its user and clinic loaded, or None.

    Raises SQLAlchemy's OperationalError when the database cannot be reached.
    """
    options = [joinedload(AuthSession.user)]
    bind = lookup_engine(app)
    if bind is None:
        return db.session.get(AuthSession, digest, options=options)
    try:
        return db.session.get(AuthSession, digest, options=options, bind_arguments={"bind": bind})
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        db.session.rollback()  # a dead pooled connection, now discarded: once more, afresh
        return db.session.get(AuthSession, digest, options=options, bind_arguments={"bind": bind})


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
    options.update(pool_pre_ping=False, isolation_level="AUTOCOMMIT")
    lookup = create_engine(engine.url, **options)
    event.listen(engine, "engine_disposed", lambda _engine: lookup.dispose())
    app.extensions[EXTENSION] = (engine, lookup)
    return lookup
