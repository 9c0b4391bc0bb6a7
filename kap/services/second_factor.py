"""The second factor: TOTP codes from an authenticator app (RFC 6238) and recovery codes.

A code is accepted within one 30-second step of the server's clock either way, and only
once: the last accepted step is kept and any step at or before it is refused. Recovery
codes are shown once, stored as argon2id hashes and each works once. Wrong codes count
against the same kind of failure limits as passwords (kap.services.signin). Turning the
factor on, changing it or turning it off ends the person's other sessions. Nothing secret
(a code, the TOTP secret) ever reaches the audit log.
"""

from __future__ import annotations

import enum
import hmac
import re
import secrets
from datetime import datetime

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update

from kap.extensions import db
from kap.models import RecoveryCode, User
from kap.models.base import utcnow
from kap.services import audit
from kap.services.errors import Conflict, DomainError
from kap.services.passwords import hash_password
from kap.services.signin import ensure_codes_not_limited, record_code_failure, revoke_sessions

ISSUER = "KAP Companion"
STEP_SECONDS = 30
#: Steps either side of the server's clock that still count (phones drift a little).
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
#: Crockford's base32 (no i, l, o, u): 10 characters are 50 random bits, far beyond online
#: guessing under the failure limit, and argon2id makes an offline search of a leaked table
#: pointless.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_LENGTH = 10


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


def is_enabled(user: User) -> bool:
    """True when ``user`` has a confirmed authenticator."""
    return user.totp_enabled_at is not None and bool(user.totp_secret_encrypted)


def is_mandatory(user: User) -> bool:
    """True when the clinic makes ``user`` use a second factor (clinicians, when turned on)."""
    return user.is_clinician and bool(user.clinic.require_clinician_second_factor)


def requirement(user: User) -> Requirement:
    """What ``user`` must do after their password: nothing, enter a code, or set one up."""
    if is_enabled(user):
        return Requirement.CODE
    return Requirement.ENROL if is_mandatory(user) else Requirement.NONE


# --- TOTP ---------------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh random TOTP secret (160 bits, base32)."""
    return pyotp.random_base32(32)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, interval=STEP_SECONDS)


def normalize_code(text: str | None) -> str:
    """The digits of a typed code: spaces and dashes dropped ('123 456' is '123456')."""
    return re.sub(r"[\s-]", "", text or "")


def matching_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (within DRIFT_STEPS of ``at``), if not used before.

    Steps at or before ``last_step`` are refused, so a code (or an older one) works once.
    """
    code = normalize_code(code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = _totp(secret)
    now_step = totp.timecode(at)
    found = None
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        # Compare every candidate (no early exit) so timing says nothing about which matched.
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def _accept_totp(user: User, code: str) -> bool:
    """Check a code against ``user``'s authenticator and mark its step used (atomically)."""
    if not is_enabled(user):
        return False
    step = matching_step(user.totp_secret, code, utcnow(), user.totp_last_step)
    if step is None:
        return False
    # Compare-and-set: two requests racing with the same code cannot both win.
    claimed = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
    ).rowcount
    db.session.commit()
    db.session.refresh(user)
    return claimed == 1


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return _totp(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """``uri`` as an inline SVG QR code: black on white, no script, no style attributes.

    segno writes only presentation attributes (fill, stroke), which a strict CSP allows.
    """
    svg = segno.make(uri, error="m", micro=False).svg_inline(
        scale=1,
        dark="#000",
        light="#fff",
        border=4,
        svgclass="qr-code",
        lineclass=None,
        omitsize=True,  # a viewBox instead: the code scales to the width it is given
    )
    if "<script" in svg or "style=" in svg or not svg.startswith("<svg "):
        raise RuntimeError("unexpected QR code markup")
    label = "QR code for your authenticator app; the key is also written out below"
    attributes = f'role="img" aria-label="{label}" width="100%" shape-rendering="crispEdges"'
    return Markup(svg.replace("<svg ", f"<svg {attributes} ", 1))  # noqa: S704 - no input text


def format_secret(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- Recovery codes -------------------------------------------------------------------------


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_recovery_code(text: str | None) -> str:
    """A typed recovery code as stored: lower case, no spaces or dashes, i/l read as 1, o as 0."""
    cleaned = re.sub(r"[\s-]", "", (text or "").lower())
    return cleaned.translate(str.maketrans("ilo", "110"))


def replace_recovery_codes(user: User) -> list[str]:
    """Forget ``user``'s recovery codes and make ten new ones (returned once, stored hashed)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(
            RecoveryCode(user_id=user.id, code_hash=hash_password(normalize_recovery_code(code)))
        )
    return codes


def recovery_codes_left(user: User) -> int:
    """How many of ``user``'s recovery codes are still unused."""
    return db.session.scalar(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )


def _accept_recovery_code(user: User, text: str) -> bool:
    """Use one of ``user``'s unused recovery codes (atomically: each works once)."""
    code = normalize_recovery_code(text)
    if len(code) != RECOVERY_LENGTH or set(code) - set(RECOVERY_ALPHABET):
        return False
    unused = db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    hasher = PasswordHasher()  # verify() reads the parameters from each hash
    for row in unused:
        try:
            hasher.verify(row.code_hash, code)
        except (VerificationError, InvalidHashError):
            continue
        used = db.session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
        ).rowcount
        db.session.commit()
        return used == 1
    return False


# --- What people do -------------------------------------------------------------------------


def _check(user: User, code: str | None, recovery_code: str | None, client_address: str) -> str:
    """Which kind of code was accepted ('totp' or 'recovery_code'); failures are counted.

    Raises RateLimited before checking anything once the account has too many failures.
    """
    ensure_codes_not_limited(user, client_address)
    if code and _accept_totp(user, code):
        return "totp"
    if recovery_code and _accept_recovery_code(user, recovery_code):
        return "recovery_code"
    record_code_failure(user, client_address)
    raise InvalidSecondFactor()


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
    ensure_codes_not_limited(user, client_address)
    step = matching_step(secret, code, utcnow(), None)
    if step is None:
        record_code_failure(user, client_address)
        raise InvalidSecondFactor(
            "That code did not match. Check the app shows KAP Companion and try the newest code.",
            field="code",
        )
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = replace_recovery_codes(user)
    db.session.commit()
    revoke_sessions(user, keep_token_digest)
    audit.record("second_factor.enroll", actor=user, ip_address=client_address)
    return codes


def new_recovery_codes(
    user: User, current: str | None, *, client_address: str, keep_token_digest: str | None
) -> list[str]:
    """Replace ``user``'s recovery codes after checking the factor; ends other sessions."""
    if not is_enabled(user):
        raise Conflict("Set up an authenticator app first.")
    _check_current(user, current, client_address)
    codes = replace_recovery_codes(user)
    db.session.commit()
    revoke_sessions(user, keep_token_digest)
    audit.record("second_factor.recovery_codes_replaced", actor=user, ip_address=client_address)
    return codes


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
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.commit()
    revoke_sessions(user, keep_token_digest)
    audit.record("second_factor.disable", actor=user, ip_address=client_address)
