"""The second factor: TOTP codes from an authenticator app (RFC 6238) and recovery codes.

A code is accepted within one 30-second step of the server's clock either way, and only
once: the last accepted step is kept and any step at or before it is refused. Recovery
codes are shown once, stored as argon2id hashes and each works once. Wrong codes count
against the same kind of failure limits as passwords (kap.services.auth.signin). Turning the
factor on, changing it or turning it off ends the person's other sessions. Nothing secret
(a code, the TOTP secret) ever reaches the audit log.

The code arithmetic is in ``totp``, the recovery codes themselves in ``recovery_codes``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol

from sqlalchemy import or_, update

from kap.extensions import db
from kap.metrics import count_signin_refusal
from kap.models import User
from kap.models.base import utcnow
from kap.services import audit
from kap.services.auth.recovery_codes import (
    accept_recovery_code,
    forget_recovery_codes,
    replace_recovery_codes,
)
from kap.services.auth.signin import reserve_code_attempt, revoke_sessions
from kap.services.auth.totp import matching_step
from kap.services.errors import Conflict, DomainError, RateLimited
from kap.services.row_counts import execute_counting_rows
from kap.services.unit_of_work import use_case


class SecondFactorRequired(DomainError):
    """The password was right, but this account also needs a code (API: send ``otp``)."""

    status = 401
    code = "second_factor_required"

    def __init__(self) -> None:
        super().__init__(
            "Enter the code from your authenticator app (otp) or a recovery code (recovery_code)."
        )


class InvalidSecondFactor(DomainError):
    """The code was wrong, expired, already used, or not a code of this account."""

    status = 401
    code = "invalid_second_factor"

    def __init__(
        self, message: str = "That code did not work. Check it and try again.", field: str = ""
    ) -> None:
        super().__init__(message, {field: [message]} if field else None)


class EnrollmentRequired(DomainError):
    """The clinic requires a second factor and this clinician has not set one up yet."""

    status = 401
    code = "second_factor_enrollment_required"

    def __init__(self) -> None:
        super().__init__(
            "Your clinic requires two-step sign-in. Sign in on the web once to set up an "
            "authenticator app."
        )


class Requirement(enum.Enum):
    """What a sign-in needs after a correct password."""

    NONE = "none"
    CODE = "code"
    ENROL = "enrol"


class _ClinicRule(Protocol):
    @property
    def require_clinician_second_factor(self) -> bool: ...


class SecondFactorSubject(Protocol):
    """What the two rules below read of a user: a ``User``, or the facts every request reads
    with its session row (kap.web.session_lookup.SessionAccount) without loading one."""

    @property
    def totp_enabled_at(self) -> datetime | None: ...
    @property
    def totp_secret_encrypted(self) -> str | None: ...
    @property
    def is_clinician(self) -> bool: ...
    @property
    def clinic(self) -> _ClinicRule: ...


def is_enabled(user: SecondFactorSubject) -> bool:
    """True when ``user`` has a confirmed authenticator."""
    return user.totp_enabled_at is not None and bool(user.totp_secret_encrypted)


def is_mandatory(user: SecondFactorSubject) -> bool:
    """True when the clinic makes ``user`` use a second factor (clinicians, when turned on)."""
    return user.is_clinician and bool(user.clinic.require_clinician_second_factor)


def requirement(user: User) -> Requirement:
    """What ``user`` must do after their password: nothing, enter a code, or set one up."""
    if is_enabled(user):
        return Requirement.CODE
    return Requirement.ENROL if is_mandatory(user) else Requirement.NONE


# --- Accepting a code ----------------------------------------------------------------------


def _accept_totp(user: User, code: str) -> bool:
    """Check a code against ``user``'s authenticator and mark its step used (atomically)."""
    if not is_enabled(user):
        return False
    step = matching_step(user.totp_secret, code, utcnow(), user.totp_last_step)
    if step is None:
        return False
    # Compare-and-set: two requests racing with the same code cannot both win.
    claimed = execute_counting_rows(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    db.session.refresh(user)
    return claimed == 1


def _check(user: User, code: str | None, recovery_code: str | None, client_address: str) -> str:
    """Which kind of code was accepted ('totp' or 'recovery_code'); failures are counted.

    Raises RateLimited before checking anything once the account has too many failures (the
    attempt reserves its place first, so simultaneous guesses cannot outrun the count).
    """
    try:
        attempt = reserve_code_attempt(user, client_address)
    except RateLimited:
        count_signin_refusal("second_factor", "limited")
        raise
    if code and _accept_totp(user, code):
        attempt.release()
        return "totp"
    if recovery_code and accept_recovery_code(user, recovery_code):
        attempt.release()
        return "recovery_code"
    count_signin_refusal("second_factor", "failure")
    raise InvalidSecondFactor()  # the attempt stays counted


# --- What people do -------------------------------------------------------------------------


@use_case(commit_despite=(InvalidSecondFactor,))
def check_sign_in(
    user: User, *, code: str | None = None, recovery_code: str | None = None, client_address: str
) -> str:
    """Finish a sign-in whose password was right; returns 'totp' or 'recovery_code'.

    Raises SecondFactorRequired without a code, RateLimited after too many wrong ones and
    InvalidSecondFactor for a wrong, expired or reused code.
    """
    if not (code or recovery_code):
        raise SecondFactorRequired()
    try:
        kind = _check(user, code, recovery_code, client_address)
    except InvalidSecondFactor:
        audit.record("signin.second_factor.failure", actor=user, ip_address=client_address)
        raise
    audit.record("signin.second_factor.success", actor=user, ip_address=client_address, detail=kind)
    if kind == "recovery_code":
        audit.record("second_factor.recovery_code_used", actor=user, ip_address=client_address)
    return kind


def _check_current(user: User, current: str | None, client_address: str) -> None:
    """Before changing the factor, prove it: a current code or an unused recovery code."""
    try:
        _check(user, current, current, client_address)
    except InvalidSecondFactor as error:
        audit.record("second_factor.failure", actor=user, ip_address=client_address)
        raise InvalidSecondFactor(error.message, field="current") from None


@use_case(commit_despite=(InvalidSecondFactor,))
def enable(
    user: User,
    secret: str,
    code: str,
    *,
    current: str | None = None,
    client_address: str,
    keep_token_digest: str | None,
) -> list[str]:
    """Turn on (or replace) ``user``'s authenticator once ``code`` proves ``secret`` is set up.

    Replacing a working one also needs ``current`` (a code from it, or a recovery code).
    Returns ten new recovery codes (to show once) and ends every other session of ``user``.
    """
    if is_enabled(user):
        _check_current(user, current, client_address)
    attempt = reserve_code_attempt(user, client_address)
    step = matching_step(secret, code, utcnow(), None)
    if step is None:  # the attempt stays counted
        raise InvalidSecondFactor(
            "That code did not match. Check the app shows KAP Companion and try the newest code.",
            field="code",
        )
    attempt.release()
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = replace_recovery_codes(user)
    revoke_sessions(user, keep_token_digest)
    audit.record("second_factor.enroll", actor=user, ip_address=client_address)
    return codes


@use_case(commit_despite=(InvalidSecondFactor,))
def new_recovery_codes(
    user: User, current: str | None, *, client_address: str, keep_token_digest: str | None
) -> list[str]:
    """Replace ``user``'s recovery codes after checking the factor; ends other sessions."""
    if not is_enabled(user):
        raise Conflict("Set up an authenticator app first.")
    _check_current(user, current, client_address)
    codes = replace_recovery_codes(user)
    revoke_sessions(user, keep_token_digest)
    audit.record("second_factor.recovery_codes_replaced", actor=user, ip_address=client_address)
    return codes


@use_case(commit_despite=(InvalidSecondFactor,))
def disable(
    user: User, current: str | None, *, client_address: str, keep_token_digest: str | None
) -> None:
    """Turn ``user``'s second factor off (not allowed where the clinic requires it)."""
    if not is_enabled(user):
        raise Conflict("Two-step sign-in is already off.")
    if is_mandatory(user):
        raise Conflict("Your clinic requires two-step sign-in, so it cannot be turned off.")
    _check_current(user, current, client_address)
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    forget_recovery_codes(user)
    revoke_sessions(user, keep_token_digest)
    audit.record("second_factor.disable", actor=user, ip_address=client_address)
