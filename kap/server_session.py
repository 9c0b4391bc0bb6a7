"""A Flask session kept in the database, so that signing out really ends it.

Flask's default session lives in a signed cookie: a copy taken before sign-out stays valid.
Here the cookie carries only a random token; the data lives in an ``auth_sessions`` row keyed
by the token's SHA-256. Revoking the row ends the session whatever the browser still holds.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import CallbackDict

from kap.extensions import db
from kap.models import AuthSession
from kap.models.base import utcnow

#: How often a quiet session's last-seen time is written (one write a minute, not per request).
TOUCH_INTERVAL = timedelta(seconds=60)


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
        row: AuthSession | None = None,
    ) -> None:
        def on_update(session: ServerSession) -> None:
            session.modified = True

        super().__init__(initial or {}, on_update)
        self.token = token
        self.last_seen_at = last_seen_at
        self.created_at = created_at
        # Held for the request so the user loaded with it stays in SQLAlchemy's (weak)
        # identity map: Flask-Login's user loader then finds it without another query.
        self._row = row
        self.modified = False
        self.regenerate_requested = False

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

    Empty and never saved; ``kap.errors`` answers such requests with a 503 page.
    """


class ServerSessionInterface(SessionInterface):
    """Loads and saves ``ServerSession`` objects through the app's SQLAlchemy session."""

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        if request.endpoint == "static":
            return NullSession()
        token = request.cookies.get(self.get_cookie_name(app))
        if not token or len(token) > 128:
            return ServerSession()
        try:
            row = db.session.get(
                AuthSession, token_digest(token), options=[joinedload(AuthSession.user)]
            )
        except OperationalError:  # the database is down: answer 503, not a stack trace
            db.session.rollback()
            return UnavailableSession()
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
            return ServerSession()
        return ServerSession(
            dict(row.data or {}),
            token=token,
            last_seen_at=row.last_seen_at,
            created_at=row.created_at,
            row=row,
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
        db.session.rollback()
        now = utcnow()

        if session.token and (session.regenerate_requested or not session):
            db.session.execute(
                update(AuthSession)
                .where(AuthSession.id == token_digest(session.token))
                .values(revoked_at=now, data={})
            )
            db.session.commit()
            if not session:
                self._delete_cookie(app, response)
                return
            session.token = None

        if not session:
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

    def _delete_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(
            self.get_cookie_name(app),
            path=self.get_cookie_path(app),
            domain=self.get_cookie_domain(app),
            secure=self.get_cookie_secure(app),
            httponly=self.get_cookie_httponly(app),
            samesite=self.get_cookie_samesite(app),
        )


def _client_address() -> str | None:
    from flask import request

    return (request.remote_addr or "")[:64] or None


def _user_agent() -> str | None:
    from flask import request

    return (request.user_agent.string or "")[:300] or None
