"""Timeouts, enforced on the server before every request, and the idle warning.

A signed-in session ends after ``IDLE_MINUTES_CLINICIAN`` (15) or ``IDLE_MINUTES_PATIENT``
(30) minutes without a request — never while the patient's session mode runs (bounded by how
long the session's template can last) — and after ``SESSION_ABSOLUTE_HOURS`` whatever
happens. ``static/js/pages/idle.js`` warns a minute before the idle limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import current_user

from kap.auth.login import end_session
from kap.models import User
from kap.models.base import utcnow
from kap.services.auth.second_factor import is_enabled, is_mandatory
from kap.services.auth.signin import record_timeout
from kap.services.sessions.queries import session_mode_running
from kap.web.errors import error_response, wants_json
from kap.web.server_session import TOUCH_INTERVAL, NullSession, ServerSession
from kap.web.session_lookup import SessionAccount

#: Requests sending this header (background polling) are checked but do not count as activity.
PASSIVE_HEADER = "X-KAP-Passive"
#: Signing in again must work even on a session that has just timed out.
SIGN_IN_ENDPOINTS = frozenset({"auth.sign_in", "api.create_session"})
#: Where a clinician who must set up a second factor may still go.
ENROLMENT_ENDPOINTS = SIGN_IN_ENDPOINTS | frozenset(
    {
        "auth.set_up_second_factor",
        "auth.recovery_codes",
        "api.me",
        "auth.sign_out",
        "api.delete_session",
        "static",
        "main.favicon",
        "main.healthz",
        "main.readyz",
    }
)


def init_app(app: Flask) -> None:
    """The timeout hook and the idle warning for this app."""
    app.before_request(enforce_session_limits)
    app.context_processor(lambda: {"idle_warning": idle_warning})


def idle_limit(user: User | SessionAccount, config: Mapping[str, Any] | None = None) -> timedelta:
    """How long ``user``'s session may stay without a request (``config``: the app's)."""
    config = current_app.config if config is None else config
    if user.is_patient:
        return timedelta(minutes=config.get("IDLE_MINUTES_PATIENT", 30))
    return timedelta(minutes=config.get("IDLE_MINUTES_CLINICIAN", 15))


def _timed_out(
    session: ServerSession, account: SessionAccount, config: Mapping[str, Any]
) -> str | None:
    """'absolute' or 'idle' when this session has run out, else None."""
    now = utcnow()
    absolute = timedelta(hours=config["SESSION_ABSOLUTE_HOURS"])
    if session.created_at is not None and now - session.created_at >= absolute:
        return "absolute"
    last_seen = session.last_seen_at
    if (
        last_seen is not None
        and now - last_seen >= idle_limit(account, config)
        and not session_mode_running(current_user)
    ):
        return "idle"
    return None


def enforce_session_limits():
    """Before each request: end timed-out sessions; send clinicians who must enrol to do so.

    Judged on the facts read with the session row (``session.account``), so a request whose
    view never touches ``current_user`` never loads the ``User``; only signing out does.
    Runs on every request: the request and session are taken from their proxies once (each
    attribute read through a proxy costs more than the check it serves).
    """
    req = request._get_current_object()  # type: ignore[attr-defined]
    endpoint = req.endpoint
    server_session = session._get_current_object()  # type: ignore[attr-defined]
    if (
        endpoint == "static"
        or not isinstance(server_session, ServerSession)
        or isinstance(server_session, NullSession)
        or not server_session.get("_user_id")
    ):
        return None
    account = server_session.account
    # Flask-Login's rule (load_user): no user, or an inactive one, is nobody signed in.
    if account is None or not account.active or str(account.id) != str(server_session["_user_id"]):
        return None
    reason = _timed_out(server_session, account, current_app.config)
    if reason:
        return _sign_out_for_timeout(current_user, reason)
    if req.headers.get(PASSIVE_HEADER):
        # Checked above, but not activity: pretend the last-seen time was just written, so
        # the session interface leaves it where the person's last real request put it.
        server_session.last_seen_at = utcnow()
    if is_mandatory(account) and not is_enabled(account) and endpoint not in ENROLMENT_ENDPOINTS:
        if wants_json():
            return error_response(
                403,
                "Your clinic requires two-step sign-in. Set it up on the web first.",
                "second_factor_enrollment_required",
            )
        flash(
            "Your clinic requires two-step sign-in. Set up an authenticator app to go on.", "info"
        )
        return redirect(url_for("auth.set_up_second_factor"))
    return None


def _sign_out_for_timeout(user: User, reason: str):
    if reason == "idle":
        minutes = round(idle_limit(user).total_seconds() / 60)
        unit = "minute" if minutes == 1 else "minutes"
        message = f"You were signed out after {minutes} {unit} without activity."
    else:
        hours = current_app.config["SESSION_ABSOLUTE_HOURS"]
        unit = "hour" if hours == 1 else "hours"
        message = f"You were signed out: a session lasts at most {hours} {unit}."
    record_timeout(user, reason)
    end_session()
    if request.endpoint in SIGN_IN_ENDPOINTS:
        if not wants_json():
            flash(message, "info")
        return None  # already signing in again: go on, signed out
    if wants_json():
        return error_response(401, f"{message} Please sign in again.", "session_expired")
    flash(message, "info")
    next_path = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.sign_in", next=next_path))


def idle_warning() -> dict | None:
    """What static/js/pages/idle.js needs on this page, or None where it must not run.

    Not on session mode (nor any page while it runs), and not for anyone signed out. The
    seconds left count from the last-seen time the server will hold after this response
    (it is written at most once a minute), so the warning is never late.
    """
    if not current_user.is_authenticated or not isinstance(session, ServerSession):
        return None
    if request.endpoint == "patient.session_mode" or session_mode_running(current_user):
        return None
    limit = idle_limit(current_user)
    now = utcnow()
    last_seen = session.last_seen_at
    counted_from = last_seen if last_seen and now - last_seen < TOUCH_INTERVAL else now
    remaining = max(0, int((counted_from + limit - now).total_seconds()))
    next_path = request.full_path.rstrip("?") if request.method == "GET" else None
    return {
        "limit_seconds": int(limit.total_seconds()),
        "remaining_seconds": remaining,
        "ping_url": url_for("api.me"),
        "signin_url": url_for("auth.sign_in", next=next_path),
        "scope": current_user.id,
    }
