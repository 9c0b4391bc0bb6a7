"""A Flask session kept in the database, so that signing out really ends it.

Flask's default session lives in a signed cookie: a copy taken before sign-out stays valid.
Here the cookie carries only a random token; the data lives in an ``auth_sessions`` row keyed
by the token's SHA-256. Revoking the row ends the session whatever the browser still holds.

A visitor who has not signed in costs no row: until the session holds more than a CSRF token
and flash messages (``ANONYMOUS_KEYS``), it travels in a signed, HttpOnly cookie of its own
(Flask's serializer, keyed by SECRET_KEY, expiring after ANONYMOUS_SESSION_HOURS). There is
nothing in it to revoke; the row is made the moment something must be kept (a sign-in, or a
password accepted and a code still owed).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSessionInterface, SessionInterface, SessionMixin
from itsdangerous import BadSignature
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import CallbackDict

from kap.extensions import db
from kap.models import AuthSession
from kap.models.base import utcnow
from kap.web.session_lookup import SessionAccount, load_session_row

#: How often a quiet session's last-seen time is written (one write a minute, not per request).
TOUCH_INTERVAL = timedelta(seconds=60)
#: What an anonymous session may hold and still live in a signed cookie instead of a row.
ANONYMOUS_KEYS = frozenset({"csrf_token", "_flashes"})
#: The anonymous cookie's name: the session cookie's with this suffix.
ANONYMOUS_SUFFIX = "_anon"


def token_digest(token: str) -> str:
    """The row id for a cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


class ServerSession(CallbackDict, SessionMixin):
    """Session data loaded from (and saved to) an ``AuthSession`` row."""

    def __init__(
        self,
        initial: dict[str, Any] | None = None,
        token: str | None = None,
        last_seen_at: datetime | None = None,
        created_at: datetime | None = None,
        account: SessionAccount | None = None,
    ) -> None:
        def on_update(session: ServerSession) -> None:
            session.modified = True

        super().__init__(initial or {}, on_update)
        self.token = token
        self.last_seen_at = last_seen_at
        self.created_at = created_at
        #: What the timeout and second-factor checks need of the signed-in user, read with
        #: the row: they run on every request and must not load the ``User`` to do it.
        self.account = account
        self.modified = False
        self.regenerate_requested = False
        #: The browser still sends a token whose row was revoked or expired: delete it.
        self.drop_token_cookie = False

    @property
    def new(self) -> bool:  # type: ignore[override]
        return self.token is None

    def regenerate(self) -> None:
        """Issue a new token on the next save (after sign-in), against session fixation."""
        self.regenerate_requested = True
        self.modified = True

    def end(self) -> None:
        """Forget everything and revoke the row on save (sign-out).

        Anything written after this (a flash message) goes to a new anonymous session.
        """
        self.clear()
        self.regenerate()


class NullSession(ServerSession):
    """The session of requests that never need one (static files): never saved."""


class UnavailableSession(NullSession):
    """The session of a request that came while the database could not be reached.

    Empty and never saved; ``kap.web.errors`` answers such requests with a 503 page.
    """


def needs_row(session: ServerSession) -> bool:
    """Whether the session holds anything beyond what a signed anonymous cookie may carry."""
    return any(key not in ANONYMOUS_KEYS for key in session)


class ServerSessionInterface(SessionInterface):
    """Loads and saves ``ServerSession`` objects through the app's SQLAlchemy session."""

    #: Flask's own signed-cookie serializer, for the anonymous cookie only.
    _signer = SecureCookieSessionInterface()

    def anonymous_cookie_name(self, app: Flask) -> str:
        return self.get_cookie_name(app) + ANONYMOUS_SUFFIX

    def _anonymous(self, app: Flask, request: Request) -> ServerSession:
        """The signed anonymous cookie's data as a fresh session (empty if absent or forged)."""
        value = request.cookies.get(self.anonymous_cookie_name(app))
        serializer = self._signer.get_signing_serializer(app)
        if not value or serializer is None:
            return ServerSession()
        max_age = int(timedelta(hours=app.config["ANONYMOUS_SESSION_HOURS"]).total_seconds())
        try:
            data = serializer.loads(value, max_age=max_age)
        except BadSignature:
            return ServerSession()
        if not isinstance(data, dict):
            return ServerSession()
        return ServerSession({k: v for k, v in data.items() if k in ANONYMOUS_KEYS})

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        if request.endpoint == "static":
            return NullSession()
        token = request.cookies.get(self.get_cookie_name(app))
        if not token or len(token) > 128:
            return self._anonymous(app, request)
        try:
            row = load_session_row(app, token_digest(token))
        except OperationalError:  # the database is down: answer 503, not a stack trace
            db.session.rollback()
            return UnavailableSession()
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
            anonymous = self._anonymous(app, request)
            anonymous.drop_token_cookie = True  # it names a row that no longer serves
            return anonymous
        return ServerSession(
            dict(row.data or {}),
            token=token,
            last_seen_at=row.last_seen_at,
            created_at=row.created_at,
            account=row.account,
        )

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, ServerSession) or isinstance(session, NullSession):
            return
        try:
            self._save(app, session, response)
        except OperationalError:  # the database went away during the request: keep the answer
            db.session.rollback()

    def _save(self, app: Flask, session: ServerSession, response: Response) -> None:
        # Views commit what they mean to keep; nothing half-done may ride along on this commit.
        # A request that never used the SQLAlchemy session (the row is read on an engine of
        # its own) has nothing to roll back: making a session only to roll it back cost more
        # than the rest of this method.
        if db.session.registry.has():
            db.session.rollback()
        now = utcnow()

        if session.token and (session.regenerate_requested or not session):
            db.session.execute(
                update(AuthSession)
                .where(AuthSession.id == token_digest(session.token))
                .values(revoked_at=now, expires_at=now, data={})
            )
            db.session.commit()
            if not session:
                self._delete_cookie(app, response)
                return
            session.token = None
            session.drop_token_cookie = True

        if session.token is None and not needs_row(session):
            if session.drop_token_cookie:
                self._delete_cookie(app, response)
            self._save_anonymous(app, session, response)
            return

        if session.token and not session.modified:
            if session.last_seen_at is None or now - session.last_seen_at >= TOUCH_INTERVAL:
                db.session.execute(
                    update(AuthSession)
                    .where(AuthSession.id == token_digest(session.token))
                    .values(last_seen_at=now)
                )
                db.session.commit()
            return

        user_id = session.get("_user_id")
        if session.token is None:
            session.token = secrets.token_urlsafe(32)
            hours = app.config["SESSION_ABSOLUTE_HOURS" if user_id else "ANONYMOUS_SESSION_HOURS"]
            row = AuthSession(
                id=token_digest(session.token),
                created_at=now,
                expires_at=now + timedelta(hours=hours),
                ip_address=_client_address(),
                user_agent=_user_agent(),
            )
            db.session.add(row)
            if request_has_cookie(self.anonymous_cookie_name(app)):
                self._delete_cookie(app, response, self.anonymous_cookie_name(app))
        else:
            row = db.session.get(AuthSession, token_digest(session.token))
            if row is None:  # revoked or pruned while this request ran
                self._delete_cookie(app, response)
                return
        row.data = dict(session)
        row.user_id = int(user_id) if user_id else None
        row.last_seen_at = now
        db.session.commit()
        response.set_cookie(
            self.get_cookie_name(app),
            session.token,
            httponly=self.get_cookie_httponly(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
            path=self.get_cookie_path(app),
            domain=self.get_cookie_domain(app),
        )

    def _save_anonymous(self, app: Flask, session: ServerSession, response: Response) -> None:
        """Keep a visitor's CSRF token and flashes in the signed cookie (no row), or drop it."""
        name = self.anonymous_cookie_name(app)
        if not session:
            if request_has_cookie(name):
                self._delete_cookie(app, response, name)
            return
        if not session.modified:
            return
        serializer = self._signer.get_signing_serializer(app)
        response.set_cookie(
            name,
            serializer.dumps(dict(session)),
            max_age=timedelta(hours=app.config["ANONYMOUS_SESSION_HOURS"]),
            httponly=True,
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
            path=self.get_cookie_path(app),
            domain=self.get_cookie_domain(app),
        )

    def _delete_cookie(self, app: Flask, response: Response, name: str | None = None) -> None:
        response.delete_cookie(
            name or self.get_cookie_name(app),
            path=self.get_cookie_path(app),
            domain=self.get_cookie_domain(app),
            secure=self.get_cookie_secure(app),
            httponly=self.get_cookie_httponly(app),
            samesite=self.get_cookie_samesite(app),
        )


def request_has_cookie(name: str) -> bool:
    from flask import request

    return name in request.cookies


def _client_address() -> str | None:
    from flask import request

    return (request.remote_addr or "")[:64] or None


def _user_agent() -> str | None:
    from flask import request

    return (request.user_agent.string or "")[:300] or None
