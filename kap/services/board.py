"""The clinic session board: today's sessions, vitals, monitoring checks, discharge, Call staff.

Scope: the board shows the whole clinic's sessions to every therapist and clinic admin of that
clinic, not only a therapist's care list (``scheduling.sessions_visible_to``). On a session day
whoever is on the floor watches every room: a Call staff from Room 2 must reach the therapist
standing next to it even when the patient is a colleague's. So the queries here are scoped to
``user.clinic_id`` alone, and show only what floor staff need (name, room, phase, vitals) —
never intentions, journal entries or clinical notes.

Observation runs from the start of the session (dosing) for the template's
``observation_minutes``. Monitoring checks fall due every ``monitoring_interval_minutes``:
the first that long after dosing, each next one that long after the latest check. Discharge
needs the observation time to have passed and a final vitals check recorded since dosing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import selectinload

from kap.extensions import db
from kap.models import (
    Alert,
    AlertKind,
    Clinic,
    SessionObservation,
    SessionStatus,
    TemplateVersion,
    TreatmentSession,
    User,
)
from kap.models.base import utcnow
from kap.services import alerts, audit
from kap.services import measures as measures_service
from kap.services.errors import Conflict, Invalid, NotFound
from kap.services.measures_scoring import INSTRUMENTS, severity_for
from kap.services.scheduling import local_to_utc, to_local

VITALS = ("systolic", "diastolic", "heart_rate", "spo2")
VITAL_LABELS = {
    "systolic": "Systolic",
    "diastolic": "Diastolic",
    "heart_rate": "Heart rate",
    "spo2": "SpO2",
}
#: Out-of-range limits used until a clinic sets its own in ``Clinic.vitals_limits``.
DEFAULT_VITALS_LIMITS = {
    "systolic_min": 90,
    "systolic_max": 160,
    "diastolic_min": 50,
    "diastolic_max": 100,
    "heart_rate_min": 50,
    "heart_rate_max": 110,
    "spo2_min": 94,
}
#: Values outside these are typing mistakes, not readings (refused with a field message).
PLAUSIBLE = {
    "systolic": (50, 260),
    "diastolic": (20, 160),
    "heart_rate": (20, 250),
    "spo2": (50, 100),
}
KINDS = {"pre_dose": "Before dosing", "check": "Observation check", "final": "Final check"}
MAX_NOTE_LENGTH = 500
PHASE_LABELS = {
    SessionStatus.SCHEDULED: "Not started",
    SessionStatus.SESSION: "Session (dosed)",
    SessionStatus.DOWNTIME: "Downtime",
    SessionStatus.INTEGRATION: "Integration",
    SessionStatus.COMPLETE: "Finished, awaiting discharge",
}
#: A started session stays on the board past midnight until it is discharged.
CARRY_OVER = timedelta(hours=24)


def minutes_text(minutes: int) -> str:
    """'45 min', '2 h', '1 h 05 min'."""
    hours, rest = divmod(max(minutes, 0), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest:02d} min"


def _whole_minutes(delta: timedelta) -> int:
    return max(int(delta.total_seconds() // 60), 0)


def _minutes_until(later: datetime, now: datetime) -> str:
    """Whole minutes from ``now`` to ``later``, rounded up (a countdown never shows 0 early)."""
    return minutes_text(-int((now - later).total_seconds() // 60))


def _ago(delta: timedelta) -> str:
    minutes = _whole_minutes(delta)
    return f"{minutes_text(minutes)} ago" if minutes else "just now"


def _clock(moment: datetime, clinic: Clinic) -> str:
    return to_local(moment, clinic.timezone).strftime("%H:%M")


# --- Vitals limits and flags ---------------------------------------------------------------


def vitals_limits(clinic: Clinic) -> dict[str, int]:
    """The clinic's out-of-range limits: its own settings over the defaults."""
    own = {
        key: value
        for key, value in (clinic.vitals_limits or {}).items()
        if key in DEFAULT_VITALS_LIMITS and isinstance(value, int) and not isinstance(value, bool)
    }
    return {**DEFAULT_VITALS_LIMITS, **own}


@dataclass(frozen=True)
class Reading:
    """One measured value and whether it is outside the clinic's limits."""

    name: str
    label: str
    value: int | None
    flag: str | None  # "high", "low" or None

    @property
    def flag_text(self) -> str:
        return {"high": "High", "low": "Low"}.get(self.flag or "", "")


def flag_for(name: str, value: int | None, limits: dict[str, int]) -> str | None:
    """'low', 'high' or None for one value."""
    if value is None:
        return None
    low, high = limits.get(f"{name}_min"), limits.get(f"{name}_max")
    if low is not None and value < low:
        return "low"
    if high is not None and value > high:
        return "high"
    return None


def readings(observation: SessionObservation, limits: dict[str, int]) -> dict[str, Reading]:
    """The observation's vitals, each flagged against ``limits``."""
    return {
        name: Reading(
            name,
            VITAL_LABELS[name],
            getattr(observation, name),
            flag_for(name, getattr(observation, name), limits),
        )
        for name in VITALS
    }


def has_vitals(observation: SessionObservation) -> bool:
    return any(getattr(observation, name) is not None for name in VITALS)


# --- Scoped queries ------------------------------------------------------------------------


def sessions_on_board(user: User) -> Select[tuple[TreatmentSession]]:
    """Every session of the user's clinic, for staff (see the module docstring for why)."""
    query = select(TreatmentSession).where(TreatmentSession.clinic_id == user.clinic_id)
    return query if user.is_clinician else query.where(False)


def get_board_session(user: User, session_id: int) -> TreatmentSession:
    """A session of the user's clinic, or NotFound."""
    session = db.session.scalar(sessions_on_board(user).where(TreatmentSession.id == session_id))
    if session is None:
        raise NotFound("No such session.")
    return session


def _call_staff_alerts(user: User) -> Select[tuple[Alert]]:
    query = select(Alert).where(
        Alert.clinic_id == user.clinic_id, Alert.kind == AlertKind.CALL_STAFF
    )
    return query if user.is_clinician else query.where(False)


def _todays_sessions(user: User, now: datetime) -> list[TreatmentSession]:
    zone = user.clinic.timezone
    today = to_local(now, zone).date()
    start = local_to_utc(today, time(0), zone)
    end = local_to_utc(today + timedelta(days=1), time(0), zone)
    still_here = and_(
        TreatmentSession.session_started_at >= now - CARRY_OVER,
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


def _observations_of(session_ids: list[int]) -> dict[int, list[SessionObservation]]:
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


def _names(user_ids: set[int | None]) -> dict[int, str]:
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


# --- The rules -----------------------------------------------------------------------------


def observation_ends_at(session: TreatmentSession) -> datetime | None:
    """When the monitored observation is over (None until dosing)."""
    if session.session_started_at is None:
        return None
    return session.session_started_at + timedelta(
        minutes=session.template_version.observation_minutes
    )


def _monitoring_checks(
    session: TreatmentSession, observations: list[SessionObservation]
) -> list[SessionObservation]:
    started = session.session_started_at
    if started is None:
        return []
    return [o for o in observations if o.kind in ("check", "final") and o.recorded_at >= started]


def next_check_due_at(
    session: TreatmentSession, observations: list[SessionObservation], interval_minutes: int
) -> datetime | None:
    """The interval after the latest monitoring check, or after dosing if none (None before)."""
    if session.session_started_at is None or session.discharged_at is not None:
        return None
    checks = _monitoring_checks(session, observations)
    latest = checks[-1].recorded_at if checks else session.session_started_at
    return latest + timedelta(minutes=interval_minutes)


def discharge_blockers(
    session: TreatmentSession,
    observations: list[SessionObservation],
    clinic: Clinic,
    now: datetime,
) -> list[str]:
    """What still stands between this session and discharge, in words (empty: ready)."""
    if session.status == SessionStatus.CANCELLED:
        return ["This session was cancelled."]
    if session.discharged_at is not None:
        return [f"Already discharged at {_clock(session.discharged_at, clinic)}."]
    ends = observation_ends_at(session)
    if ends is None:
        return [
            "The session has not started: observation begins at dosing.",
            "Record a final vitals check after observation has begun.",
        ]
    reasons = []
    if now < ends:
        left = _minutes_until(ends, now)
        reasons.append(f"Observation runs until {_clock(ends, clinic)} ({left} left).")
    if not any(o.kind == "final" for o in _monitoring_checks(session, observations)):
        reasons.append("Record a final vitals check (none since observation began).")
    return reasons


def suggested_kind(session: TreatmentSession, now: datetime) -> str:
    """The vitals kind staff most likely record next."""
    ends = observation_ends_at(session)
    if ends is None:
        return "pre_dose"
    return "final" if now >= ends else "check"


# --- What the board shows ------------------------------------------------------------------


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
    discharge_blockers: list[str]
    suggested_kind: str
    checks_count: int
    has_call: bool = False
    discharged_by: str = ""

    @property
    def latest_kind_label(self) -> str:
        return KINDS.get(self.latest_vitals.kind, "") if self.latest_vitals else ""

    @property
    def needs_attention(self) -> bool:
        return self.check_overdue or self.out_of_range or self.has_call


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
) -> BoardRow:
    """Work out one session's line on the board."""
    label, since = _phase(session)
    ends = observation_ends_at(session)
    if ends is None:
        minutes = session.template_version.observation_minutes
        observation_text = f"{minutes_text(minutes)} from dosing"
    elif now >= ends:
        observation_text = f"Complete since {_clock(ends, clinic)}"
    else:
        left = _minutes_until(ends, now)
        observation_text = f"{left} left (until {_clock(ends, clinic)})"
    interval = clinic.monitoring_interval_minutes
    due = next_check_due_at(session, observations, interval)
    overdue = due is not None and now > due
    if due is None:
        check_text = "From dosing, every " + minutes_text(interval)
    elif overdue:
        check_text = (
            f"Overdue by {minutes_text(_whole_minutes(now - due))} (due {_clock(due, clinic)})"
        )
    else:
        check_text = f"Due {_clock(due, clinic)} (in {_minutes_until(due, now)})"
    with_vitals = [o for o in observations if has_vitals(o)]
    latest = with_vitals[-1] if with_vitals else None
    limits = vitals_limits(clinic)
    latest_readings = readings(latest, limits) if latest else {}
    return BoardRow(
        session=session,
        phase_label=label,
        phase_since=since,
        time_in_phase=minutes_text(_whole_minutes(now - since)) if since else "",
        observation_ends_at=ends,
        observation_text=observation_text,
        observation_over=ends is not None and now >= ends,
        next_check_due_at=due,
        check_overdue=overdue,
        check_text=check_text,
        latest_vitals=latest,
        latest_readings=latest_readings,
        out_of_range=any(r.flag for r in latest_readings.values()),
        discharge_blockers=discharge_blockers(session, observations, clinic, now),
        suggested_kind=suggested_kind(session, now),
        checks_count=len(_monitoring_checks(session, observations)),
    )


def board_for(user: User, now: datetime | None = None) -> Board:
    """Today's board for the user's clinic: open Call staff alerts, active and discharged."""
    now = now or utcnow()
    clinic = user.clinic
    sessions = _todays_sessions(user, now)
    observations = _observations_of([s.id for s in sessions])
    board = Board(now=now, interval_minutes=clinic.monitoring_interval_minutes)
    alerts = list(
        db.session.scalars(
            _call_staff_alerts(user)
            .where(Alert.resolved_at.is_(None))
            .options(selectinload(Alert.patient))
            .order_by(Alert.created_at, Alert.id)
        )
    )
    call_sessions = {a.session_id for a in alerts if a.session_id}
    rooms = dict(
        db.session.execute(
            select(TreatmentSession.id, TreatmentSession.location_label).where(
                TreatmentSession.id.in_(call_sessions)
            )
        ).all()
        if call_sessions
        else {}
    )
    names = _names({a.acknowledged_by_id for a in alerts} | {s.discharged_by_id for s in sessions})
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
    for session in sessions:
        row = board_row(session, observations[session.id], clinic, now)
        row.has_call = session.id in calling
        row.discharged_by = names.get(session.discharged_by_id, "")
        (board.discharged if session.discharged_at else board.active).append(row)
    return board


def record_board_view(user: User) -> None:
    """Audit that ``user`` opened the board (its automatic refreshes are not recorded)."""
    audit.record("board.view", actor=user, subject_type="board")


# --- Writes --------------------------------------------------------------------------------


def _writable(session: TreatmentSession) -> None:
    if session.status == SessionStatus.CANCELLED:
        raise Conflict("This session was cancelled.")
    if session.discharged_at is not None:
        raise Conflict("This patient has been discharged; the session record is closed.")


def _clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise Invalid("The note is too long.", {"note": [f"Up to {MAX_NOTE_LENGTH} characters."]})
    return note


def validate_vitals(kind: str, values: dict[str, int | None]) -> dict[str, list[str]]:
    """Field problems with a vitals reading (empty when it is plausible and complete)."""
    problems: dict[str, list[str]] = {}
    if kind not in KINDS:
        problems["kind"] = ["Choose before dosing, observation check or final check."]
    for name in ("systolic", "diastolic", "heart_rate"):
        if values.get(name) is None:
            problems[name] = [f"Enter the {VITAL_LABELS[name].lower()}."]
    for name, (low, high) in PLAUSIBLE.items():
        value = values.get(name)
        if value is not None and not low <= value <= high:
            unit = "%" if name == "spo2" else ""
            problems[name] = [f"{VITAL_LABELS[name]} must be between {low} and {high}{unit}."]
    systolic, diastolic = values.get("systolic"), values.get("diastolic")
    both = systolic is not None and diastolic is not None and "diastolic" not in problems
    if both and diastolic >= systolic:
        problems["diastolic"] = ["Diastolic must be lower than systolic."]
    return problems


def record_vitals(
    user: User,
    session_id: int,
    *,
    kind: str,
    values: dict[str, int | None],
    note: str = "",
    now: datetime | None = None,
) -> SessionObservation:
    """Record blood pressure, heart rate and SpO2 (SpO2 optional) for a session of the clinic."""
    session = get_board_session(user, session_id)
    problems = validate_vitals(kind, values)
    if kind == "final" and session.session_started_at is None:
        problems.setdefault("kind", []).append(
            "A final check is taken after dosing; record these as before dosing."
        )
    if problems:
        raise Invalid("Some values need another look.", problems)
    note = _clean_note(note)
    _writable(session)
    observation = SessionObservation(
        session_id=session.id,
        clinic_id=session.clinic_id,
        kind=kind,
        recorded_at=now or utcnow(),
        recorded_by_id=user.id,
        note=note,
        **{name: values.get(name) for name in VITALS},
    )
    db.session.add(observation)
    db.session.flush()
    flags = readings(observation, vitals_limits(user.clinic))
    out = ",".join(f"{r.name}_{r.flag}" for r in flags.values() if r.flag)
    audit.record(
        "session.vitals",
        actor=user,
        subject_type="session_observation",
        subject_id=observation.id,
        patient_id=session.patient_id,
        detail=f"kind={kind}" + (f"; out_of_range={out}" if out else ""),
        commit=False,
    )
    db.session.commit()
    return observation


def record_check(
    user: User, session_id: int, note: str = "", now: datetime | None = None
) -> SessionObservation:
    """A timestamped monitoring check during observation (the patient was seen; note optional)."""
    session = get_board_session(user, session_id)
    note = _clean_note(note)
    _writable(session)
    if session.session_started_at is None:
        raise Conflict("The session has not started; record pre-dose vitals instead.")
    observation = SessionObservation(
        session_id=session.id,
        clinic_id=session.clinic_id,
        kind="check",
        recorded_at=now or utcnow(),
        recorded_by_id=user.id,
        note=note,
    )
    db.session.add(observation)
    db.session.flush()
    audit.record(
        "session.check",
        actor=user,
        subject_type="session_observation",
        subject_id=observation.id,
        patient_id=session.patient_id,
        commit=False,
    )
    db.session.commit()
    return observation


def discharge(user: User, session_id: int, now: datetime | None = None) -> TreatmentSession:
    """Discharge the patient; Conflict (with every reason) when it is too early."""
    now = now or utcnow()
    session = get_board_session(user, session_id)
    observations = _observations_of([session.id])[session.id]
    reasons = discharge_blockers(session, observations, user.clinic, now)
    if reasons:
        raise Conflict("Not yet: " + " ".join(reasons), {"discharge": reasons})
    session.discharged_at = now
    session.discharged_by_id = user.id
    audit.record(
        "session.discharge",
        actor=user,
        subject_type="session",
        subject_id=session.id,
        patient_id=session.patient_id,
        commit=False,
    )
    db.session.commit()
    return session


def get_call_for(user: User, alert_id: int) -> Alert:
    """A Call staff alert of the user's clinic (open or closed), or NotFound."""
    alert = db.session.scalar(_call_staff_alerts(user).where(Alert.id == alert_id))
    if alert is None:
        raise NotFound("No such alert.")
    return alert


def acknowledge_call(user: User, alert_id: int) -> Alert:
    """'I am on my way': any staff member of the clinic may acknowledge (idempotent)."""
    return alerts.acknowledge(user, get_call_for(user, alert_id))


def resolve_call(user: User, alert_id: int, note: str) -> Alert:
    """Close a Call staff alert with a note on what was done."""
    return alerts.resolve(user, note, lambda: get_call_for(user, alert_id))


# --- The printable summary -----------------------------------------------------------------


@dataclass
class SummaryLine:
    observation: SessionObservation
    kind_label: str
    readings: dict[str, Reading]


@dataclass(frozen=True)
class MeasureLine:
    """One check-in as the summary lists it."""

    taken_at: datetime
    name: str
    score: int
    severity: str
    this_session: bool


def _measure_lines(user: User, session: TreatmentSession) -> list[MeasureLine] | None:
    """The patient's check-ins for their care team and clinic admins; None for other staff.

    Measures belong to the care (unlike the floor data on the board), so the summary follows
    ``measures.history``'s scope and its audited read.
    """
    try:
        responses = measures_service.history(user, session.patient_id)
    except NotFound:
        return None
    return [
        MeasureLine(
            taken_at=r.created_at,
            name=INSTRUMENTS[r.instrument].name,
            score=r.score,
            severity=severity_for(r.instrument, r.score).label,
            this_session=r.session_id == session.id,
        )
        for r in responses
    ]


@dataclass
class Summary:
    session: TreatmentSession
    clinic: Clinic
    observation_ends_at: datetime | None
    lines: list[SummaryLine]
    calls: list[Alert]
    names: dict[int, str]
    limits: dict[str, int]
    measures: list[MeasureLine] | None
    printed_at: datetime = field(default_factory=utcnow)

    @property
    def status_label(self) -> str:
        if self.session.discharged_at is not None:
            return "Discharged"
        status = SessionStatus(self.session.status)
        return PHASE_LABELS.get(status, status.value.capitalize())


def summary_for(user: User, session_id: int) -> Summary:
    """Everything a clinic files about one session (audited as a read of patient data)."""
    session = get_board_session(user, session_id)
    observations = _observations_of([session.id])[session.id]
    limits = vitals_limits(user.clinic)
    calls = list(
        db.session.scalars(
            _call_staff_alerts(user)
            .where(Alert.session_id == session.id)
            .order_by(Alert.created_at, Alert.id)
        )
    )
    names = _names(
        {session.discharged_by_id}
        | {o.recorded_by_id for o in observations}
        | {a.acknowledged_by_id for a in calls}
        | {a.resolved_by_id for a in calls}
    )
    audit.record(
        "session.summary.view",
        actor=user,
        subject_type="session",
        subject_id=session.id,
        patient_id=session.patient_id,
    )
    return Summary(
        session=session,
        clinic=user.clinic,
        observation_ends_at=observation_ends_at(session),
        lines=[
            SummaryLine(o, KINDS.get(o.kind, o.kind), readings(o, limits)) for o in observations
        ],
        calls=calls,
        names=names,
        limits=limits,
        measures=_measure_lines(user, session),
    )
