"""The printable monitoring record of one session: what the Spravato REMS monitoring form asks.

Clinic, patient, date and booked time, template and route, check-in, what was given
(medication, dose, route, lot, time, by whom), blood pressure at the three protocol times
(before dosing, the post-dose check, before discharge) with heart rate, SpO2, sedation,
dissociation and breathing, every monitoring check, observation times, the time from dosing
to discharge, who signed the discharge off and when, the driver, any override and
reopening, Call staff alerts and check-ins. The page (``templates/board/summary.html``)
and the PDF (``kap/board/summary_pdf.py``) both show this read model, so they say the same;
what is missing reads "Not recorded", never a blank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kap.extensions import db
from kap.models import (
    Alert,
    Clinic,
    MedicationAdministration,
    SessionDischarge,
    SessionObservation,
    SessionStatus,
    TreatmentSession,
    User,
)
from kap.models.base import utcnow
from kap.services import audit
from kap.services.board.administrations import administrations_of
from kap.services.board.clinical_scales import dissociation_text, respiratory_text, sedation_text
from kap.services.board.discharge import discharges_of
from kap.services.board.monitoring import (
    dosed_at,
    observation_ends_at,
    protocol_readings,
    whole_minutes,
)
from kap.services.board.scope import (
    StaffNames,
    call_staff_alerts,
    get_board_session,
    names_of,
    observations_of,
)
from kap.services.board.today import PHASE_LABELS
from kap.services.board.vitals import KINDS, Reading, readings, vitals_limits
from kap.services.errors import NotFound
from kap.services.measures import checkins as measures_service
from kap.services.unit_of_work import audited_read

NOT_RECORDED = "Not recorded"
#: Words for the out-of-range codes stored with an overridden discharge.
CODE_WORDS = {
    "systolic": "systolic",
    "diastolic": "diastolic",
    "heart_rate": "heart rate",
    "spo2": "SpO2",
    "sedation": "sedation MOAA/S",
    "dissociation": "dissociation",
}


def out_of_range_words(codes: str) -> str:
    """'systolic_high,sedation_3' as 'systolic high, sedation MOAA/S 3'."""
    words = []
    for code in filter(None, codes.split(",")):
        if code == "respiratory_concern":
            words.append("respiratory concern")
            continue
        name, _, value = code.rpartition("_")
        words.append(f"{CODE_WORDS.get(name, name)} {value}")
    return ", ".join(words)


@dataclass(frozen=True)
class CheckLine:
    """One observation as the record lists it: vitals flagged, the scales in words."""

    observation: SessionObservation
    kind_label: str
    readings: dict[str, Reading]
    sedation: str
    dissociation: str
    respiratory: str
    recorded_by: str


@dataclass(frozen=True)
class ProtocolTime:
    """One of the three protocol readings (before dosing, post-dose, before discharge)."""

    label: str
    line: CheckLine | None
    missing: str = NOT_RECORDED


@dataclass(frozen=True)
class DoseLine:
    """One administration as given."""

    administration: MedicationAdministration
    dose_text: str
    given_by: str


@dataclass(frozen=True)
class DischargeLine:
    """One discharge, with its override and reopening (when there was one)."""

    record: SessionDischarge
    discharged_by: str
    out_of_range: str
    reopened_by: str


@dataclass(frozen=True)
class MeasureLine:
    """One check-in as the summary lists it."""

    taken_at: datetime
    name: str
    score: int | None
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
            taken_at=view.created_at,
            name=view.name,
            score=view.score,
            severity=view.severity_label or "",
            this_session=view.session_id == session.id,
        )
        for view in measures_service.views_of(responses)
    ]


@dataclass
class Summary:
    """Everything the printable record of one session shows."""

    session: TreatmentSession
    clinic: Clinic
    observation_ends_at: datetime | None
    dosed_at: datetime | None
    checked_in_by: str
    doses: list[DoseLine]
    lines: list[CheckLine]
    protocol: list[ProtocolTime]
    discharges: list[DischargeLine]
    calls: list[Alert]
    names: StaffNames
    limits: dict[str, int]
    measures: list[MeasureLine] | None
    printed_at: datetime = field(default_factory=utcnow)

    @property
    def status_label(self) -> str:
        if self.session.discharged_at is not None:
            return "Discharged"
        status = SessionStatus(self.session.status)
        return PHASE_LABELS.get(status, status.value.capitalize())

    @property
    def minutes_to_ready(self) -> int | None:
        """Minutes from dosing to the (current) discharge: when the patient was ready to leave."""
        started, left = self.dosed_at, self.session.discharged_at
        return whole_minutes(left - started) if started and left else None

    @property
    def current_discharge(self) -> DischargeLine | None:
        """The discharge in force (None when not discharged, or reopened since)."""
        if self.session.discharged_at is None or not self.discharges:
            return None
        latest = self.discharges[-1]
        return None if latest.record.reopened_at else latest

    def name(self, user_id: int | None) -> str:
        """A staff member's name ('a former colleague' once their account is gone)."""
        if user_id is None:
            return NOT_RECORDED
        return self.names.get(user_id, "a former colleague")


def _dose_text(given: MedicationAdministration) -> str:
    dose = given.dose.normalize() if given.dose is not None else None
    return f"{dose:f} {given.unit}".strip() if dose is not None else NOT_RECORDED


def _protocol(
    session: TreatmentSession, lines: list[CheckLine], given: list[MedicationAdministration]
) -> list[ProtocolTime]:
    """Blood pressure at the three times the REMS form asks for: the readings the board
    counts (``board.monitoring.protocol_readings``), so board and record agree."""
    chosen = protocol_readings(session, [line.observation for line in lines], given)
    line_of = {line.observation.id: line for line in lines}

    def line_for(kind: str) -> CheckLine | None:
        observation = chosen[kind]
        return line_of[observation.id] if observation is not None else None

    minutes = session.template_version.post_dose_check_minutes
    post_label = f"Post-dose (about {minutes} min after dosing)" if minutes else "Post-dose"
    post_missing = NOT_RECORDED if minutes else f"{NOT_RECORDED} (not in this template)"
    return [
        ProtocolTime("Before dosing", line_for("pre_dose")),
        ProtocolTime(post_label, line_for("post_dose"), post_missing),
        ProtocolTime("Before discharge (final check)", line_for("final")),
    ]


@audited_read
def summary_for(user: User, session_id: int, action: str = "session.summary.view") -> Summary:
    """Everything a clinic files about one session (audited as a read of patient data)."""
    session = get_board_session(user, session_id)
    observations = observations_of([session.id])[session.id]
    limits = vitals_limits(user.clinic)
    given = administrations_of([session.id])[session.id]
    history = discharges_of(session.id)
    calls = list(
        db.session.scalars(
            call_staff_alerts(user)
            .where(Alert.session_id == session.id)
            .order_by(Alert.created_at, Alert.id)
        )
    )
    names = names_of(
        {session.discharged_by_id, session.checked_in_by_id}
        | {o.recorded_by_id for o in observations}
        | {g.given_by_id for g in given}
        | {d.discharged_by_id for d in history}
        | {d.reopened_by_id for d in history}
        | {a.acknowledged_by_id for a in calls}
        | {a.resolved_by_id for a in calls}
    )
    audit.record(
        action,
        actor=user,
        subject_type="session",
        subject_id=session.id,
        patient_id=session.patient_id,
    )
    summary = Summary(
        session=session,
        clinic=user.clinic,
        observation_ends_at=observation_ends_at(session, given),
        dosed_at=dosed_at(session, given),
        checked_in_by="",
        doses=[],
        lines=[],
        protocol=[],
        discharges=[],
        calls=calls,
        names=names,
        limits=limits,
        measures=_measure_lines(user, session),
    )
    summary.checked_in_by = summary.name(session.checked_in_by_id)
    summary.doses = [DoseLine(g, _dose_text(g), summary.name(g.given_by_id)) for g in given]
    summary.lines = [
        CheckLine(
            observation=o,
            kind_label=KINDS.get(o.kind, o.kind),
            readings=readings(o, limits),
            sedation=sedation_text(o.sedation) or NOT_RECORDED,
            dissociation=dissociation_text(o.dissociation) or NOT_RECORDED,
            respiratory=respiratory_text(o.respiratory_concern) or NOT_RECORDED,
            recorded_by=summary.name(o.recorded_by_id),
        )
        for o in observations
    ]
    summary.protocol = _protocol(session, summary.lines, given)
    summary.discharges = [
        DischargeLine(
            record=d,
            discharged_by=summary.name(d.discharged_by_id),
            out_of_range=out_of_range_words(d.out_of_range),
            reopened_by=summary.name(d.reopened_by_id) if d.reopened_at else "",
        )
        for d in history
    ]
    return summary
