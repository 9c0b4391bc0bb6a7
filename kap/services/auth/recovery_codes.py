"""Recovery codes: ten one-time codes for when the phone is not at hand.

Shown once, stored as argon2id hashes, and each works once (claimed atomically).
"""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update

from kap.extensions import db
from kap.models import RecoveryCode, User
from kap.models.base import utcnow
from kap.services.auth.passwords import hash_password
from kap.services.row_counts import execute_counting_rows

RECOVERY_CODE_COUNT = 10
#: Crockford's base32 (no i, l, o, u): 10 characters are 50 random bits, far beyond online
#: guessing under the failure limit, and argon2id makes an offline search of a leaked table
#: pointless.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_LENGTH = 10


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_recovery_code(text: str | None) -> str:
    """A typed recovery code as stored: lower case, no spaces or dashes, i/l read as 1, o as 0."""
    cleaned = re.sub(r"[\s-]", "", (text or "").lower())
    return cleaned.translate(str.maketrans("ilo", "110"))


def forget_recovery_codes(user: User) -> None:
    """Delete every recovery code of ``user``, used or not (the caller commits)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def replace_recovery_codes(user: User) -> list[str]:
    """Forget ``user``'s recovery codes and make ten new ones (returned once, stored hashed)."""
    forget_recovery_codes(user)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(
            RecoveryCode(user_id=user.id, code_hash=hash_password(normalize_recovery_code(code)))
        )
    return codes


def recovery_codes_left(user: User) -> int:
    """How many of ``user``'s recovery codes are still unused."""
    return db.session.execute(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    ).scalar_one()


def accept_recovery_code(user: User, text: str) -> bool:
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
        used = execute_counting_rows(
            update(RecoveryCode)
            .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
        )
        return used == 1
    return False
