"""Who may sign in: password check plus limits on failed attempts.

Only failures count: a clinic's staff often share one address, so successful sign-ins must
not use up the per-address allowance. Every attempt reserves its place before it is checked
(kap/services/auth/attempt_limits.py), so simultaneous guesses cannot outrun the count. The
counters live in Flask-Limiter's storage (memory by default, Redis in production through
KAP_RATELIMIT_STORAGE_URI) so every worker shares them. Wrong second-factor codes are counted
the same way, per account and in the address's counter.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, select, update

from kap.extensions import db
from kap.metrics import count_signin_refusal
from kap.models import AuthSession, User
from kap.models.base import utcnow
from kap.services import audit
from kap.services.auth.attempt_limits import Counter, Reservation, reserve
from kap.services.auth.password_rules import password_problems
from kap.services.auth.passwords import check_password
from kap.services.errors import Invalid, InvalidCredentials, RateLimited
from kap.services.row_counts import execute_counting_rows
from kap.services.unit_of_work import use_case

#: Rows removed at most per sign-in (the rest go at the next one, or with the CLI command).
PRUNE_BATCH = 200


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding space."""
    return (email or "").strip().lower()


def _signin_counters(email: str, client_address: str) -> list[Counter]:
    """The failure counters a password attempt takes a place in: its address, its account.

    The address comes first, so an address already over its limit charges no account.
    """
    config = current_app.config
    return [
        Counter.of(config["SIGNIN_CLIENT_FAILURE_LIMIT"], "signin-client", client_address),
        Counter.of(config["SIGNIN_ACCOUNT_FAILURE_LIMIT"], "signin-account", email),
    ]


def reserve_code_attempt(user: User, client_address: str) -> Reservation:
    """A place for one second-factor or recovery code attempt: its address and its account.

    Raises RateLimited (nothing checked) once either is full; release it when the code is right.
    """
    limit = current_app.config.get("SECOND_FACTOR_FAILURE_LIMIT", "5 per 15 minutes")
    counters = [
        _signin_counters("", client_address)[0],
        Counter.of(limit, "second-factor-account", str(user.id)),
    ]
    return reserve(counters, "code attempts")


@use_case(commit_despite=(InvalidCredentials,))
def authenticate(email: str, password: str, client_address: str) -> User:
    """The active user with this email and password.

    The attempt first takes its place in the address's and the account's failure counters
    (atomically): RateLimited, before anything is checked, once either is full;
    InvalidCredentials (saying nothing of which part was wrong) when the pair does not match
    an active account, the places staying counted; a right pair gives them back.
    """
    email = normalize_email(email)
    try:
        attempt = reserve(_signin_counters(email, client_address), "sign-in attempts")
    except RateLimited:
        count_signin_refusal("password", "limited")
        raise
    # An email with a NUL cannot match an account (and PostgreSQL text cannot hold one).
    usable = bool(email) and "\x00" not in email
    user = db.session.scalar(select(User).where(User.email == email)) if usable else None
    password_matches = check_password(user, password or "")  # runs even for unknown emails
    if user is None or not password_matches or not user.active:
        # The attempt's places stay taken: it counts as a failure.
        # An unknown address is not recorded: people type passwords into the email field.
        audit.record(
            "signin.failure",
            actor=user,
            ip_address=client_address,
            detail="" if user is None or user.active else "deactivated account",
        )
        count_signin_refusal("password", "failure")
        raise InvalidCredentials()
    attempt.release()
    return user  # committed with a transparent rehash of the password


@use_case
def change_password(
    user: User,
    current: str,
    new: str,
    confirm: str,
    client_address: str,
    keep_token_digest: str | None,
) -> None:
    """Change ``user``'s own password after checking the current one; ends their other sessions.

    A wrong current password counts as a failed sign-in (same limits), so a session left open
    on a shared computer cannot be used to guess the password.
    """
    from kap.services.people.accounts import set_password  # people imports this module

    attempt = reserve(_signin_counters(user.email, client_address), "sign-in attempts")
    if not check_password(user, current or ""):
        message = "That is not your current password."
        raise Invalid(message, {"current_password": [message]})
    attempt.release()
    problems = password_problems(new or "", user.email, user.name)
    if new != confirm:
        problems.append("The two passwords do not match.")
    if problems:
        raise Invalid("Choose another password.", {"new_password": problems})
    set_password(user, new, keep_token_digest)
    audit.record("password.change", actor=user, ip_address=client_address)


@use_case
def record_sign_in(user: User) -> None:
    """Audit a completed sign-in, and remove a bounded batch of expired session rows."""
    prune_expired_sessions()
    audit.record("signin.success", actor=user)


@use_case
def record_timeout(user: User, reason: str) -> None:
    """Audit a sign-out forced by a timeout (``reason``: "idle" or "absolute")."""
    audit.record("signin.timeout", actor=user, detail=reason)


@use_case
def revoke_sessions(user: User, keep_token_digest: str | None = None) -> int:
    """End every session of ``user`` (but the one named), e.g. on deactivation or new password."""
    statement = (
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), expires_at=utcnow(), data={})
    )
    if keep_token_digest:
        statement = statement.where(AuthSession.id != keep_token_digest)
    return execute_counting_rows(statement)


@use_case
def prune_expired_sessions(batch: int | None = PRUNE_BATCH) -> int:
    """Delete session rows that are no longer usable; returns how many.

    On the sign-in path (``batch`` rows at most) only rows past their expiry go, found through
    the ``expires_at`` index, so the work is bounded whatever the table holds: revoking a
    session sets its expiry to the moment of revocation for exactly this reason. ``batch=None``
    (``flask prune-sessions``) also removes rows revoked before that rule existed.
    """
    now = utcnow()
    if batch is None:
        unusable = (AuthSession.expires_at < now) | (AuthSession.revoked_at.is_not(None))
        count = execute_counting_rows(delete(AuthSession).where(unusable))
    else:
        expired = select(AuthSession.id).where(AuthSession.expires_at < now).limit(batch)
        count = execute_counting_rows(delete(AuthSession).where(AuthSession.id.in_(expired)))
    return count
