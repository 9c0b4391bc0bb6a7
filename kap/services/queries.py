"""One way to load the one record a caller asked for from a query scoped to what they may see.

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
