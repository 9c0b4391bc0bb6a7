"""Sign-in with Flask-Login over the server-side session: start, end, load the user, and the
state in between.

Between a correct password and a correct second-factor code the session holds only a
*pending* marker (who, since when, where to go next): Flask-Login sees nobody signed in.
Timeouts are in ``kap.auth.timeouts``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import login_user, logout_user

from kap.crypto import DecryptionError, decrypt, encrypt
from kap.extensions import login_manager
from kap.models import User
from kap.models.base import utcnow
from kap.services.auth.signin import record_sign_in
from kap.services.people.accounts import user_by_id
from kap.web.errors import error_response, wants_json
from kap.web.server_session import ServerSession, token_digest

PENDING_KEY = "_pending_sign_in"


def init_app(app: Flask) -> None:
    """Configure Flask-Login for this app (after ``login_manager.init_app``)."""
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    # Mobile networks change address often; the revocable server session is the protection.
    login_manager.session_protection = None
    # Flask-Login's after-request hook only sets or clears its remember-me cookie, which this
    # app never issues: a sign-in lasts as long as its server-side session (``login_user``
    # without ``remember``; REMEMBER_COOKIE_REFRESH_EACH_REQUEST off). On every request the
    # hook read the session through its proxy three times to find nothing to do.
    app.after_request_funcs[None].remove(login_manager._update_remember_cookie)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The signed-in user of this session, if still active."""
    user = user_by_id(int(user_id))
    return user if user is not None and user.active else None


@login_manager.unauthorized_handler
def unauthorized():
    """Pages redirect to sign-in (keeping where the person was going); the API answers 401."""
    if wants_json():
        return error_response(401)
    flash(login_manager.login_message, "info")
    return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))


def start_session(user: User) -> None:
    """Sign ``user`` in on a fresh session id (no session fixation); audited."""
    _fresh_session()
    login_user(user)
    record_sign_in(user)


def end_session() -> None:
    """Sign out: forget the user and revoke this session's row."""
    logout_user()
    if isinstance(session, ServerSession):
        session.end()


def current_token_digest() -> str | None:
    """The row id of this request's session (to keep it when revoking the others)."""
    token = getattr(session, "token", None)
    return token_digest(token) if token else None


def _fresh_session() -> None:
    if isinstance(session, ServerSession):
        session.clear()
        session.regenerate()
    g.pop("csrf_token", None)  # Flask-WTF caches the old session's token here


# --- Between password and code ---------------------------------------------------------------


@dataclass(frozen=True)
class PendingSignIn:
    """Someone who gave the right password and still owes a code (or must set one up)."""

    user: User
    next_path: str
    enrol: bool


def begin_pending_sign_in(user: User, next_path: str | None, *, enrol: bool) -> None:
    """Remember ``user`` on a fresh session id until the second step is done (or expires)."""
    _fresh_session()
    session[PENDING_KEY] = {
        "user_id": user.id,
        "at": int(utcnow().timestamp()),
        "next": (next_path or "")[:2000],
        "enrol": enrol,
    }


def pending_sign_in() -> PendingSignIn | None:
    """This session's pending sign-in, unless it is older than the allowed minutes."""
    marker = session.get(PENDING_KEY)
    if not isinstance(marker, dict):
        return None
    minutes = current_app.config.get("SECOND_FACTOR_PENDING_MINUTES", 10)
    if utcnow().timestamp() - marker.get("at", 0) > minutes * 60:
        session.pop(PENDING_KEY, None)
        return None
    user = user_by_id(marker.get("user_id"))
    changed = user.password_changed_at if user is not None else None
    if user is None or not user.active or (changed and changed.timestamp() > marker["at"] + 1):
        session.pop(PENDING_KEY, None)  # gone, deactivated, or the password changed since
        return None
    return PendingSignIn(user, marker.get("next", ""), bool(marker.get("enrol")))


def clear_pending_sign_in() -> None:
    """Forget a pending sign-in (cancelled, or finished without start_session)."""
    session.pop(PENDING_KEY, None)


def seal_in_session(key: str, user: User, text: str) -> None:
    """Keep ``text`` in the session encrypted (session rows are plain JSON in the database).

    Used for a TOTP secret before it is confirmed and for recovery codes until shown once.
    """
    session[key] = {"user_id": user.id, "sealed": encrypt(text, *_sealed_place(key, user))}


def unseal_from_session(key: str, user: User, *, pop: bool = False) -> str | None:
    """The text kept by seal_in_session for ``user``, or None."""
    stored = session.pop(key, None) if pop else session.get(key)
    if not isinstance(stored, dict) or stored.get("user_id") != user.id:
        return None
    try:
        return decrypt(stored.get("sealed", ""), *_sealed_place(key, user))
    except DecryptionError:
        return None


def _sealed_place(key: str, user: User) -> tuple:
    return (user.clinic_id, "auth_sessions", user.id, key)


# --- Timeouts ----------------------------------------------------------------------------------
