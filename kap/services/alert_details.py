"""What raised an alert, in words a clinician can act on: which questionnaire and score,
which answer, and how to reach the patient.

An alert raised by a check-in is stored in the same transaction as the answers that raised it
(``measures.checkins.store_scored``) but keeps no link to them, so the response is found as the
patient's check-in of the same moment (within ``SAME_MOMENT``) whose answers raise that kind of
alert. All the open alerts' responses are read in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from kap.extensions import db
from kap.models import Alert, AlertKind, MeasureResponse, TreatmentSession
from kap.models.people import User
from kap.services import audit
from kap.services.measures.checkins import instrument_of
from kap.services.measures.scoring import Instrument
from kap.services.unit_of_work import audited_read

#: An alert and the check-in that raised it are written in one transaction; a minute is far
#: more than that takes and far less than the time between two check-ins.
SAME_MOMENT = timedelta(seconds=60)

#: Kinds raised by a check-in's answers (the others: Call staff and intake review).
MEASURE_KINDS = frozenset(
    {
        AlertKind.PHQ9_ITEM9,
        AlertKind.SIDE_EFFECT_SEVERE,
        AlertKind.BLADDER_SYMPTOMS,
        AlertKind.QUESTIONNAIRE,
    }
)


@dataclass(frozen=True)
class RaisingAnswer:
    """One answer that raised the alert: the question as the patient read it, and their answer."""

    question: str
    answer: str


@dataclass
class AlertDetail:
    """What the alert card shows under its title."""

    #: How to reach the patient. The patient record holds no phone number: ``phone`` stays
    #: None and the card says so, with the e-mail address that does exist.
    email: str
    phone: str | None = None
    instrument: str | None = None
    score: int | None = None
    max_score: int | None = None
    severity: str | None = None
    answered_at: datetime | None = None
    answers: list[RaisingAnswer] = field(default_factory=list)
    #: Call staff: when the session it came from was booked.
    session_at: datetime | None = None


@audited_read
def alert_details(viewer: User, alerts: Sequence[Alert]) -> dict[int, AlertDetail]:
    """Details for each of ``alerts`` (already scoped to ``viewer`` by ``open_alerts``).

    Showing the answers that raised an alert is a clinician read of the patient's check-ins:
    audited once per patient as ``measures.read`` (detail "alert")."""
    details = {alert.id: AlertDetail(email=alert.patient.email) for alert in alerts}
    from_answers = [alert for alert in alerts if alert.kind in MEASURE_KINDS]
    if from_answers:
        _add_answers(details, from_answers)
        for patient_id in sorted({alert.patient_id for alert in from_answers}):
            audit.record(
                "measures.read",
                actor=viewer,
                subject_type="user",
                subject_id=patient_id,
                patient_id=patient_id,
                detail="alert",
            )
    session_ids = {alert.session_id for alert in alerts if alert.kind == AlertKind.CALL_STAFF}
    session_ids.discard(None)
    if session_ids:
        booked = dict(
            db.session.execute(
                select(TreatmentSession.id, TreatmentSession.scheduled_at).where(
                    TreatmentSession.id.in_(session_ids)
                )
            ).all()
        )
        for alert in alerts:
            if alert.kind == AlertKind.CALL_STAFF and alert.session_id in booked:
                details[alert.id].session_at = booked[alert.session_id]
    return details


def _add_answers(details: dict[int, AlertDetail], alerts: list[Alert]) -> None:
    """Fill in the check-in behind each alert raised by answers (one statement for all)."""
    windows = [
        and_(
            MeasureResponse.patient_id == alert.patient_id,
            MeasureResponse.clinic_id == alert.clinic_id,
            MeasureResponse.created_at.between(
                alert.created_at - SAME_MOMENT, alert.created_at + SAME_MOMENT
            ),
        )
        for alert in alerts
    ]
    responses = list(db.session.scalars(select(MeasureResponse).where(or_(*windows))))
    for alert in alerts:
        candidates = sorted(
            (r for r in responses if r.patient_id == alert.patient_id),
            key=lambda r: abs((r.created_at - alert.created_at).total_seconds()),
        )
        for response in candidates:
            raising = _raising_answers(response, alert.kind)
            if raising is None:
                continue
            instrument, answers = raising
            detail = details[alert.id]
            detail.instrument = instrument.name
            detail.answered_at = response.created_at
            detail.answers = answers
            if response.score is not None and instrument.scored:
                detail.score = response.score
                detail.max_score = instrument.max_score
                detail.severity = instrument.band_for(response.score).label
            break


def _raising_answers(
    response: MeasureResponse, kind: str
) -> tuple[Instrument, list[RaisingAnswer]] | None:
    """(instrument, the answers that raise ``kind``), or None when this response raises none."""
    instrument = instrument_of(response)
    answers = [
        RaisingAnswer(item.text, item.label_for(value))
        for item, value in zip(instrument.items, response.answers, strict=False)
        if item.alert_kind == kind
        and item.alert_at_least is not None
        and value is not None
        and value >= item.alert_at_least
    ]
    return (instrument, answers) if answers else None
