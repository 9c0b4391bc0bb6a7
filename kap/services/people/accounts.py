"""Creating users and changing their password or status (care teams:
kap/services/people/care_teams.py)."""

from __future__ import annotations

from sqlalchemy import select

from kap.extensions import db
from kap.models import Clinic, Role, User
from kap.models.base import utcnow
from kap.services.auth.passwords import hash_password
from kap.services.auth.signin import normalize_email, revoke_sessions
from kap.services.errors import Invalid
from kap.services.unit_of_work import use_case


def user_by_id(user_id: int) -> User | None:
    """The user with this id, whoever they are, or None (sign-in loads the session's user;
    the caller checks they are still active)."""
    return db.session.get(User, user_id)


def create_user(
    clinic: Clinic, *, email: str, name: str, role: Role | str, password: str | None = None
) -> User:
    """Add a user to ``clinic``. The email must be new to the whole deployment."""
    email = normalize_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Invalid("That email is already in use.", {"email": ["That email is already in use."]})
    user = User(clinic=clinic, email=email, name=name.strip(), role=str(Role(role)))
    if password:
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
    db.session.add(user)
    db.session.flush()
    return user


@use_case
def set_password(user: User, password: str, keep_token_digest: str | None = None) -> None:
    """Change ``user``'s password and end their other sessions."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    revoke_sessions(user, keep_token_digest)


@use_case
def deactivate_user(user: User) -> None:
    """Stop ``user`` signing in and end every session they have."""
    user.active = False
    revoke_sessions(user)
