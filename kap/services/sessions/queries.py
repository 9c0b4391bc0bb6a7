"""Which sessions a person may see (and the lists built on that one scope), the one a patient
should prepare for next, and whether their session mode is running."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, exists, func, or_, select
from sqlalchemy.orm import selectinload

from kap.extensions import db
from kap.models import (
    MedicationAdministration,
    PlaylistTrack,
    SessionObservation,
    SessionStatus,
    TemplateVersion,
    TreatmentSession,
    User,
)
from kap.models.base import utcnow
from kap.services.errors import Invalid
from kap.services.people.access import get_patient_for
from kap.services.people.care_teams import in_care_list
from kap.services.queries import one_or_not_found
from kap.timezones import local_day_bounds, to_local

ACTIVE_STATUSES = (SessionStatus.SESSION, SessionStatus.DOWNTIME, SessionStatus.INTEGRATION)


def sessions_visible_to(user: User) -> Select[TreatmentSession]:
    """Sessions ``user`` may see: their own (patient), their care list's (therapist) or their
    clinic's (clinic admin)."""
    query = select(TreatmentSession).where(TreatmentSession.clinic_id == user.clinic_id)
    if user.is_patient:
        return query.where(TreatmentSession.patient_id == user.id)
    if user.is_therapist:
        return query.where(in_care_list(TreatmentSession.patient_id, user.id))
    return query


def get_session_for(user: User, session_id: int) -> TreatmentSession:
    """A session ``user`` may see, or NotFound."""
    return one_or_not_found(
        sessions_visible_to(user).where(TreatmentSession.id == session_id), "session"
    )


def visible_sessions(user: User) -> list[TreatmentSession]:
    """Every session ``user`` may see (a patient's: the sessions an entry may be about)."""
    return list(db.session.scalars(sessions_visible_to(user)))


def booked_sessions(user: User) -> list[TreatmentSession]:
    """The sessions ``user`` may see that are not cancelled, in time order."""
    return list(
        db.session.scalars(
            sessions_visible_to(user)
            .where(TreatmentSession.status != SessionStatus.CANCELLED)
            .order_by(TreatmentSession.scheduled_at)
        )
    )


def todays_sessions(user: User, now: datetime | None = None) -> list[TreatmentSession]:
    """The sessions ``user`` may see booked for today in their clinic's time zone (not
    cancelled), in time order."""
    start, end = local_day_bounds(now or utcnow(), user.clinic.timezone)
    return list(
        db.session.scalars(
            sessions_visible_to(user)
            .where(
                TreatmentSession.scheduled_at >= start,
                TreatmentSession.scheduled_at < end,
                TreatmentSession.status != SessionStatus.CANCELLED,
            )
            .order_by(TreatmentSession.scheduled_at)
        )
    )


#: A session whose music is over: it went on to downtime, to integration, or is complete.
MUSIC_OVER = (SessionStatus.DOWNTIME, SessionStatus.INTEGRATION, SessionStatus.COMPLETE)


def music_over_today(patient: User, now: datetime | None = None) -> bool:
    """Whether one of ``patient``'s own sessions booked for today (their clinic's calendar
    day) is past its music. One prebuilt statement that answers yes or no: the journal and
    the integration page ask it on every load (docs/architecture.md, "Deliberate
    performance exceptions")."""
    if not patient.is_patient:
        return False
    start, end = local_day_bounds(now or utcnow(), patient.clinic.timezone)
    parameters = {
        "clinic_id": patient.clinic_id,
        "patient_id": patient.id,
        "start": start,
        "end": end,
    }
    return bool(db.session.execute(_music_over_today_statement(), parameters).scalar())


@cache
def _music_over_today_statement() -> Select[tuple[bool]]:
    """Built once: a patient's own sessions (``sessions_visible_to`` for a patient) booked
    between two times whose music is over."""
    booked = TreatmentSession.scheduled_at
    return select(
        exists().where(
            TreatmentSession.clinic_id == bindparam("clinic_id"),
            TreatmentSession.patient_id == bindparam("patient_id"),
            booked >= bindparam("start"),
            booked < bindparam("end"),
            TreatmentSession.status.in_([status.value for status in MUSIC_OVER]),
        )
    )


def timeline_sessions(viewer: User, patient_id: int) -> list[TreatmentSession]:
    """A patient's sessions ``viewer`` may see, in time order, with their checklists loaded
    (the therapist's timeline of that patient)."""
    return list(
        db.session.scalars(
            sessions_visible_to(viewer)
            .where(TreatmentSession.patient_id == patient_id)
            .options(
                selectinload(TreatmentSession.ticks),
                selectinload(TreatmentSession.template_version).selectinload(
                    TemplateVersion.checklist_items
                ),
            )
            .order_by(TreatmentSession.scheduled_at)
        )
    )


def filtered_sessions(
    viewer: User, *, patient_id: int | None = None, status: str | None = None
) -> Select[TreatmentSession]:
    """The sessions ``viewer`` may see, oldest first, optionally of one patient or in one
    status (Invalid for an unknown status), with their templates loaded: the API's list."""
    query = sessions_visible_to(viewer).options(
        selectinload(TreatmentSession.template_version).selectinload(TemplateVersion.template)
    )
    if patient_id is not None:
        query = query.where(TreatmentSession.patient_id == patient_id)
    if status is not None:
        if status not in SessionStatus.__members__.values():
            raise Invalid("Unknown status.", {"status": [f"One of {', '.join(SessionStatus)}."]})
        query = query.where(TreatmentSession.status == status)
    return query.order_by(TreatmentSession.scheduled_at, TreatmentSession.id)


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


#: Past the template's own length, how long a running session mode still keeps a patient
#: from idle sign-out (a slow downtime, a late tap on Finish).
SESSION_MODE_GRACE = timedelta(minutes=30)


def session_mode_running(user: User, now: datetime | None = None) -> bool:
    """True while one of the patient's sessions is in its session or downtime phase, and no
    longer than its template can last: the music (every track end to end), the downtime and
    the observation, plus ``SESSION_MODE_GRACE``. A session left 'running' (a phone that
    never sent Finish) does not keep the patient signed in for hours."""
    if not user.is_patient:
        return False
    row = db.session.execute(_running_session_statement(), {"patient_id": user.id}).first()
    if row is None:
        return False
    started_at, downtime_minutes, observation_minutes, music_seconds = row
    if started_at is None:
        return False
    longest = timedelta(
        seconds=float(music_seconds or 0),
        minutes=(downtime_minutes or 0) + (observation_minutes or 0),
    )
    return (now or utcnow()) < started_at + longest + SESSION_MODE_GRACE


@cache
def _running_session_statement() -> Select[datetime | None, int, int, float]:
    """Built once: asked on every patient page (for the idle warning; docs/architecture.md,
    "Deliberate performance exceptions"). One statement: the latest running session's start
    and its template's lengths."""
    running = (SessionStatus.SESSION.value, SessionStatus.DOWNTIME.value)
    music = (
        select(func.coalesce(func.sum(PlaylistTrack.duration_seconds), 0))
        .where(PlaylistTrack.version_id == TemplateVersion.id)
        .scalar_subquery()
    )
    return (
        select(
            TreatmentSession.session_started_at,
            TemplateVersion.downtime_minutes,
            TemplateVersion.observation_minutes,
            music.label("music_seconds"),
        )
        .join(TemplateVersion, TemplateVersion.id == TreatmentSession.template_version_id)
        .where(
            TreatmentSession.patient_id == bindparam("patient_id"),
            TreatmentSession.status.in_(running),
        )
        .order_by(TreatmentSession.session_started_at.desc())
        .limit(1)
    )
