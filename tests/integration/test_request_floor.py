"""The per-request floor (issue 18): what every signed-in request costs, made cheaper without
giving up revocable sessions.

The session row is read on every request, in autocommit on PostgreSQL and with one retry on a
dead pooled connection (kap/web/session_lookup.py); Flask-Limiter's per-request hooks are off
because no route carries a limit of its own (kap/extensions.py).
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import DBAPIError

from kap import create_app
from kap.config import TestConfig
from kap.extensions import db, limiter
from kap.models import AuthSession, User
from kap.models.base import utcnow
from kap.web.session_lookup import load_session_row, lookup_engine

KAP = Path(__file__).resolve().parents[2] / "kap"


def _modules_matching(pattern: re.Pattern[str]) -> list[str]:
    """The app's modules (paths under kap/) whose source matches ``pattern``."""
    return [
        str(path.relative_to(KAP))
        for path in KAP.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]


def test_a_revoked_session_stops_on_the_very_next_request(app, api_as, patient):
    """Nothing about a session is cached: revoking its row ends the next request."""
    api = api_as(patient.email)
    assert api.get("/api/v1/me").status_code == 200
    assert api.get("/api/v1/me").status_code == 200
    with app.app_context():
        db.session.execute(update(AuthSession).values(revoked_at=utcnow()))
        db.session.commit()
    response = api.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_the_session_row_costs_postgresql_one_round_trip(app):
    """On PostgreSQL the row is read in autocommit with no ping (the read is the ping); SQLite,
    with no round trips and one shared in-memory connection, keeps the ordinary path."""
    with app.app_context():
        engine = lookup_engine(app)
        if db.engine.dialect.name != "postgresql":
            assert engine is None
            return
        assert engine is not None
        with engine.connect() as connection:
            assert connection.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
        assert engine.pool._pre_ping is False  # type: ignore[attr-defined]
        assert lookup_engine(app) is engine  # made once per app engine


def test_a_cut_database_connection_does_not_fail_the_next_request(app, api_as, patient):
    """Every connection of the app is cut (a restart, a failover): the next signed-in request
    still answers 200, since a dead pooled connection is dropped and the read tried afresh."""
    api = api_as(patient.email)
    assert api.get("/api/v1/me").status_code == 200
    with app.app_context():
        if db.engine.dialect.name != "postgresql":  # SQLite has no connection to cut
            assert lookup_engine(app) is None
            return
        from sqlalchemy import create_engine

        admin = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            cut = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
        admin.dispose()
        assert cut >= 1, "no connection was cut: the test proved nothing"
    for _ in range(3):
        response = api.get("/api/v1/me")
        assert response.status_code == 200, response.text
        assert response.get_json()["user"]["email"] == patient.email


def test_the_limiter_adds_no_per_request_hooks(app):
    """Limits are counted where they happen; Flask-Limiter's request hooks are not installed."""
    hooks = [
        *app.before_request_funcs[None],
        *app.after_request_funcs[None],
        *app.teardown_request_funcs[None],
    ]
    owners = {getattr(getattr(hook, "__self__", None), "__class__", None) for hook in hooks}
    assert type(limiter) not in owners
    assert not any(getattr(hook, "args", None) == (limiter,) for hook in hooks)


def test_the_csrf_check_asks_the_method_first_and_still_refuses(app, client, auth, patient):
    """Flask-WTF's hook is replaced by one that asks the method first: a GET runs no check,
    a write without its token is still refused, and an exempt view (API sign-in) stays open."""
    from kap.extensions import FLASK_WTF_HOOK

    hooks = app.before_request_funcs[None]
    assert not any(getattr(hook, "__qualname__", "") == FLASK_WTF_HOOK for hook in hooks)
    assert sum(getattr(hook, "__name__", "") == "csrf_protect" for hook in hooks) == 1
    assert auth.api_login(patient.email).status_code == 200  # exempt: no token yet
    assert client.get("/api/v1/me").status_code == 200
    writes = [("POST", "/api/v1/journal"), ("PUT", "/api/v1/me/reminders")]
    writes += [("DELETE", "/api/v1/me/calendar"), ("DELETE", "/api/v1/session")]
    for method, path in writes:
        refused = client.open(path, method=method, json={})
        assert refused.status_code == 400, (method, path, refused.text)
        assert refused.get_json()["error"]["code"] == "csrf_failed"
    assert client.get("/api/v1/me").status_code == 200  # nothing was done
    assert client.delete("/api/v1/session", headers=auth.headers).status_code == 200


def test_flask_login_keeps_no_remember_me_hook(app):
    """The app never issues Flask-Login's remember-me cookie, so its after-request hook (which
    only sets or clears that cookie) is not installed; if that ever changes, this fails."""
    from kap.extensions import login_manager

    assert login_manager._update_remember_cookie not in app.after_request_funcs[None]
    assert not app.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST")
    remembering = re.compile(r"login_user\([^)]*remember|^\s*REMEMBER_COOKIE_\w+\s*=", re.M)
    assert _modules_matching(remembering) == []


def test_a_sign_in_and_sign_out_set_no_remember_me_cookie(client, auth, patient):
    """Signing in and out through the forms leaves no remember-me cookie behind."""
    responses = [auth.login(patient.email), auth.logout()]
    assert [response.status_code for response in responses] == [302, 302]
    for response in responses:
        cookies = response.headers.getlist("Set-Cookie")
        assert not any(cookie.startswith("remember_token") for cookie in cookies), cookies


def test_flask_answers_whether_a_function_is_async_once_per_function(app):
    """``ensure_sync`` keeps its answer per function, weakly: a view's is kept, a callback made
    for one request is forgotten with it, and an async function is still wrapped."""
    import gc

    def view() -> str:
        return "ok"

    assert app.ensure_sync(view) is view
    assert view in app._plain_functions
    del view
    gc.collect()
    assert not any(getattr(f, "__name__", "") == "view" for f in app._plain_functions)

    async def coroutine() -> str:
        return "ok"

    try:
        wrapped = app.ensure_sync(coroutine)
    except RuntimeError as error:  # Flask without its async extra says so, as it always did
        assert "async" in str(error)
    else:
        assert wrapped is not coroutine


def test_no_route_relies_on_a_limiter_decorator():
    """With its hooks off, Flask-Limiter would never check ``@limiter.limit`` on a route: none
    may exist (count in a service, as kap/services/auth/attempt_limits.py does)."""
    decorated = re.compile(r"^\s*@\s*limiter\.|\blimiter\.(limit|shared_limit|exempt)\(", re.M)
    assert _modules_matching(decorated) == []


def test_a_signed_in_request_that_needs_no_user_builds_none(app, api_as, patient):
    """The session row, the timeout and second-factor checks, the headers and the log line
    make do with the row's columns: a view that never touches ``current_user`` costs no
    ``User`` object (the ORM load of one cost more than the rest of such a request)."""
    api = api_as(patient.email)
    assert api.get("/api/v1/me").status_code == 200  # signed in, and the user is real
    loaded: list[int] = []

    def count(target: User, _context: object) -> None:
        loaded.append(target.id)

    event.listen(User, "load", count)
    try:
        response = api.get("/healthz")
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "private, no-store"  # still signed in
        assert loaded == []
        assert api.get("/api/v1/me").status_code == 200
        assert loaded == [patient.id]  # the listener does see a view that needs the user
    finally:
        event.remove(User, "load", count)


def test_a_sqlite_file_reads_the_row_on_the_request_connection(tmp_path):
    """SQLite, a file too, reads the row on the request's own connection: a second engine on
    the file is a second lock holder (with one, the full suite hung in a browser test)."""
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'kap.db'}"
    config.SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}
    app = create_app(config)
    with app.app_context():
        db.create_all()
        db.session.remove()
        assert lookup_engine(app) is None
        assert load_session_row(app, "0" * 64) is None
        db.session.remove()
        db.engine.dispose()


def test_the_driver_read_gives_what_the_orm_reads(app, api_as, patient):
    """The row read through the driver (PostgreSQL) or on the request's connection (SQLite)
    holds what the models hold: the same ids, data, flags and UTC-aware times."""
    api = api_as(patient.email)
    assert api.get("/api/v1/me").status_code == 200
    with app.app_context():
        stored = db.session.scalars(
            select(AuthSession).where(
                AuthSession.user_id == patient.id, AuthSession.revoked_at.is_(None)
            )
        ).one()
        user = db.session.get(User, patient.id)
        for _ in range(7):  # past psycopg's prepare threshold (5): the prepared read too
            row = load_session_row(app, stored.id)
        assert row is not None and row.account is not None
        assert (row.user_id, row.data) == (stored.user_id, stored.data)
        for name in ("created_at", "last_seen_at", "expires_at", "revoked_at"):
            assert getattr(row, name) == getattr(stored, name), name
            assert getattr(row, name) is None or getattr(row, name).utcoffset() == timedelta(0)
        account = row.account
        assert (account.id, account.role, account.active) == (user.id, user.role, user.active)
        assert account.totp_enabled_at == user.totp_enabled_at
        assert account.totp_secret_encrypted == user.totp_secret_encrypted
        assert account.clinic.require_clinician_second_factor is bool(
            user.clinic.require_clinician_second_factor
        )
        assert load_session_row(app, "0" * 64) is None


def test_a_query_that_fails_for_another_reason_is_not_retried(app, monkeypatch):
    """Only a dead connection is dropped and retried; any other database error surfaces as
    SQLAlchemy's (the error handlers' type), and the pooled connection stays usable."""
    with app.app_context():
        engine = lookup_engine(app)
        if engine is None:  # SQLite reads on the request's connection: nothing of its own
            return
        from kap.web import session_lookup

        monkeypatch.setattr(session_lookup, "_driver_sql", lambda _dialect: "SELECT no_such_column")
        with pytest.raises(DBAPIError) as raised:
            load_session_row(app, "0" * 64)
        assert not raised.value.connection_invalidated
        monkeypatch.undo()
        assert load_session_row(app, "0" * 64) is None


def test_times_come_back_in_utc_from_either_database(app, session_id):
    """Every stored time reads back aware and in UTC; on PostgreSQL the connection itself is in
    UTC (config.py), so the driver's times need no conversion."""
    from zoneinfo import ZoneInfo

    from kap.models import TreatmentSession
    from kap.models.base import as_utc

    with app.app_context():
        scheduled = db.session.get(TreatmentSession, session_id).scheduled_at
        assert scheduled.tzinfo is UTC
        if db.engine.dialect.name == "postgresql":
            assert db.session.execute(text("SHOW timezone")).scalar() == "UTC"
            assert db.session.execute(text("SELECT now()")).scalar().tzinfo is UTC
    berlin = scheduled.astimezone(ZoneInfo("Europe/Berlin"))
    assert as_utc(berlin) == scheduled and as_utc(berlin).tzinfo is UTC
    assert as_utc(scheduled.replace(tzinfo=None)) == scheduled
    assert as_utc(None) is None
