"""The models' base class, and column types and helpers they share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from kap.extensions import db

if TYPE_CHECKING:
    # The base every model subclasses. Flask-SQLAlchemy builds db.Model at runtime from
    # this declarative base, which type checkers cannot follow; they see the base itself, a
    # plain class (Mapped[...] columns, typed select()). At runtime every model subclasses
    # db.Model as before: the same metadata, so migrations see the same tables.
    from kap.extensions import Base as Model
else:
    Model = db.Model

__all__ = ["MAX_ID", "Model", "UTCDateTime", "utcnow"]


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """An aware UTC time as the database gives it back: SQLite's naive ones are UTC, and
    PostgreSQL's arrive in the session's zone (UTC, set in config.py, so usually as is)."""
    if value is None or value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    SQLite keeps no time zone, PostgreSQL does; this type makes both behave the same.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value)


#: The largest id an INTEGER primary key holds (PostgreSQL); larger ids cannot exist.
MAX_ID = 2**31 - 1
