"""The printable summary of one session: phases, vitals, checks, Call staff and check-ins."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kap.extensions import db
from kap.models import Alert, Clinic, SessionObservation, SessionStatus, TreatmentSession, User
from kap.models.base import utcnow
from kap.services import audit
from kap.services import measures as measures_service
from kap.services.board import PHASE_LABELS
from kap.services.board_scope import call_staff_alerts, get_board_session, names_of, observations_of
from kap.services.errors import NotFound
from kap.services.measures_scoring import INSTRUMENTS, severity_for
from kap.services.session_monitoring import observation_ends_at
from kap.services.vitals import KINDS, Reading, readings, vitals_limits


@dataclass
class SummaryLine:
    """One observation as the summary lists it, its vitals flagged."""

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
    """Everything the printable record of one session shows."""

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
    observations = observations_of([session.id])[session.id]
    limits = vitals_limits(user.clinic)
    calls = list(
        db.session.scalars(
            call_staff_alerts(user)
            .where(Alert.session_id == session.id)
            .order_by(Alert.created_at, Alert.id)
        )
    )
    names = names_of(
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
