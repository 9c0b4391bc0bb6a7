"""What the board may read: the clinic's sessions, Call staff alerts and observations.

Scope: the board shows the whole clinic's sessions to every therapist and clinic admin of that
clinic, not only a therapist's care list (``scheduling.sessions_visible_to``). On a session day
whoever is on the floor watches every room: a Call staff from Room 2 must reach the therapist
standing next to it even when the patient is a colleague's. So the queries here are scoped to
``user.clinic_id`` alone, and show only what floor staff need (name, room, phase, vitals) —
never intentions, journal entries or clinical notes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TypeVar, TypeVarTuple

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import QueryableAttribute

from kap.extensions import db
from kap.models import (
    Alert,
    AlertKind,
    MedicationAdministration,
    SessionDischarge,
    SessionObservation,
    TreatmentSession,
    User,
)
from kap.services.queries import one_or_not_found
from kap.services.write_lock import sqlite_write_lock

_Columns = TypeVarTuple("_Columns")
#: The records kept per session that the board lists in order.
_SessionRecord = TypeVar("_SessionRecord", SessionObservation, MedicationAdministration)
#: Staff names by user id, looked up with the optional ids records carry (None finds none).
StaffNames = dict[int | None, str]


def _staff_only(user: User, query: Select[*_Columns]) -> Select[*_Columns]:
    """``query`` as it is for clinic staff; for anyone else, one that finds nothing."""
    return query if user.is_clinician else query.where(false())


def sessions_on_board(user: User) -> Select[TreatmentSession]:
    """Every session of the user's clinic, for staff (see the module docstring for why)."""
    query = select(TreatmentSession).where(TreatmentSession.clinic_id == user.clinic_id)
    return _staff_only(user, query)


def get_board_session(user: User, session_id: int) -> TreatmentSession:
    """A session of the user's clinic, or NotFound."""
    return one_or_not_found(
        sessions_on_board(user).where(TreatmentSession.id == session_id), "session"
    )


def lock_session_for_update(user: User, session_id: int) -> TreatmentSession:
    """A session of the user's clinic, locked against every other writer until the commit.

    Called first by every use case that reads a session's records and then writes on them
    (discharge, reopen, a dose, a reading, check-in): without it, a booster dose or a bad final
    committed between a discharge's reads and its UPDATE goes unseen, and a dose can be written
    onto a session discharged a moment earlier. PostgreSQL: ``SELECT ... FOR UPDATE`` on the
    session's row. SQLite: the database's single write lock, taken now with ``BEGIN IMMEDIATE``
    (waiting up to busy_timeout) unless this transaction already holds it — pysqlite runs
    SELECTs outside any transaction and would take the lock only at the first write (see
    ``kap/services/write_lock.py``). The session is then read again inside the lock, so its
    state (discharged, cancelled, checked in) is the committed one. NotFound as
    ``get_board_session``.
    """
    sqlite = sqlite_write_lock()
    query = sessions_on_board(user).where(TreatmentSession.id == session_id)
    if not sqlite:
        query = query.with_for_update(of=TreatmentSession)
    return one_or_not_found(query.execution_options(populate_existing=True), "session")


def call_staff_alerts(user: User) -> Select[Alert]:
    """Every Call staff alert of the user's clinic (open or closed), for staff."""
    query = select(Alert).where(
        Alert.clinic_id == user.clinic_id, Alert.kind == AlertKind.CALL_STAFF
    )
    return _staff_only(user, query)


def get_call_for(user: User, alert_id: int) -> Alert:
    """A Call staff alert of the user's clinic (open or closed), or NotFound."""
    return one_or_not_found(call_staff_alerts(user).where(Alert.id == alert_id), "alert")


def records_by_session(
    model: type[_SessionRecord],
    at_column: QueryableAttribute[datetime],
    session_ids: list[int],
) -> dict[int, list[_SessionRecord]]:
    """Rows of ``model`` for each session, in ``at_column`` order, in one query (callers pass
    sessions already scoped; a session without rows maps to an empty list)."""
    grouped: dict[int, list[_SessionRecord]] = defaultdict(list)
    if session_ids:
        query = select(model).where(model.session_id.in_(session_ids)).order_by(at_column, model.id)
        for row in db.session.scalars(query):
            grouped[row.session_id].append(row)
    return grouped


def observations_of(session_ids: list[int]) -> dict[int, list[SessionObservation]]:
    """The observations of each session, oldest first (callers pass sessions already scoped)."""
    return records_by_session(SessionObservation, SessionObservation.recorded_at, session_ids)


def reopenings_of(session_ids: list[int]) -> dict[int, datetime]:
    """When each session's discharge was last reopened (absent if never; callers pass sessions
    already scoped). The discharge rule counts only final checks recorded after it."""
    if not session_ids:
        return {}
    query = (
        select(SessionDischarge.session_id, func.max(SessionDischarge.reopened_at))
        .where(
            SessionDischarge.session_id.in_(session_ids),
            SessionDischarge.reopened_at.is_not(None),
        )
        .group_by(SessionDischarge.session_id)
    )
    rows = db.session.execute(query).all()
    return {session_id: reopened_at for session_id, reopened_at in rows if reopened_at is not None}


def names_of(user_ids: set[int | None]) -> StaffNames:
    """The names of the staff who recorded, acknowledged or discharged (None ids skipped)."""
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
