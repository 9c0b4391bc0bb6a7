"""Who may sign in: password check plus limits on failed attempts.

Only failures count: a clinic's staff often share one address, so successful sign-ins must
not use up the per-address allowance. The counters live in Flask-Limiter's storage (memory by
default, Redis in production through KAP_RATELIMIT_STORAGE_URI) so every worker shares them.
Wrong second-factor codes are counted the same way, per account and in the address's bucket.
"""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import RateLimitItem, parse
from sqlalchemy import delete, select, update

from kap.extensions import db, limiter
from kap.models import AuthSession, User
from kap.models.base import utcnow
from kap.services import audit
from kap.services.errors import Invalid, InvalidCredentials, RateLimited
from kap.services.password_rules import password_problems
from kap.services.passwords import check_password


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding space."""
    return (email or "").strip().lower()


def _buckets(email: str, client_address: str) -> list[tuple[RateLimitItem, str, str]]:
    """The two failure counters a sign-in attempt touches: its account and its address."""
    config = current_app.config
    return [
        (parse(config["SIGNIN_ACCOUNT_FAILURE_LIMIT"]), "signin-account", email),
        (parse(config["SIGNIN_CLIENT_FAILURE_LIMIT"]), "signin-client", client_address or "-"),
    ]


def _code_buckets(user: User, client_address: str) -> list[tuple[RateLimitItem, str, str]]:
    """The counters a second-factor code attempt touches: its account and its address."""
    limit = current_app.config.get("SECOND_FACTOR_FAILURE_LIMIT", "5 per 15 minutes")
    return [
        (parse(limit), "second-factor-account", str(user.id)),
        _buckets("", client_address)[1],
    ]


def _ensure_within(buckets: list[tuple[RateLimitItem, str, str]], what: str) -> None:
    strategy = limiter.limiter
    for item, scope, key in buckets:
        if not strategy.test(item, scope, key):
            reset_at = strategy.get_window_stats(item, scope, key).reset_time
            wait = max(1, math.ceil(reset_at - time.time()))
            minutes = math.ceil(wait / 60)
            raise RateLimited(
                f"Too many failed {what}. "
                f"Please wait {minutes} minute{'s' if minutes != 1 else ''} and try again.",
                retry_after=wait,
            )


def _ensure_not_limited(email: str, client_address: str) -> None:
    _ensure_within(_buckets(email, client_address), "sign-in attempts")


def _record_failure(email: str, client_address: str) -> None:
    for item, scope, key in _buckets(email, client_address):
        limiter.limiter.hit(item, scope, key)


def ensure_codes_not_limited(user: User, client_address: str) -> None:
    """RateLimited once ``user`` (or the address) has too many recent wrong codes."""
    _ensure_within(_code_buckets(user, client_address), "code attempts")


def record_code_failure(user: User, client_address: str) -> None:
    """Count one wrong second-factor or recovery code against the account and the address."""
    for item, scope, key in _code_buckets(user, client_address):
        limiter.limiter.hit(item, scope, key)


def authenticate(email: str, password: str, client_address: str) -> User:
    """The active user with this email and password.

    Raises RateLimited before checking anything once the account or the address has too
    many recent failures, and InvalidCredentials (saying nothing of which part was wrong)
    when the pair does not match an active account.
    """
    email = normalize_email(email)
    _ensure_not_limited(email, client_address)
    # An email with a NUL cannot match an account (and PostgreSQL text cannot hold one).
    usable = bool(email) and "\x00" not in email
    user = db.session.scalar(select(User).where(User.email == email)) if usable else None
    password_matches = check_password(user, password or "")  # runs even for unknown emails
    if user is None or not password_matches or not user.active:
        _record_failure(email, client_address)
        # An unknown address is not recorded: people type passwords into the email field.
        audit.record(
            "signin.failure",
            actor=user,
            ip_address=client_address,
            detail="" if user is None or user.active else "deactivated account",
        )
        raise InvalidCredentials()
    db.session.commit()  # keeps a transparent rehash
    return user


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
    from kap.services.people import set_password  # people imports this module

    _ensure_not_limited(user.email, client_address)
    if not check_password(user, current or ""):
        _record_failure(user.email, client_address)
        message = "That is not your current password."
        raise Invalid(message, {"current_password": [message]})
    problems = password_problems(new or "", user.email)
    if new != confirm:
        problems.append("The two passwords do not match.")
    if problems:
        raise Invalid("Choose another password.", {"new_password": problems})
    set_password(user, new, keep_token_digest)
    audit.record("password.change", actor=user, ip_address=client_address)


def revoke_sessions(user: User, keep_token_digest: str | None = None) -> int:
    """End every session of ``user`` (but the one named), e.g. on deactivation or new password."""
    statement = (
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), data={})
    )
    if keep_token_digest:
        statement = statement.where(AuthSession.id != keep_token_digest)
    count = db.session.execute(statement).rowcount
    db.session.commit()
    return count


def prune_expired_sessions() -> int:
    """Delete session rows that expired or were revoked (kept no longer than needed)."""
    now = utcnow()
    count = db.session.execute(
        delete(AuthSession).where(
            (AuthSession.expires_at < now) | (AuthSession.revoked_at.is_not(None))
        )
    ).rowcount
    db.session.commit()
    return count
