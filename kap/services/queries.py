"""Reading from a query a service scoped to what the caller may see: the one record asked
for, or one window of a list.

A record outside the caller's scope is reported as absent (NotFound → 404), never as
forbidden, so nobody learns that another clinic's records exist (docs/architecture.md,
"Where does this rule live").
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select

from kap.extensions import db
from kap.services.errors import NotFound

T = TypeVar("T")


def one_or_not_found(statement: Select[T], what: str) -> T:
    """The one row ``statement`` finds (already scoped and narrowed to an id by the caller),
    or NotFound saying "No such ``what``."."""
    found = db.session.scalar(statement)
    if found is None:
        raise NotFound(f"No such {what}.")
    return found


def rows_and_more(query: Select[T], limit: int, offset: int) -> tuple[list[T], bool]:
    """Up to ``limit`` rows of ``query`` from ``offset``, and whether more follow (one row
    past the page tells, so no count query is needed)."""
    rows = db.session.scalars(query.limit(limit + 1).offset(offset)).all()
    return list(rows[:limit]), len(rows) > limit
