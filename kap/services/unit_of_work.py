"""One use case, one transaction: commit once at its end, roll back everything on an error.

A service function that changes data is decorated ``@use_case`` (or runs its body inside
``with unit_of_work():``). Helpers it calls — ``audit.record`` among them — only add and
flush; they never commit, so a use case's rows and its audit event land together or not at all.

Use cases may call one another: only the outermost unit of work commits, an inner one just
joins it. A view therefore calls one use case and never commits itself (docs/architecture.md,
"Transactions").

A read that is audited (``@audited_read``) commits its audit row the same way, but keeps the
objects it returns loaded: a plain commit expires every loaded object, and the page would
reload each one attribute by attribute.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar, overload

from sqlalchemy.orm import Session

from kap.extensions import db

_DEPTH = "kap_unit_of_work_depth"

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def unit_of_work(
    *, keep_loaded: bool = False, commit_despite: tuple[type[BaseException], ...] = ()
) -> Iterator[Session]:
    """The current use case's transaction; commits when the outermost one ends without error.

    ``keep_loaded``: the outermost commit leaves loaded objects as they are instead of
    expiring them (for reads that only add an audit row; nothing they hold went stale).
    ``commit_despite``: errors that still commit what was written before them, then go on —
    a refused sign-in keeps its audit row. Any other error rolls everything back.
    """
    session: Session = db.session()
    depth = _depth(session)
    session.info[_DEPTH] = depth + 1
    try:
        yield session
    except commit_despite:
        session.info[_DEPTH] = depth
        if depth == 0:
            _commit(session, keep_loaded=keep_loaded)
        raise
    except BaseException:
        session.info[_DEPTH] = depth
        if depth == 0:
            session.rollback()
        raise
    session.info[_DEPTH] = depth
    if depth == 0:
        _commit(session, keep_loaded=keep_loaded)


def _depth(session: Session) -> int:
    """How many units of work are open on ``session`` (0: none, 1: the outermost)."""
    return int(session.info.get(_DEPTH, 0))


def _commit(session: Session, *, keep_loaded: bool) -> None:
    """Commit; a COMMIT that fails (the database went away) leaves nothing half-open."""
    expiring = session.expire_on_commit
    session.expire_on_commit = expiring and not keep_loaded
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.expire_on_commit = expiring


@overload
def use_case(function: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def use_case(
    *, commit_despite: tuple[type[BaseException], ...]
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def use_case(
    function: Callable[P, R] | None = None,
    /,
    *,
    commit_despite: tuple[type[BaseException], ...] = (),
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated function as one use case: one transaction, committed once at its end,
    rolled back whole when it raises (a domain error included).

    ``@use_case(commit_despite=(InvalidCredentials,))``: that error still commits what the use
    case recorded before raising it (the audit row of a refused attempt).
    """

    def decorate(body: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(body)
        def in_one_transaction(*args: P.args, **kwargs: P.kwargs) -> R:
            with unit_of_work(commit_despite=commit_despite):
                return body(*args, **kwargs)

        return in_one_transaction

    return decorate if function is None else decorate(function)


def audited_read(function: Callable[P, R]) -> Callable[P, R]:
    """Run a read that records an audit row: the row is committed at its end, and the objects
    it returns stay loaded (the caller renders them without reloading)."""

    @functools.wraps(function)
    def read_and_record(*args: P.args, **kwargs: P.kwargs) -> R:
        with unit_of_work(keep_loaded=True):
            return function(*args, **kwargs)

    return read_and_record


def in_unit_of_work() -> bool:
    """Whether a use case's transaction is open (helpers that must not commit can assert it)."""
    return _depth(db.session()) > 0


def rollback_lost_race() -> None:
    """Call in ``except IntegrityError:`` when another request inserted the same unique row
    first: the transaction is rolled back so the use case can read the winner's row instead.

    Only the outermost use case may go on after losing a race: inside another one the rollback
    would also drop the enclosing use case's work, so the IntegrityError is raised on to it.
    """
    session: Session = db.session()
    if _depth(session) > 1:
        raise  # the IntegrityError being handled goes on to the enclosing use case
    session.rollback()
