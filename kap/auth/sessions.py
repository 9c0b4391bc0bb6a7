"""Flask-Login wiring over the server-side session: start, end, time out and load a user.

Between a correct password and a correct second-factor code the session holds only a
*pending* marker (who, since when, where to go next): Flask-Login sees nobody signed in.

Timeouts are enforced here, on the server, before every request: a signed-in session ends
after ``IDLE_MINUTES_CLINICIAN`` (15) or ``IDLE_MINUTES_PATIENT`` (30) minutes without a
request — never while the patient's session mode runs (bounded by how long the session's
template can last) — and after ``SESSION_ABSOLUTE_HOURS``
whatever happens. ``static/js/idle.js`` warns a minute before the idle limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, func, select

from kap.crypto import DecryptionError, decrypt, encrypt
from kap.errors import error_response, wants_json
from kap.extensions import db, login_manager
from kap.models import PlaylistTrack, SessionStatus, TemplateVersion, TreatmentSession, User
from kap.models.base import utcnow
from kap.server_session import TOUCH_INTERVAL, NullSession, ServerSession, token_digest
from kap.services import audit
from kap.services.second_factor import is_enabled, is_mandatory
from kap.services.signin import prune_expired_sessions

PENDING_KEY = "_pending_sign_in"
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
        "favicon",
        "ops.healthz",
        "ops.readyz",
    }
)


def init_app(app: Flask) -> None:
    """Configure Flask-Login, the timeout hook and the idle warning for this app."""
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    # Mobile networks change address often; the revocable server session is the protection.
    login_manager.session_protection = None
    app.before_request(enforce_session_limits)
    app.context_processor(lambda: {"idle_warning": idle_warning})


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The signed-in user of this session, if still active."""
    user = db.session.get(User, int(user_id))
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
    audit.record("signin.success", actor=user)
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
    user = db.session.get(User, marker.get("user_id"))
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


def idle_limit(user: User) -> timedelta:
    """How long ``user``'s session may stay without a request."""
    config = current_app.config
    if user.is_patient:
        return timedelta(minutes=config.get("IDLE_MINUTES_PATIENT", 30))
    return timedelta(minutes=config.get("IDLE_MINUTES_CLINICIAN", 15))


#: Past the template's own length, how long a running session mode still keeps a patient
#: from idle sign-out (a slow downtime, a late tap on Finish).
SESSION_MODE_GRACE = timedelta(minutes=30)


def session_mode_running(user: User, now=None) -> bool:
    """True while one of the patient's sessions is in its session or downtime phase, and no
    longer than its template can last: the music (every track end to end), the downtime and
    the observation, plus ``SESSION_MODE_GRACE``. A session left 'running' (a phone that
    never sent Finish) does not keep the patient signed in for hours."""
    if not user.is_patient:
        return False
    row = db.session.execute(_running_session_statement(), {"patient_id": user.id}).first()
    if row is None or row.session_started_at is None:
        return False
    longest = timedelta(
        seconds=float(row.music_seconds or 0),
        minutes=(row.downtime_minutes or 0) + (row.observation_minutes or 0),
    )
    return (now or utcnow()) < row.session_started_at + longest + SESSION_MODE_GRACE


@cache
def _running_session_statement():
    """Built once: asked on every patient page (for the idle warning). One statement: the
    latest running session's start and its template's lengths."""
    running = (SessionStatus.SESSION.value, SessionStatus.DOWNTIME.value)
    music = (
        select(func.coalesce(func.sum(PlaylistTrack.duration_seconds), 0))
        .where(PlaylistTrack.version_id == TemplateVersion.id)
        .scalar_subquery()
    )
    return (
        select(
            TreatmentSession.session_started_at,
            TemplateVersion.downtime_minutes,
            TemplateVersion.observation_minutes,
            music.label("music_seconds"),
        )
        .join(TemplateVersion, TemplateVersion.id == TreatmentSession.template_version_id)
        .where(
            TreatmentSession.patient_id == bindparam("patient_id"),
            TreatmentSession.status.in_(running),
        )
        .order_by(TreatmentSession.session_started_at.desc())
        .limit(1)
    )


def _timed_out(user: User) -> str | None:
    """'absolute' or 'idle' when this session has run out, else None."""
    now = utcnow()
    absolute = timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"])
    if session.created_at is not None and now - session.created_at >= absolute:
        return "absolute"
    last_seen = session.last_seen_at
    if (
        last_seen is not None
        and now - last_seen >= idle_limit(user)
        and not session_mode_running(user)
    ):
        return "idle"
    return None


def enforce_session_limits():
    """Before each request: end timed-out sessions; send clinicians who must enrol to do so."""
    if (
        request.endpoint == "static"
        or not isinstance(session, ServerSession)
        or isinstance(session, NullSession)
        or not session.get("_user_id")
        or not current_user.is_authenticated
    ):
        return None
    reason = _timed_out(current_user)
    if reason:
        return _sign_out_for_timeout(current_user, reason)
    if request.headers.get(PASSIVE_HEADER):
        # Checked above, but not activity: pretend the last-seen time was just written, so
        # the session interface leaves it where the person's last real request put it.
        session.last_seen_at = utcnow()
    user = current_user
    if is_mandatory(user) and not is_enabled(user) and request.endpoint not in ENROLMENT_ENDPOINTS:
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
    audit.record("signin.timeout", actor=user, ip_address=request.remote_addr or "", detail=reason)
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
    """What static/js/idle.js needs on this page, or None where it must not run.

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
