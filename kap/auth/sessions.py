"""Flask-Login wiring over the server-side session: start, end and load a signed-in user."""

from __future__ import annotations

from flask import Flask, g, request, session, url_for
from flask_login import login_user, logout_user

from kap.errors import error_response, wants_json
from kap.extensions import db, login_manager
from kap.models import User
from kap.server_session import ServerSession, token_digest
from kap.services.signin import prune_expired_sessions


def init_app(app: Flask) -> None:
    """Configure Flask-Login for this app."""
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    # Mobile networks change address often; the revocable server session is the protection.
    login_manager.session_protection = None


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The signed-in user of this session, if still active."""
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


@login_manager.unauthorized_handler
def unauthorized():
    """Pages redirect to sign-in (keeping where the person was going); the API answers 401."""
    from flask import flash, redirect

    if wants_json():
        return error_response(401)
    flash(login_manager.login_message, "info")
    return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))


def start_session(user: User) -> None:
    """Sign ``user`` in on a fresh session id (no session fixation)."""
    if isinstance(session, ServerSession):
        session.clear()
        session.regenerate()
    g.pop("csrf_token", None)  # Flask-WTF caches the old session's token here
    login_user(user)
    prune_expired_sessions()


def end_session() -> None:
    """Sign out: forget the user and revoke this session's row."""
    logout_user()
    if isinstance(session, ServerSession):
        session.end()


def current_token_digest() -> str | None:
    """The row id of this request's session (to keep it when revoking the others)."""
    token = getattr(session, "token", None)
    return token_digest(token) if token else None
