"""Courses and sessions: booking courses and boosters, rescheduling and cancelling.

Dates and local clock times are kap/services/sessions/course_dates.py; the clash rules are
kap/services/sessions/booking_conflicts.py. Every change is audited in its own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from kap.extensions import db
from kap.models import (
    Course,
    CoursePattern,
    SessionStatus,
    SessionTemplate,
    TreatmentSession,
    User,
)
from kap.models.base import utcnow
from kap.services import audit
from kap.services.errors import Conflict, Invalid
from kap.services.people.access import get_patient_for
from kap.services.sessions.booking_conflicts import (
    Booking,
    check_bookings,
    expected_minutes,
    room_key,
)
from kap.services.sessions.course_dates import course_local_times
from kap.services.sessions.queries import (  # noqa: F401 - re-exported for existing imports
    ACTIVE_STATUSES,
    ON_RECORD,
    get_session_for,
    next_session,
    sessions_of_patient,
    sessions_visible_to,
    sessions_with_day_record,
)
from kap.services.unit_of_work import use_case
from kap.timezones import local_text, local_to_utc


def _schedulable_template(actor: User, template_id: int) -> SessionTemplate:
    template = db.session.scalar(
        select(SessionTemplate).where(
            SessionTemplate.id == template_id,
            SessionTemplate.clinic_id == actor.clinic_id,
            SessionTemplate.archived_at.is_(None),
        )
    )
    if template is None:
        raise Invalid("Choose a template.", {"template_id": ["Choose one of the templates."]})
    return template


def _check_not_past(moments: list[datetime], now: datetime, field: str = "start_date") -> None:
    if moments and min(moments) < now - timedelta(minutes=5):
        raise Invalid(
            "A session would be in the past.",
            {field: ["Sessions cannot be scheduled in the past."]},
        )


def _audit_booking(
    action: str,
    actor: User,
    subject: tuple[str, int],
    patient_id: int,
    details: list[str],
    room_double_booked: bool,
) -> None:
    """One row for a booking change: ids, numbers and clinic-local times, never typed text
    (room labels and cancellation reasons stay on the session)."""
    if room_double_booked:
        details.append("room_double_booked=yes")
    audit.record(
        action,
        actor=actor,
        subject_type=subject[0],
        subject_id=subject[1],
        patient_id=patient_id,
        detail="; ".join(details),
    )


@use_case
def schedule_course(
    actor: User,
    patient_id: int,
    template_id: int,
    pattern: str,
    *,
    start_date: date | None = None,
    weekdays: Sequence[int] = (),
    clock: time | None = None,
    custom_times: str = "",
    location_label: str = "",
    book_anyway: bool = False,
    now: datetime | None = None,
) -> Course:
    """Create a course of sessions for a patient of the actor's clinic.

    Refused (BookingClash) when a session would overlap another of the patient's, or one in
    the same room unless ``book_anyway`` (kap/services/sessions/booking_conflicts.py).
    """
    patient = get_patient_for(actor, patient_id)
    template = _schedulable_template(actor, template_id)
    timezone = actor.clinic.timezone
    custom = pattern == CoursePattern.CUSTOM
    local = course_local_times(
        pattern, start_date=start_date, weekdays=weekdays, clock=clock, custom_times=custom_times
    )
    moments = [local_to_utc(day, at, timezone) for day, at in local]
    _check_not_past(moments, now or utcnow(), "custom_dates" if custom else "start_date")
    version = template.current_version
    room = location_label.strip()[:80]
    minutes = expected_minutes(version)
    double_booked = check_bookings(
        actor.clinic_id,
        timezone,
        [Booking(patient.id, moment, minutes, room_key(room)) for moment in moments],
        patient_name=patient.name,
        time_field="custom_dates" if custom else "start_date",
        room_field="location_label",
        book_anyway=book_anyway,
    )
    course = Course(
        clinic_id=actor.clinic_id,
        patient_id=patient.id,
        template_id=template.id,
        pattern=pattern,
        created_by_id=actor.id,
    )
    course.sessions = [
        TreatmentSession(
            clinic_id=actor.clinic_id,
            patient_id=patient.id,
            template_version_id=version.id,
            scheduled_at=moment,
            location_label=room,
        )
        for moment in moments
    ]
    db.session.add(course)
    db.session.flush()
    _audit_booking(
        "session.schedule",
        actor,
        ("course", course.id),
        patient.id,
        [
            f"sessions={len(moments)}",
            f"pattern={pattern}",
            f"template={template.id}",
            f"version={version.number}",
            f"first={local_text(min(moments), timezone)}",
        ],
        double_booked,
    )
    return course


@use_case
def add_booster(
    actor: User,
    patient_id: int,
    template_id: int,
    day: date,
    clock: time,
    location_label: str = "",
    now: datetime | None = None,
    *,
    book_anyway: bool = False,
) -> TreatmentSession:
    """A single later session, attached to the patient's latest course if there is one.

    Refused like a course when it overlaps the patient's other sessions or its room's.
    """
    patient = get_patient_for(actor, patient_id)
    template = _schedulable_template(actor, template_id)
    timezone = actor.clinic.timezone
    moment = local_to_utc(day, clock, timezone)
    _check_not_past([moment], now or utcnow(), "day")
    version = template.current_version
    room = location_label.strip()[:80]
    double_booked = check_bookings(
        actor.clinic_id,
        timezone,
        [Booking(patient.id, moment, expected_minutes(version), room_key(room))],
        patient_name=patient.name,
        time_field="day",
        room_field="location_label",
        book_anyway=book_anyway,
    )
    latest_course = db.session.scalar(
        select(Course).where(Course.patient_id == patient.id).order_by(Course.id.desc()).limit(1)
    )
    session = TreatmentSession(
        clinic_id=actor.clinic_id,
        patient_id=patient.id,
        course=latest_course,
        template_version_id=version.id,
        scheduled_at=moment,
        is_booster=True,
        location_label=room,
    )
    db.session.add(session)
    db.session.flush()
    _audit_booking(
        "session.booster",
        actor,
        ("session", session.id),
        patient.id,
        [
            f"template={template.id}",
            f"version={version.number}",
            f"at={local_text(moment, timezone)}",
        ],
        double_booked,
    )
    return session


def _editable(session: TreatmentSession) -> None:
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict(f"This session is {session.status} and can no longer be changed.")
    if sessions_with_day_record([session.id]):
        raise Conflict(ON_RECORD, code="session_on_record")


@use_case
def reschedule_session(
    actor: User,
    session: TreatmentSession,
    day: date,
    clock: time,
    now: datetime | None = None,
    *,
    book_anyway: bool = False,
) -> None:
    """Move a scheduled session to another local date and time (its room stays).

    Refused like a booking when the new time overlaps the patient's other sessions or its
    room's (the session never clashes with itself).
    """
    _editable(session)
    timezone = actor.clinic.timezone
    moment = local_to_utc(day, clock, timezone)
    _check_not_past([moment], now or utcnow(), "day")
    double_booked = check_bookings(
        actor.clinic_id,
        timezone,
        [
            Booking(
                session.patient_id,
                moment,
                expected_minutes(session.template_version),
                room_key(session.location_label),
                session_id=session.id,
            )
        ],
        patient_name=session.patient.name,
        time_field="day",
        room_field="book_anyway",
        book_anyway=book_anyway,
    )
    before = session.scheduled_at
    session.scheduled_at = moment
    _audit_booking(
        "session.reschedule",
        actor,
        ("session", session.id),
        session.patient_id,
        [f"from={local_text(before, timezone)}", f"to={local_text(moment, timezone)}"],
        double_booked,
    )


@use_case
def cancel_session(actor: User, session: TreatmentSession, reason: str = "") -> None:
    """Cancel a scheduled session (kept in the record, never deleted). The reason is kept on
    the session, not in the audit log (it is free text)."""
    _editable(session)
    session.status = SessionStatus.CANCELLED
    session.cancelled_at = utcnow()
    session.cancel_reason = reason.strip()[:200]
    audit.record(
        "session.cancel",
        actor=actor,
        subject_type="session",
        subject_id=session.id,
        patient_id=session.patient_id,
        detail=f"at={local_text(session.scheduled_at, actor.clinic.timezone)}",
    )
