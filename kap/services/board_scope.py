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

from sqlalchemy import Select, select

from kap.extensions import db
from kap.models import Alert, AlertKind, SessionObservation, TreatmentSession, User
from kap.services.errors import NotFound


def _staff_only(user: User, query: Select) -> Select:
    """``query`` as it is for clinic staff; for anyone else, one that finds nothing."""
    return query if user.is_clinician else query.where(False)


def sessions_on_board(user: User) -> Select[tuple[TreatmentSession]]:
    """Every session of the user's clinic, for staff (see the module docstring for why)."""
    query = select(TreatmentSession).where(TreatmentSession.clinic_id == user.clinic_id)
    return _staff_only(user, query)


def get_board_session(user: User, session_id: int) -> TreatmentSession:
    """A session of the user's clinic, or NotFound."""
    session = db.session.scalar(sessions_on_board(user).where(TreatmentSession.id == session_id))
    if session is None:
        raise NotFound("No such session.")
    return session


def call_staff_alerts(user: User) -> Select[tuple[Alert]]:
    """Every Call staff alert of the user's clinic (open or closed), for staff."""
    query = select(Alert).where(
        Alert.clinic_id == user.clinic_id, Alert.kind == AlertKind.CALL_STAFF
    )
    return _staff_only(user, query)


def get_call_for(user: User, alert_id: int) -> Alert:
    """A Call staff alert of the user's clinic (open or closed), or NotFound."""
    alert = db.session.scalar(call_staff_alerts(user).where(Alert.id == alert_id))
    if alert is None:
        raise NotFound("No such alert.")
    return alert


def observations_of(session_ids: list[int]) -> dict[int, list[SessionObservation]]:
    """The observations of each session, oldest first (callers pass sessions already scoped)."""
    grouped: dict[int, list[SessionObservation]] = defaultdict(list)
    if session_ids:
        query = (
            select(SessionObservation)
            .where(SessionObservation.session_id.in_(session_ids))
            .order_by(SessionObservation.recorded_at, SessionObservation.id)
        )
        for observation in db.session.scalars(query):
            grouped[observation.session_id].append(observation)
    return grouped


def names_of(user_ids: set[int | None]) -> dict[int, str]:
    """The names of the staff who recorded, acknowledged or discharged (None ids skipped)."""
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
