"""Whether the shared parts a request may need answer: the database and the limit storage."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from kap.extensions import db, limiter
from kap.services.auth.attempt_limits import STORAGE_ERRORS


def database_answers() -> bool:
    """The database runs a trivial statement."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return False
    return True


def limit_storage_answers() -> bool:
    """The sign-in attempt counters' storage (Redis in production) answers."""
    try:
        return bool(limiter.storage.check())
    except STORAGE_ERRORS:
        return False
