"""One use case, one transaction: commit once at its end, roll back everything on an error.

A service function that changes data (or audits a read) runs its body inside
``with unit_of_work():``. Helpers it calls — ``audit.record`` among them — only add and flush;
they never commit, so a use case's rows and its audit event land together or not at all.

Use cases may call one another: only the outermost ``unit_of_work`` commits, an inner one just
joins it. A view therefore calls one use case and never commits itself (docs/architecture.md,
"Transactions").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from kap.extensions import db

_DEPTH = "kap_unit_of_work_depth"


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """The current use case's transaction; commits when the outermost one ends without error."""
    session = db.session()
    depth = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    try:
        yield session
    except BaseException:
        session.info[_DEPTH] = depth
        if depth == 0:
            session.rollback()
        raise
    session.info[_DEPTH] = depth
    if depth == 0:
        session.commit()


def in_unit_of_work() -> bool:
    """Whether a use case's transaction is open (helpers that must not commit can assert it)."""
    return db.session().info.get(_DEPTH, 0) > 0
