"""Demo check-ins: PHQ-9, GAD-7 and PCL-5 for patient@demo.test that fall across the course,
and a side-effect check after the last session.

Idempotent (each demo check-in has a fixed client_id) and quiet: written directly, not
through record_checkin, so no audit rows, and item 9 is always 0 and no side effect is rated
severe, so no safety alert.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from kap.extensions import db
from kap.models import MeasureResponse, SessionStatus, TreatmentSession, User
from kap.models.base import utcnow
from kap.services.measures.scoring import BUILT_IN, score_answers
from kap.timezones import local_to_utc, to_local

#: Totals per check-in, oldest first: one before each of the three past demo sessions, then
#: the weekly one after the last (extra check-in times, if any, get no score and are skipped).
#: PHQ-9 19 → 7 is a response (≥ 50 % drop) short of remission, as many courses go; PCL-5
#: 48 → 29 is a response (≥ 10 points) and falls below the cut-off of 33.
DEMO_SCORES = {
    "phq9": (19, 14, 10, 7),
    "gad7": (15, 12, 9, 7),
    "pcl5": (48, 41, 35, 29),
}
#: The side-effect check two hours after the last session: mild nausea, dizziness, headache.
DEMO_SIDE_EFFECTS = [1, 1, 0, 1, 0]

#: The order in which points land on items: mood and energy carry most of the weight.
_ITEM_ORDER = {
    "phq9": (1, 0, 3, 2, 5, 6, 4, 7),  # never item 9 (index 8)
    "gad7": (0, 1, 2, 3, 5, 6, 4),
    # intrusions, avoidance and mood first, as a person with PTSD might answer
    "pcl5": (0, 1, 3, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 19, 2, 4, 11, 18),
}


def demo_answers(instrument: str, score: int) -> list[int]:
    """Answers (0 to 3 each) that add up to ``score``, spread the way a person's might."""
    answers = [0] * len(BUILT_IN[instrument].scored_items)
    left = score
    for _ in range(3):  # three passes of at most one point per item
        for index in _ITEM_ORDER[instrument]:
            if left and answers[index] < 3:
                answers[index] += 1
                left -= 1
    if left:
        raise ValueError(f"{score} does not fit the demo answer pattern of {instrument}")
    if instrument == "phq9":  # the unscored difficulty question, as people tend to answer it
        answers.append(2 if score >= 15 else 1 if score >= 5 else 0)
    return answers


def _evening_before(moment: datetime, timezone: str) -> datetime:
    """19:30 local on the day before ``moment``: when people tend to fill these in."""
    day = to_local(moment, timezone).date() - timedelta(days=1)
    return local_to_utc(day, time(19, 30), timezone)


def _check_in_times(sessions: list[TreatmentSession], now: datetime, zone: str, interval: int):
    """(when, session_id): the evening before each past session, then every ``interval``
    days after the last one (in the evening), up to now."""
    times = [(_evening_before(s.scheduled_at, zone), s.id) for s in sessions]
    if sessions:
        after = _evening_before(sessions[-1].completed_at + timedelta(days=interval + 1), zone)
        while after <= now:
            times.append((after, None))
            after += timedelta(days=interval)
    return times


def seed_demo_measures(users: dict[str, User], now: datetime | None = None) -> None:
    """Give patient@demo.test a realistic check-in history across their past sessions."""
    patient = users["patient@demo.test"]
    now = now or utcnow()
    past = db.session.scalars(
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient.id,
            TreatmentSession.status == SessionStatus.COMPLETE,
            TreatmentSession.completed_at.is_not(None),
        )
        .order_by(TreatmentSession.scheduled_at)
    ).all()
    existing = set(
        db.session.scalars(
            select(MeasureResponse.client_id).where(MeasureResponse.patient_id == patient.id)
        )
    )
    clinic = patient.clinic
    times = _check_in_times(list(past), now, clinic.timezone, clinic.checkin_interval_days)
    for instrument, scores in DEMO_SCORES.items():
        for number, ((at, session_id), score) in enumerate(zip(times, scores, strict=False)):
            client_id = f"demo-{instrument}-{number}"
            if client_id in existing:
                continue
            scored = score_answers(BUILT_IN[instrument], demo_answers(instrument, score))
            db.session.add(
                MeasureResponse(
                    clinic_id=patient.clinic_id,
                    patient_id=patient.id,
                    instrument=instrument,
                    instrument_version=scored.instrument.version,
                    answers=list(scored.answers),
                    score=scored.score,
                    severity=scored.severity,
                    client_id=client_id,
                    session_id=session_id,
                    created_at=at,
                )
            )
    if past and "demo-side_effects-0" not in existing:
        last = past[-1]
        scored = score_answers(BUILT_IN["side_effects"], DEMO_SIDE_EFFECTS)
        if scored.alerts:  # the demo raises no alert
            raise ValueError("the demo side-effect check must not raise an alert")
        db.session.add(
            MeasureResponse(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                instrument="side_effects",
                instrument_version=scored.instrument.version,
                answers=list(scored.answers),
                score=scored.score,
                severity=scored.severity,
                client_id="demo-side_effects-0",
                session_id=last.id,
                created_at=min(last.completed_at + timedelta(hours=2), now),
            )
        )
    db.session.commit()
