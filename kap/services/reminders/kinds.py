"""Each kind of reminder: when it goes out and what it says, on plain values.

``session_reminders`` and ``checkin_reminders`` take plain facts (read by ``reminders.plan``
in one query), so every kind's local time, quiet hours, DST and a template that turned a kind
off are tested table by table without a database (tests/unit/test_reminder_planning.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from kap.models import SessionStatus
from kap.models.reminders import ReminderKind
from kap.services.measures.checkins import DueCheckin
from kap.services.reminders import wording
from kap.services.reminders.planned import PlannedReminder
from kap.services.reminders.timing import (
    CHECKIN_AT,
    DAY_BEFORE_AT,
    INTEGRATION_AT,
    LATE_GRACE,
    QUIET_HOURS_MARGIN,
    RIDE_AT,
    SOON_BEFORE,
    QuietHours,
    days_from,
    fasting_reminder_at,
    floor_to_minute,
    send_time,
    wall_clock_on,
)
from kap.timezones import local_day_of, to_local

#: Sessions that have begun: the day after one, the integration prompt.
STARTED = frozenset(
    {
        SessionStatus.SESSION,
        SessionStatus.DOWNTIME,
        SessionStatus.INTEGRATION,
        SessionStatus.COMPLETE,
    }
)
#: Kinds about a session still ahead: planned only while it is scheduled, sent only before
#: it starts.
BEFORE_SESSION = frozenset(
    {
        ReminderKind.SESSION_DAY_BEFORE,
        ReminderKind.SESSION_SOON,
        ReminderKind.FASTING,
        ReminderKind.NO_ALCOHOL,
        ReminderKind.RIDE,
    }
)


@dataclass(frozen=True)
class ClinicFacts:
    """What planning needs of the clinic: its zone and preparation numbers."""

    id: int
    timezone: str
    fasting_hours: int
    substance_free_hours: int


@dataclass(frozen=True)
class SessionFacts:
    """What planning needs of one session (plain values, read in one query)."""

    id: int
    starts_at: datetime
    status: str
    started_at: datetime | None
    #: Its template version's reminder kinds.
    kinds: frozenset[str]
    #: The patient's answer to "who is driving you home?", "" until answered.
    ride_home: str = ""


def session_reminders(
    session: SessionFacts, clinic: ClinicFacts, patient_id: int, quiet: QuietHours | None
) -> list[PlannedReminder]:
    """Every reminder ``session`` gives, whenever it is due (not filtered by time).

    A scheduled session gives the pre-session kinds (day before at 18:00, two hours before,
    when to stop eating, no alcohol, who drives home); a session that began gives the
    integration prompt at 10:00 the next day; a cancelled one gives nothing. Only the kinds
    its template version lists.
    """
    if session.status == SessionStatus.SCHEDULED:
        return _before_session(session, clinic, patient_id, quiet)
    if session.status in STARTED and ReminderKind.INTEGRATION in session.kinds:
        began = session.started_at or session.starts_at
        moment = days_from(began, 1, INTEGRATION_AT, clinic.timezone)
        sent = send_time(moment, quiet, clinic.timezone)
        return [
            PlannedReminder(
                key=f"{ReminderKind.INTEGRATION}:s{session.id}",
                kind=ReminderKind.INTEGRATION,
                patient_id=patient_id,
                clinic_id=clinic.id,
                session_id=session.id,
                scheduled_for=moment,
                send_at=sent,
                text=wording.integration(),
                path=f"/patient/sessions/{session.id}/integration",
            )
        ]
    return []


def _before_session(
    session: SessionFacts, clinic: ClinicFacts, patient_id: int, quiet: QuietHours | None
) -> list[PlannedReminder]:
    """The pre-session reminders of a scheduled session, in the kinds its template lists."""
    zone = clinic.timezone
    start = session.starts_at
    local_start = to_local(start, zone)
    latest = start - QUIET_HOURS_MARGIN
    # The key names the booked time too: a session moved to another day is a new
    # appointment, and its reminders must go out again (a key is sent once per channel).
    booked = f"s{session.id}:{start:%Y%m%dT%H%MZ}"
    plans: list[PlannedReminder] = []

    def plan(
        kind: ReminderKind,
        moment: datetime,
        words: Callable[[datetime], str],
        deadline: datetime = latest,
        path: str = f"/patient/sessions/{session.id}",
    ) -> None:
        if kind not in session.kinds or moment >= start:
            return
        sent = send_time(moment, quiet, zone, deadline=deadline)
        plans.append(
            PlannedReminder(
                key=f"{kind}:{booked}",
                kind=kind,
                patient_id=patient_id,
                clinic_id=clinic.id,
                session_id=session.id,
                scheduled_for=moment,
                send_at=sent,
                text=words(to_local(sent, zone)),
                path=path,
            )
        )

    plan(
        ReminderKind.SESSION_DAY_BEFORE,
        days_from(start, -1, DAY_BEFORE_AT, zone),
        lambda sent: wording.session_day_before(local_start, sent),
    )
    plan(
        ReminderKind.SESSION_SOON,
        start - SOON_BEFORE,
        lambda sent: wording.session_soon(local_start, sent),
    )
    if clinic.fasting_hours > 0:
        stop = start - timedelta(hours=clinic.fasting_hours)
        plan(
            ReminderKind.FASTING,
            fasting_reminder_at(stop, zone),
            lambda sent: wording.fasting(
                to_local(stop, zone), local_start, sent, clinic.fasting_hours
            ),
            deadline=min(stop, latest),  # "stop eating at 03:00" at 07:00 helps nobody
        )
    if clinic.substance_free_hours > 0:
        plan(
            ReminderKind.NO_ALCOHOL,
            start - timedelta(hours=clinic.substance_free_hours),
            lambda sent: wording.no_alcohol(local_start),
        )
    plan(
        ReminderKind.RIDE,
        days_from(start, -1, RIDE_AT, zone),
        lambda sent: wording.ride(local_start, sent, session.ride_home),
        path=f"/patient/sessions/{session.id}/ride",
    )
    return plans


def checkin_reminders(
    due: Iterable[DueCheckin],
    clinic: ClinicFacts,
    patient_id: int,
    quiet: QuietHours | None,
    now: datetime,
) -> list[PlannedReminder]:
    """One reminder per questionnaire due now, keyed by the local day it fell due.

    It goes out at CHECKIN_AT on that day, or when it fell due if later. One whose time is
    already more than LATE_GRACE past (the patient opted in since, or the worker was down) is
    planned for the current minute instead: a late reminder to answer a questionnaire harms
    nobody, and its key still sends it once.
    """
    zone = clinic.timezone
    plans = []
    for item in due:
        day = local_day_of(item.due_since, zone)
        moment = max(item.due_since, wall_clock_on(day, CHECKIN_AT, zone))
        sent = send_time(moment, quiet, zone)
        if sent < now - LATE_GRACE:
            moment = floor_to_minute(now)
            sent = send_time(moment, quiet, zone)
        plans.append(
            PlannedReminder(
                key=f"{ReminderKind.CHECKIN_DUE}:{item.instrument}:{day.isoformat()}",
                kind=ReminderKind.CHECKIN_DUE,
                patient_id=patient_id,
                clinic_id=clinic.id,
                session_id=item.session_id,
                scheduled_for=moment,
                send_at=sent,
                text=wording.checkin_due(item.name),
                path=f"/patient/check-ins/{item.instrument}",
            )
        )
    return plans
