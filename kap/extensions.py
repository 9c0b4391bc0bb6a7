"""Flask extensions, created unbound here and initialised by create_app()."""

import contextlib
import sqlite3
from functools import partial
from pathlib import Path

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Named constraints let Alembic alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def init_limiter(app: Flask) -> None:
    """Flask-Limiter as the app uses it: a store of counters, hit explicitly, no per-request hooks.

    Every limit here is counted by the code that knows what happened (a failed sign-in, a
    wrong code, a calendar fetch: kap/services/auth/attempt_limits.py, kap/main/calendar_feed.py)
    and no route carries ``@limiter.limit``. Flask-Limiter still hooks every request (a
    before-request check of the route's limits, an after-request header step, a teardown),
    about a tenth of what a signed-in request that does nothing costs. So those hooks come off
    again; tests/integration/test_request_floor.py fails if a route ever gets a decorator
    that would then silently go unchecked.
    """
    limiter.init_app(app)
    ours = (limiter._check_request_limit, limiter._Limiter__release_context)  # type: ignore[attr-defined]
    app.before_request_funcs[None] = [f for f in app.before_request_funcs[None] if f not in ours]
    app.teardown_request_funcs[None] = [
        f for f in app.teardown_request_funcs[None] if f not in ours
    ]
    app.after_request_funcs[None] = [
        f
        for f in app.after_request_funcs[None]
        if not (isinstance(f, partial) and f.args == (limiter,))
    ]


#: The before-request hook ``CSRFProtect.init_app`` registers (replaced by ``init_csrf``).
FLASK_WTF_HOOK = "CSRFProtect.init_app.<locals>.csrf_protect"


def init_csrf(app: Flask) -> None:
    """CSRFProtect, its check asked first whether the request's method is one it checks.

    Flask-WTF's own before-request hook looks up the view's exemptions (four reads through the
    request proxy and a string built from the view's name) before it looks at the method, so
    every GET paid for a check that then did nothing. Its hook is replaced by one that asks
    the method first; the check itself (exemptions, token, referrer, errors) is Flask-WTF's
    ``protect``, unchanged, and honours WTF_CSRF_ENABLED and WTF_CSRF_CHECK_DEFAULT as its
    hook did.
    """
    csrf.init_app(app)
    hooks = app.before_request_funcs[None]
    theirs = next(f for f in hooks if f.__qualname__ == FLASK_WTF_HOOK)
    config = app.config

    def csrf_protect() -> None:
        if (
            request.method in config["WTF_CSRF_METHODS"]
            and config["WTF_CSRF_ENABLED"]
            and config["WTF_CSRF_CHECK_DEFAULT"]
        ):
            csrf.protect(apply_exemptions=True)

    hooks[hooks.index(theirs)] = csrf_protect


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record) -> None:
    """SQLite enforces foreign keys only when asked; WAL lets readers and a writer overlap."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 5000")
    path = cursor.execute("PRAGMA database_list").fetchone()[2]
    if path:  # a file, not :memory:
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        _owner_only(path)
    cursor.close()


def _owner_only(database_path: str) -> None:
    """The database file and its WAL/shared-memory files hold patient data: owner only."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            file = Path(database_path + suffix)
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)
