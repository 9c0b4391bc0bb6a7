"""UPDATE and DELETE statements whose caller needs to know how many rows they matched."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Update

from kap.extensions import db


def execute_counting_rows(statement: Update | Delete) -> int:
    """Execute ``statement`` in the session; how many rows it matched.

    The count is how a conditional write (``... WHERE used_at IS NULL``) tells whether it won
    a race. Session.execute is typed as returning a plain Result; for UPDATE and DELETE it is
    a CursorResult, which carries the count.
    """
    result = cast("CursorResult[Any]", db.session.execute(statement))
    return result.rowcount
