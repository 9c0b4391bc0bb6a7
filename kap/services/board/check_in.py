"""Staff check-in on the session day: photo ID checked and pre-dose vitals on record.

A template may require check-in before the patient's Start session unlocks (the patient's
side reads ``TreatmentSession.checked_in_at``); any session may be checked in. Check-in is
possible only on the session's local day (the clinic's time zone), before dosing, once
pre-dose vitals are recorded and with the photo ID checked. It is idempotent (a second
check-in keeps the first) and refused once the session is cancelled or discharged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from kap.extensions import db
from kap.models import SessionObservation, TreatmentSession, User
from kap.models.base import utcnow
from kap.services import audit
from kap.services.board.observations import ensure_writable, is_dosed
from kap.services.board.scope import lock_session_for_update
from kap.services.errors import Conflict, Invalid
from kap.services.unit_of_work import use_case
from kap.timezones import to_local

PRE_DOSE_FIRST = "Record pre-dose vitals first."


def is_session_day(session: TreatmentSession, zone: str, now: datetime) -> bool:
    """Whether ``now`` falls on the session's booked day in the clinic's time zone."""
    return to_local(now, zone).date() == to_local(session.scheduled_at, zone).date()


def has_pre_dose_vitals(session_id: int) -> bool:
    """Whether a pre-dose vitals reading is recorded for the session."""
    query = select(SessionObservation.id).where(
        SessionObservation.session_id == session_id, SessionObservation.kind == "pre_dose"
    )
    return db.session.scalar(query.limit(1)) is not None


@use_case
def check_in(
    user: User, session_id: int, *, photo_id_checked: bool, now: datetime | None = None
) -> TreatmentSession:
    """Check the patient in for a session of the user's clinic (idempotent)."""
    now = now or utcnow()
    session = lock_session_for_update(user, session_id)  # no dose or discharge meanwhile
    ensure_writable(session)
    if session.checked_in_at is not None:
        return session
    if not is_session_day(session, user.clinic.timezone, now):
        raise Conflict("Check-in is on the day of the session only.", code="not_today")
    if is_dosed(session):
        raise Conflict("The patient has already been dosed; check-in comes before dosing.")
    if not photo_id_checked:
        raise Invalid(
            "Check the patient's photo ID first.",
            {"photo_id_checked": ["Tick when you have checked the patient's photo ID."]},
        )
    if not has_pre_dose_vitals(session.id):
        raise Conflict(PRE_DOSE_FIRST, {"check_in": [PRE_DOSE_FIRST]})
    session.checked_in_at = now
    session.checked_in_by_id = user.id
    audit.record(
        "session.check_in",
        actor=user,
        subject_type="session",
        subject_id=session.id,
        patient_id=session.patient_id,
        detail="photo_id_checked",
    )
    return session
