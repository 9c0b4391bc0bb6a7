"""Password hashing with argon2id (argon2-cffi), tuned from the app config."""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from kap.extensions import db
from kap.models import User


def _hasher() -> PasswordHasher:
    hasher = current_app.extensions.get("kap_password_hasher")
    if hasher is None:
        config = current_app.config
        hasher = PasswordHasher(
            time_cost=config["ARGON2_TIME_COST"],
            memory_cost=config["ARGON2_MEMORY_COST"],
            parallelism=config["ARGON2_PARALLELISM"],
            type=Type.ID,
        )
        current_app.extensions["kap_password_hasher"] = hasher
    return hasher


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher().hash(password)


#: Verified when the email is unknown, so the answer takes as long either way.
_DUMMY_HASH: dict[str, str] = {}


def check_password(user: User | None, password: str) -> bool:
    """True when ``password`` is ``user``'s. Rehashes transparently when parameters changed."""
    hasher = _hasher()
    if user is None or not user.password_hash:
        key = repr(hasher)
        if key not in _DUMMY_HASH:
            _DUMMY_HASH[key] = hasher.hash("not-a-real-password")
        with contextlib.suppress(VerificationError):
            hasher.verify(_DUMMY_HASH[key], password)
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        _upgrade_hash(user, hasher.hash(password))
    return True


def _upgrade_hash(user: User, new_hash: str) -> None:
    """Store ``new_hash`` only if the stored hash is still the one just verified.

    Verifying takes a while; meanwhile another request may set a new password, or another
    sign-in of the same person may upgrade the hash first. A plain assignment would then write
    a hash of the *old* password over the new one. Compare-and-set: the first upgrade wins,
    a newer password always stays. Committed with the caller's use case.
    """
    verified = user.password_hash
    changed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.password_hash == verified)
        .values(password_hash=new_hash)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount == 1:  # type: ignore[attr-defined]
        set_committed_value(user, "password_hash", new_hash)
