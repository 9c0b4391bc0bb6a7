"""Planning reminders: which ones a patient gets, when, and in what words.

Reminders are not stored before they go out: they are planned from the sessions, each
session's template version (its ``reminder_kinds``), the clinic's preparation numbers, the
measurement schedule and the patient's quiet hours, each time they are needed — so a
cancelled or moved session, a template that turned a kind off or new quiet hours take effect
at once. Channels are not applied here: the sender and the API apply them.

The time rules (wall-clock vs. elapsed time, quiet hours, LATE_GRACE) live in
``reminders.timing``, the words in ``reminders.wording``, each kind on plain values in
``reminders.kinds``. This module gathers those values — a few queries per patient, one for
all the sessions and their template versions whatever their number — and chooses the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select

from kap.extensions import db
from kap.models import Role, SessionStatus, TemplateVersion, TreatmentSession, User
from kap.models.reminders import ReminderKind, ReminderPreference
from kap.services.measures.checkins import checkins_due
from kap.services.reminders.kinds import (
    BEFORE_SESSION,
    STARTED,
    ClinicFacts,
    SessionFacts,
    checkin_reminders,
    session_reminders,
)
from kap.services.reminders.planned import PlannedReminder
from kap.services.reminders.timing import LATE_GRACE, QuietHours

#: The integration prompt comes at most this long after a session began (10:00 the next
#: local day, 34 hours after a session at midnight, plus a daylight-saving hour).
INTEGRATION_LOOKBACK = timedelta(days=2)


def quiet_hours_of(preference: ReminderPreference | None) -> QuietHours | None:
    """The patient's quiet hours, or None when they chose none."""
    if preference is None or preference.quiet_start is None or preference.quiet_end is None:
        return None
    return QuietHours(preference.quiet_start, preference.quiet_end)


def clinic_facts(patient: User) -> ClinicFacts:
    """The patient's clinic as planning needs it."""
    clinic = patient.clinic
    return ClinicFacts(
        id=clinic.id,
        timezone=clinic.timezone,
        fasting_hours=clinic.fasting_hours,
        substance_free_hours=clinic.substance_free_hours,
    )


def sessions_for_planning(
    patient_id: int, clinic: ClinicFacts, start: datetime, until: datetime
) -> list[SessionFacts]:
    """The patient's sessions that may give a reminder in [start, until): those booked up to
    the longest lead after ``until`` and those begun shortly before ``start``, with their
    template versions' kinds — one query. Cancelled sessions give none and are left out."""
    lead = timedelta(hours=max(clinic.fasting_hours, clinic.substance_free_hours), days=2)
    rows = db.session.execute(
        select(
            TreatmentSession.id,
            TreatmentSession.scheduled_at,
            TreatmentSession.status,
            TreatmentSession.session_started_at,
            TreatmentSession.ride_home,
            TemplateVersion.reminder_kinds,
        )
        .join(TemplateVersion, TreatmentSession.template_version_id == TemplateVersion.id)
        .where(
            TreatmentSession.patient_id == patient_id,
            TreatmentSession.status != SessionStatus.CANCELLED,
            TreatmentSession.scheduled_at < until + lead,
            or_(
                TreatmentSession.scheduled_at >= start - INTEGRATION_LOOKBACK,
                TreatmentSession.session_started_at >= start - INTEGRATION_LOOKBACK,
            ),
        )
        .order_by(TreatmentSession.scheduled_at, TreatmentSession.id)
    ).all()
    return [
        SessionFacts(
            id=row.id,
            starts_at=row.scheduled_at,
            status=row.status,
            started_at=row.session_started_at,
            kinds=frozenset(row.reminder_kinds or ()),
            ride_home=row.ride_home or "",
        )
        for row in rows
    ]


def _checkins_on(patient_id: int, sessions: Sequence[SessionFacts], now: datetime) -> bool:
    """Whether check-in reminders are on: per the template of the session nearest ahead
    (else the latest begun), or, with none near, of the patient's latest session."""
    ahead = [s for s in sessions if s.status == SessionStatus.SCHEDULED and s.starts_at >= now]
    began = [s for s in sessions if s.status in STARTED]
    if ahead or began:
        nearest = ahead[0] if ahead else began[-1]
        return ReminderKind.CHECKIN_DUE in nearest.kinds
    kinds = db.session.scalar(
        select(TemplateVersion.reminder_kinds)
        .join(TreatmentSession, TreatmentSession.template_version_id == TemplateVersion.id)
        .where(
            TreatmentSession.patient_id == patient_id,
            TreatmentSession.status != SessionStatus.CANCELLED,
        )
        .order_by(TreatmentSession.scheduled_at.desc(), TreatmentSession.id.desc())
        .limit(1)
    )
    return ReminderKind.CHECKIN_DUE in (kinds or ())


def planned_between(
    patient: User, start: datetime, until: datetime, *, now: datetime
) -> list[PlannedReminder]:
    """Every reminder of ``patient`` with send_at in [start, until), sorted by send_at then
    key, planned as of ``now`` (the measurement schedule is asked what is due at ``now``)."""
    clinic = clinic_facts(patient)
    sessions = sessions_for_planning(patient.id, clinic, start, until)
    return _planned(patient, clinic, sessions, start, until, now)


def _planned(
    patient: User,
    clinic: ClinicFacts,
    sessions: Sequence[SessionFacts],
    start: datetime,
    until: datetime,
    now: datetime,
) -> list[PlannedReminder]:
    """``planned_between`` on sessions already read."""
    quiet = quiet_hours_of(db.session.get(ReminderPreference, patient.id))
    plans = [
        reminder
        for session in sessions
        for reminder in session_reminders(session, clinic, patient.id, quiet)
    ]
    if _checkins_on(patient.id, sessions, now):
        plans += checkin_reminders(checkins_due(patient, now), clinic, patient.id, quiet, now)
    chosen = [p for p in plans if start <= p.send_at < until]
    return sorted(chosen, key=lambda p: (p.send_at, p.key))


def upcoming_reminders(patient: User, now: datetime, *, until: datetime) -> list[PlannedReminder]:
    """Every reminder of ``patient`` with send_at in [now - LATE_GRACE, until), sorted by
    send_at: the template kinds of each session's version, quiet hours applied, channels not.

    A pre-session reminder is left out once its session's time has come, whatever the grace:
    a "stop eating" message after the session is noise or harm.
    """
    if not patient.is_patient:
        return []
    start = now - LATE_GRACE
    clinic = clinic_facts(patient)
    sessions = sessions_for_planning(patient.id, clinic, start, until)
    starts = {session.id: session.starts_at for session in sessions}
    return [
        reminder
        for reminder in _planned(patient, clinic, sessions, start, until, now)
        if reminder.kind not in BEFORE_SESSION
        or (reminder.session_id is not None and now < starts[reminder.session_id])
    ]


def patients_to_remind(clinic_id: int | None = None) -> Select[User]:
    """The active patients (of ``clinic_id``, or of every clinic) who turned on a channel
    that sends — push or e-mail — ordered by id. The calendar's alarms ring on the patient's
    own device from the feed, so nothing is sent for that channel."""
    query = (
        select(User)
        .join(ReminderPreference, ReminderPreference.user_id == User.id)
        .where(
            User.role == Role.PATIENT,
            User.active.is_(True),
            User.deleted_at.is_(None),
            or_(ReminderPreference.push.is_(True), ReminderPreference.email.is_(True)),
        )
        .order_by(User.id)
    )
    if clinic_id is not None:
        query = query.where(User.clinic_id == clinic_id)
    return query
