"""The clinic session board for today: each session's phase, timing and latest vitals.

The board shows the whole clinic's sessions to its staff (``board.scope`` says why), with open
Call staff alerts first. What staff record from it is in ``board.actions``, the printable
record of one session in ``board.summary``, and the timing rules in ``board.monitoring``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from kap.extensions import db
from kap.models import (
    Alert,
    Clinic,
    MedicationAdministration,
    SessionObservation,
    SessionStatus,
    TemplateVersion,
    TreatmentSession,
    User,
)
from kap.models.base import utcnow
from kap.services import audit
from kap.services.board import discharge_rules
from kap.services.board.administrations import administrations_of
from kap.services.board.monitoring import (
    CARRY_OVER,
    clock_time,
    dosed_at,
    minutes_text,
    minutes_until,
    monitoring_checks,
    next_check_due_at,
    observation_ends_at,
    suggested_kind,
    whole_minutes,
)
from kap.services.board.records import RowRecords, records_for
from kap.services.board.scope import (
    call_staff_alerts,
    names_of,
    observations_of,
    reopenings_of,
    sessions_on_board,
)
from kap.services.board.vitals import KINDS, Reading, has_vitals, readings, vitals_limits
from kap.services.screening import readiness
from kap.services.unit_of_work import use_case
from kap.timezones import local_day_bounds

PHASE_LABELS = {
    SessionStatus.SCHEDULED: "Not started",
    SessionStatus.SESSION: "Session (dosed)",
    SessionStatus.DOWNTIME: "Downtime",
    SessionStatus.INTEGRATION: "Integration",
    SessionStatus.COMPLETE: "Finished, awaiting discharge",
}


def _ago(delta: timedelta) -> str:
    minutes = whole_minutes(delta)
    return f"{minutes_text(minutes)} ago" if minutes else "just now"


def _todays_sessions(user: User, now: datetime) -> list[TreatmentSession]:
    start, end = local_day_bounds(now, user.clinic.timezone)
    since = now - CARRY_OVER
    dosed_lately = (
        select(MedicationAdministration.id)
        .where(
            MedicationAdministration.session_id == TreatmentSession.id,
            MedicationAdministration.given_at >= since,
        )
        .exists()
    )
    # Started, checked in or dosed within the carry-over and not discharged: still under
    # the clinic's care past local midnight, so still on the board.
    still_here = and_(
        or_(
            TreatmentSession.session_started_at >= since,
            TreatmentSession.checked_in_at >= since,
            dosed_lately,
        ),
        TreatmentSession.discharged_at.is_(None),
    )
    query = (
        sessions_on_board(user)
        .where(
            TreatmentSession.status != SessionStatus.CANCELLED,
            or_(
                and_(TreatmentSession.scheduled_at >= start, TreatmentSession.scheduled_at < end),
                still_here,
            ),
        )
        .options(
            selectinload(TreatmentSession.patient),
            selectinload(TreatmentSession.template_version).selectinload(TemplateVersion.template),
        )
        .order_by(TreatmentSession.scheduled_at, TreatmentSession.id)
    )
    return list(db.session.scalars(query))


@dataclass
class BoardRow:
    """One session on the board, with everything worked out for display."""

    session: TreatmentSession
    phase_label: str
    phase_since: datetime | None
    time_in_phase: str
    observation_ends_at: datetime | None
    observation_text: str
    observation_over: bool
    next_check_due_at: datetime | None
    check_overdue: bool
    check_text: str
    latest_vitals: SessionObservation | None
    latest_readings: dict[str, Reading]
    out_of_range: bool
    discharge: discharge_rules.Readiness
    suggested_kind: str
    checks_count: int
    has_call: bool = False
    discharged_by: str = ""
    records: RowRecords = field(default_factory=RowRecords)
    can_reopen: bool = False
    #: Before the start: what the template requires and the patient lacks (intake, consent).
    waiting_for: tuple[str, ...] = ()

    @property
    def latest_kind_label(self) -> str:
        return KINDS.get(self.latest_vitals.kind, "") if self.latest_vitals else ""

    @property
    def needs_attention(self) -> bool:
        return (
            self.check_overdue
            or self.out_of_range
            or self.has_call
            or self.records.overdue
            or self.records.breathing_concern
        )


@dataclass
class CallView:
    """An unresolved Call staff alert, with who acknowledged it."""

    alert: Alert
    patient_name: str
    room: str
    waiting: str
    acknowledged_by: str = ""


@dataclass
class Board:
    """Today's board: open calls first, then active and discharged sessions."""

    now: datetime
    calls: list[CallView] = field(default_factory=list)
    active: list[BoardRow] = field(default_factory=list)
    discharged: list[BoardRow] = field(default_factory=list)
    interval_minutes: int = 15


def _phase(session: TreatmentSession) -> tuple[str, datetime | None]:
    since = {
        SessionStatus.SCHEDULED: None,
        SessionStatus.SESSION: session.session_started_at,
        SessionStatus.DOWNTIME: session.downtime_started_at,
        SessionStatus.INTEGRATION: session.integration_started_at,
        SessionStatus.COMPLETE: session.completed_at,
    }.get(SessionStatus(session.status))
    return PHASE_LABELS.get(SessionStatus(session.status), session.status), since


def board_row(
    session: TreatmentSession,
    observations: list[SessionObservation],
    clinic: Clinic,
    now: datetime,
    administrations: list[MedicationAdministration] | None = None,
    reopened_at: datetime | None = None,
) -> BoardRow:
    """Work out one session's line on the board (timing from the administrations, if any)."""
    given = administrations or []
    label, since = _phase(session)
    if since is None and given:  # dosed by staff before the patient pressed Start session
        label, since = "Dosed", dosed_at(session, given)
    ends = observation_ends_at(session, given)
    if ends is None:
        minutes = session.template_version.observation_minutes
        observation_text = f"{minutes_text(minutes)} from dosing"
    elif now >= ends:
        observation_text = f"Complete since {clock_time(ends, clinic)}"
    else:
        left = minutes_until(ends, now)
        observation_text = f"{left} left (until {clock_time(ends, clinic)})"
    interval = clinic.monitoring_interval_minutes
    due = next_check_due_at(session, observations, interval, given)
    overdue = due is not None and now > due
    if due is None:
        check_text = "From dosing, every " + minutes_text(interval)
    elif overdue:
        check_text = (
            f"Overdue by {minutes_text(whole_minutes(now - due))} (due {clock_time(due, clinic)})"
        )
    else:
        check_text = f"Due {clock_time(due, clinic)} (in {minutes_until(due, now)})"
    with_vitals = [o for o in observations if has_vitals(o)]
    latest = with_vitals[-1] if with_vitals else None
    limits = vitals_limits(clinic)
    latest_readings = readings(latest, limits) if latest else {}
    return BoardRow(
        session=session,
        phase_label=label,
        phase_since=since,
        time_in_phase=minutes_text(whole_minutes(now - since)) if since else "",
        observation_ends_at=ends,
        observation_text=observation_text,
        observation_over=ends is not None and now >= ends,
        next_check_due_at=due,
        check_overdue=overdue,
        check_text=check_text,
        latest_vitals=latest,
        latest_readings=latest_readings,
        out_of_range=any(r.flag for r in latest_readings.values()),
        discharge=discharge_rules.readiness(session, observations, clinic, now, given, reopened_at),
        suggested_kind=suggested_kind(session, now, given, observations),
        checks_count=len(monitoring_checks(session, observations, given)),
        can_reopen=discharge_rules.can_reopen(session, now),
    )


def board_for(user: User, now: datetime | None = None) -> Board:
    """Today's board for the user's clinic: open Call staff alerts, active and discharged."""
    now = now or utcnow()
    clinic = user.clinic
    sessions = _todays_sessions(user, now)
    observations = observations_of([s.id for s in sessions])
    administrations = administrations_of([s.id for s in sessions])
    reopenings = reopenings_of([s.id for s in sessions])
    board = Board(now=now, interval_minutes=clinic.monitoring_interval_minutes)
    alerts = list(
        db.session.scalars(
            call_staff_alerts(user)
            .where(Alert.resolved_at.is_(None))
            .options(selectinload(Alert.patient))
            .order_by(Alert.created_at, Alert.id)
        )
    )
    # Calls nobody has acknowledged yet stay on top; acknowledged ones follow until resolved.
    alerts.sort(key=lambda alert: alert.acknowledged_at is not None)
    call_sessions = {a.session_id for a in alerts if a.session_id}
    rooms: dict[int | None, str] = dict(  # looked up by the alerts' optional session ids
        db.session.execute(
            select(TreatmentSession.id, TreatmentSession.location_label).where(
                TreatmentSession.id.in_(call_sessions)
            )
        ).all()
        if call_sessions
        else {}
    )
    names = names_of(
        {a.acknowledged_by_id for a in alerts}
        | {s.discharged_by_id for s in sessions}
        | {s.checked_in_by_id for s in sessions}
        | {g.given_by_id for given in administrations.values() for g in given}
    )
    calling = set()
    for alert in alerts:
        calling.add(alert.session_id)
        board.calls.append(
            CallView(
                alert=alert,
                patient_name=alert.patient.name,
                room=rooms.get(alert.session_id) or "",
                waiting=_ago(now - alert.created_at),
                acknowledged_by=(names.get(alert.acknowledged_by_id) or "a former colleague")
                if alert.acknowledged_at
                else "",
            )
        )
    not_started = [s for s in sessions if s.status == SessionStatus.SCHEDULED]
    waiting = readiness.waiting_for(not_started)
    for session in sessions:
        given = administrations[session.id]
        reopened_at = reopenings.get(session.id)
        row = board_row(session, observations[session.id], clinic, now, given, reopened_at)
        row.records = records_for(session, observations[session.id], given, clinic, names, now)
        row.has_call = session.id in calling
        row.waiting_for = waiting.get(session.id, ())
        row.discharged_by = names.get(session.discharged_by_id, "")
        (board.discharged if session.discharged_at else board.active).append(row)
    return board


@use_case
def record_board_view(user: User) -> None:
    """Audit that ``user`` opened the board (its automatic refreshes are not recorded)."""
    audit.record("board.view", actor=user, subject_type="board")
