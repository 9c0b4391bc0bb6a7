"""Demo intakes: patient@demo.test (and patient@other.test) cleared by their therapist;
patient2@demo.test waiting for review with one flagged answer (high blood pressure) and an
open review alert.

Idempotent (a patient with any intake is left alone) and quiet: written directly, not through
the intake service, so no audit rows (like the demo check-ins in kap/demo/measures.py).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select

from kap.extensions import db
from kap.models import Alert, AlertKind, IntakeStatus, IntakeSubmission, MeasureResponse, User
from kap.models.base import utcnow
from kap.services.measures import library
from kap.services.measures.scoring import score_answers

#: What each demo patient answered: 'No' to everything but what is named, AUDIT-C answers.
DEMO_INTAKES = {
    "patient@demo.test": {
        "changed": {},
        "medications": "Sertraline 100 mg, once a day\nMelatonin 3 mg at night, sometimes",
        "treatments": "Sertraline for two years, some help. Talking therapy (CBT) in 2023.",
        "auditc": [1, 0, 0],
        "days_ago": 30,
    },
    "patient2@demo.test": {
        "changed": {"heart": 1},
        "medications": "Lisinopril 10 mg, once a day (blood pressure)",
        "treatments": "Escitalopram and then venlafaxine; neither helped much.",
        "auditc": [0, 0, 0],
        "days_ago": 2,
    },
    "patient@other.test": {
        "changed": {},
        "medications": "None",
        "treatments": "Fluoxetine, then bupropion.",
        "auditc": [1, 1, 0],
        "days_ago": 20,
    },
}

#: Who cleared each demo intake that is cleared (the others wait for a decision).
CLEARED_BY = {
    "patient@demo.test": ("therapist@demo.test", "Reviewed at the assessment visit; no concerns."),
    "patient@other.test": ("therapist@other.test", "Reviewed with the patient; cleared."),
}


def _submission(patient: User, spec: dict, at: datetime) -> IntakeSubmission:
    intake = library.instrument_for(patient.clinic_id, "intake")
    answers: dict[str, object] = {
        item.id: 0 for item in intake.items if item.kind == "choice"
    } | spec["changed"]
    answers |= {"medications": spec["medications"], "treatments": spec["treatments"]}
    scored = score_answers(intake, answers)
    included: dict[str, dict[str, int | None]] = {}
    flagged = list(scored.needs_review)
    for code in intake.includes:
        instrument = library.instrument_for(patient.clinic_id, code)
        result = score_answers(instrument, spec[code])
        response = MeasureResponse(
            clinic_id=patient.clinic_id,
            patient_id=patient.id,
            instrument=code,
            instrument_version=instrument.version,
            answers=list(result.answers),
            score=result.score,
            severity=result.severity,
            client_id=f"demo-intake-{code}",
            created_at=at,
        )
        db.session.add(response)
        db.session.flush()
        included[code] = {"response_id": response.id, "score": result.score}
        threshold = intake.review_scores.get(code)
        if threshold is not None and result.score is not None and result.score >= threshold:
            flagged.append(code)
    stored = {
        "answers": {
            item.id: value
            for item, value in zip(intake.items, scored.answers, strict=True)
            if value is not None
        },
        "texts": dict(scored.texts),
        "included": included,
    }
    return IntakeSubmission(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        instrument_version=intake.version,
        answers=json.dumps(stored, ensure_ascii=False),
        needs_review=flagged,
        submitted_at=at,
        status=IntakeStatus.SUBMITTED,
    )


def seed_demo_intakes(users: dict[str, User], now: datetime | None = None) -> None:
    """The two demo intakes (see the module docstring), unless the patient has one."""
    now = now or utcnow()
    for email, spec in DEMO_INTAKES.items():
        patient = users[email]
        if db.session.scalar(
            select(IntakeSubmission.id).where(IntakeSubmission.patient_id == patient.id)
        ):
            continue
        submission = _submission(patient, spec, now - timedelta(days=spec["days_ago"]))
        if email in CLEARED_BY:
            decider, note = CLEARED_BY[email]
            submission.status = IntakeStatus.CLEARED
            submission.decided_by_id = users[decider].id
            submission.decided_at = submission.submitted_at + timedelta(days=1)
            submission.decision_note = note
        db.session.add(submission)
        db.session.flush()
        if submission.status == IntakeStatus.SUBMITTED and submission.needs_review:
            db.session.add(
                Alert(
                    clinic_id=patient.clinic_id,
                    patient_id=patient.id,
                    kind=AlertKind.INTAKE_REVIEW,
                    client_id=f"intake-{submission.id}",
                    created_at=submission.submitted_at,
                )
            )
    db.session.commit()
