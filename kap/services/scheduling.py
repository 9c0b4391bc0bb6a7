"""Courses and sessions: patterns of dates, local clock times, rescheduling, who sees which.

Times are stored in UTC and entered in the clinic's time zone. Each session's local date and
clock time are converted on their own, so a course that crosses a daylight-saving change
keeps its 10:00 appointments at 10:00.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from kap.extensions import db
from kap.models import (
    CareTeamMember,
    Course,
    CoursePattern,
    SessionStatus,
    SessionTemplate,
    TreatmentSession,
    User,
)
from kap.models.base import utcnow
from kap.services.access import get_patient_for
from kap.services.errors import Conflict, Invalid, NotFound

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_CUSTOM_SESSIONS = 30
ACTIVE_STATUSES = (SessionStatus.SESSION, SessionStatus.DOWNTIME, SessionStatus.INTEGRATION)


def _dates_on_weekdays(start: date, weekdays: Sequence[int], count: int) -> list[date]:
    chosen = set(weekdays)
    dates: list[date] = []
    day = start
    while len(dates) < count:
        if day.weekday() in chosen:
            dates.append(day)
        day += timedelta(days=1)
    return dates


def pattern_dates(pattern: str, start: date, weekdays: Sequence[int]) -> list[date]:
    """The session dates of a course pattern starting on or after ``start``.

    Six over three weeks: the two chosen weekdays, three weeks running. Esketamine: the two
    chosen weekdays for four weeks, then weekly on the first of them for four more weeks.
    """
    weekdays = sorted(set(weekdays))
    if len(weekdays) != 2 or any(not 0 <= d <= 6 for d in weekdays):
        raise Invalid("Choose two weekdays.", {"weekdays": ["Choose exactly two weekdays."]})
    if pattern == CoursePattern.SIX_OVER_THREE_WEEKS:
        return _dates_on_weekdays(start, weekdays, 6)
    if pattern == CoursePattern.ESKETAMINE:
        induction = _dates_on_weekdays(start, weekdays, 8)
        weekly_start = induction[-1] + timedelta(days=1)
        return induction + _dates_on_weekdays(weekly_start, weekdays[:1], 4)
    raise Invalid("Choose a pattern.", {"pattern": ["Choose a course pattern."]})


def local_to_utc(day: date, clock: time, timezone: str) -> datetime:
    """The UTC instant of a local date and clock time in ``timezone``."""
    return datetime.combine(day, clock, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def to_local(moment: datetime, timezone: str) -> datetime:
    """``moment`` in ``timezone``."""
    return moment.astimezone(ZoneInfo(timezone))


def parse_custom_times(text: str) -> list[tuple[date, time]]:
    """Lines like '2026-12-01 10:00' (one session each), for custom courses."""
    moments: list[tuple[date, time]] = []
    problems: list[str] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            moment = datetime.strptime(" ".join(line.split()), "%Y-%m-%d %H:%M")
        except ValueError:
            problems.append(f"Line {number}: write the date and time as 2026-12-01 10:00.")
            continue
        moments.append((moment.date(), moment.time()))
    if problems:
        raise Invalid("Some dates could not be read.", {"custom_dates": problems})
    if not moments:
        raise Invalid("Add at least one date.", {"custom_dates": ["Add at least one date."]})
    if len(moments) > MAX_CUSTOM_SESSIONS:
        raise Invalid(
            "Too many dates.",
            {"custom_dates": [f"At most {MAX_CUSTOM_SESSIONS} sessions in one course."]},
        )
    if len(set(moments)) != len(moments):
        raise Invalid("A date is listed twice.", {"custom_dates": ["Remove the repeated date."]})
    return sorted(moments)


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


def _check_not_past(moments: list[datetime], now: datetime) -> None:
    if moments and moments[0] < now - timedelta(minutes=5):
        raise Invalid(
            "A session would be in the past.",
            {"start_date": ["Sessions cannot be scheduled in the past."]},
        )


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
    now: datetime | None = None,
) -> Course:
    """Create a course of sessions for a patient of the actor's clinic."""
    patient = get_patient_for(actor, patient_id)
    template = _schedulable_template(actor, template_id)
    timezone = actor.clinic.timezone
    if pattern == CoursePattern.CUSTOM:
        local = parse_custom_times(custom_times)
    else:
        if start_date is None or clock is None:
            fields = {}
            if start_date is None:
                fields["start_date"] = ["Choose the first date."]
            if clock is None:
                fields["clock"] = ["Choose the time of day."]
            raise Invalid("Choose when the course starts.", fields)
        local = [(day, clock) for day in pattern_dates(pattern, start_date, weekdays)]
    moments = [local_to_utc(day, at, timezone) for day, at in local]
    _check_not_past(moments, now or utcnow())
    course = Course(
        clinic_id=actor.clinic_id,
        patient_id=patient.id,
        template_id=template.id,
        pattern=pattern,
        created_by_id=actor.id,
    )
    version_id = template.current_version.id
    course.sessions = [
        TreatmentSession(
            clinic_id=actor.clinic_id,
            patient_id=patient.id,
            template_version_id=version_id,
            scheduled_at=moment,
            location_label=location_label.strip()[:80],
        )
        for moment in moments
    ]
    db.session.add(course)
    db.session.commit()
    return course


def add_booster(
    actor: User,
    patient_id: int,
    template_id: int,
    day: date,
    clock: time,
    location_label: str = "",
    now: datetime | None = None,
) -> TreatmentSession:
    """A single later session, attached to the patient's latest course if there is one."""
    patient = get_patient_for(actor, patient_id)
    template = _schedulable_template(actor, template_id)
    moment = local_to_utc(day, clock, actor.clinic.timezone)
    _check_not_past([moment], now or utcnow())
    latest_course = db.session.scalar(
        select(Course).where(Course.patient_id == patient.id).order_by(Course.id.desc()).limit(1)
    )
    session = TreatmentSession(
        clinic_id=actor.clinic_id,
        patient_id=patient.id,
        course=latest_course,
        template_version_id=template.current_version.id,
        scheduled_at=moment,
        is_booster=True,
        location_label=location_label.strip()[:80],
    )
    db.session.add(session)
    db.session.commit()
    return session


def _editable(session: TreatmentSession) -> None:
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict(f"This session is {session.status} and can no longer be changed.")


def reschedule_session(
    actor: User, session: TreatmentSession, day: date, clock: time, now: datetime | None = None
) -> None:
    """Move a scheduled session to another local date and time."""
    _editable(session)
    moment = local_to_utc(day, clock, actor.clinic.timezone)
    _check_not_past([moment], now or utcnow())
    session.scheduled_at = moment
    db.session.commit()


def cancel_session(actor: User, session: TreatmentSession, reason: str = "") -> None:
    """Cancel a scheduled session (kept in the record, never deleted)."""
    _editable(session)
    session.status = SessionStatus.CANCELLED
    session.cancelled_at = utcnow()
    session.cancel_reason = reason.strip()[:200]
    db.session.commit()


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
