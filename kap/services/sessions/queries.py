"""Which sessions a person may see, and the one a patient should prepare for next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select

from kap.extensions import db
from kap.models import (
    CareTeamMember,
    MedicationAdministration,
    SessionObservation,
    SessionStatus,
    TreatmentSession,
    User,
)
from kap.models.base import utcnow
from kap.services.errors import NotFound
from kap.services.people.access import get_patient_for
from kap.timezones import to_local

ACTIVE_STATUSES = (SessionStatus.SESSION, SessionStatus.DOWNTIME, SessionStatus.INTEGRATION)


def sessions_visible_to(user: User) -> Select[tuple[TreatmentSession]]:
    """Sessions ``user`` may see: their own (patient), their care list's (therapist) or their
    clinic's (clinic admin)."""
    query = select(TreatmentSession).where(TreatmentSession.clinic_id == user.clinic_id)
    if user.is_patient:
        return query.where(TreatmentSession.patient_id == user.id)
    if user.is_therapist:
        cared_for = select(CareTeamMember.patient_id).where(CareTeamMember.therapist_id == user.id)
        return query.where(TreatmentSession.patient_id.in_(cared_for))
    return query


def get_session_for(user: User, session_id: int) -> TreatmentSession:
    """A session ``user`` may see, or NotFound."""
    session = db.session.scalar(sessions_visible_to(user).where(TreatmentSession.id == session_id))
    if session is None:
        raise NotFound("No such session.")
    return session


def sessions_of_patient(viewer: User, patient_id: int) -> list[TreatmentSession]:
    """A patient's sessions in time order, if ``viewer`` may see that patient."""
    patient = get_patient_for(viewer, patient_id)
    return list(
        db.session.scalars(
            sessions_visible_to(viewer)
            .where(TreatmentSession.patient_id == patient.id)
            .order_by(TreatmentSession.scheduled_at)
        )
    )


def next_session(patient: User, now: datetime | None = None) -> TreatmentSession | None:
    """The session to prepare for: one in progress, else the first scheduled from today on."""
    now = now or utcnow()
    in_progress = db.session.scalar(
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient.id, TreatmentSession.status.in_(ACTIVE_STATUSES)
        )
        .order_by(TreatmentSession.scheduled_at.desc())
        .limit(1)
    )
    if in_progress is not None:
        return in_progress
    local_midnight = datetime.combine(
        to_local(now, patient.clinic.timezone).date(),
        time(0),
        tzinfo=ZoneInfo(patient.clinic.timezone),
    ).astimezone(UTC)
    return db.session.scalar(
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient.id,
            TreatmentSession.status == SessionStatus.SCHEDULED,
            TreatmentSession.scheduled_at >= local_midnight,
        )
        .order_by(TreatmentSession.scheduled_at)
        .limit(1)
    )


#: Why a session with anything of its day on record can be neither moved nor cancelled.
ON_RECORD = (
    "This session has a check-in, readings or a dose on record, so it cannot be moved or "
    "cancelled: record what happened on the board and book a new session."
)


def sessions_with_day_record(session_ids: Sequence[int]) -> set[int]:
    """Which of the sessions have a check-in, a reading or a dose on record (one query).

    Such a session belongs to its day: moving it would carry that day's check-in, pre-dose
    vitals and day-of ticks to another date, and cancelling it would hide a dose given."""
    if not session_ids:
        return set()
    readings = select(SessionObservation.id).where(
        SessionObservation.session_id == TreatmentSession.id
    )
    doses = select(MedicationAdministration.id).where(
        MedicationAdministration.session_id == TreatmentSession.id
    )
    query = select(TreatmentSession.id).where(
        TreatmentSession.id.in_(session_ids),
        or_(
            TreatmentSession.checked_in_at.is_not(None),
            readings.exists(),
            doses.exists(),
        ),
    )
    return set(db.session.scalars(query))
