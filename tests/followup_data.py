"""Patients after a course, for the tests of the dashboard's overdue check-ins and signals.

Each has a course of four completed sessions, the last ended 4 days ago: PHQ-9 20 before
the course, 4 in it (remission), 14 the day after it (possible relapse, unanswered end of
course), and no GAD-7; so the dashboard has overdue check-ins and a signal to show.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from kap.extensions import db
from kap.models import (
    Course,
    CoursePattern,
    MeasureResponse,
    SessionStatus,
    SessionTemplate,
    TreatmentSession,
    User,
)
from kap.services.measures.scoring import BUILT_IN
from kap.services.people.accounts import create_user
from kap.services.people.care_teams import assign_therapist

DAY = timedelta(days=1)
#: Days before now each session was held; each lasted two hours.
SESSION_DAYS_AGO = (20, 17, 14, 4)


def _phq9(patient: User, score: int, at: datetime) -> MeasureResponse:
    answers = [min(3, max(0, score - 3 * i)) for i in range(9)] + [0]
    return MeasureResponse(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        instrument="phq9",
        answers=answers,
        score=score,
        severity=BUILT_IN["phq9"].band_for(score).severity,
        created_at=at,
    )


def patient_after_a_course(therapist: User, number: int, now: datetime) -> User:
    """A patient of ``therapist`` as the module docstring says (committed by the caller)."""
    patient = create_user(
        therapist.clinic, email=f"after{number}@demo.test", name=f"After {number}", role="patient"
    )
    assign_therapist(patient, therapist)
    db.session.flush()
    template = db.session.scalar(
        select(SessionTemplate)
        .where(SessionTemplate.clinic_id == therapist.clinic_id)
        .order_by(SessionTemplate.id)
    )
    course = Course(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        template_id=template.id,
        pattern=CoursePattern.CUSTOM,
    )
    for days_ago in SESSION_DAYS_AGO:
        start = now - days_ago * DAY
        course.sessions.append(
            TreatmentSession(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                template_version_id=template.current_version.id,
                scheduled_at=start,
                session_started_at=start,
                completed_at=start + 2 * timedelta(hours=1),
                status=SessionStatus.COMPLETE,
            )
        )
    db.session.add(course)
    db.session.add_all(
        [
            _phq9(patient, 20, now - 21 * DAY),
            _phq9(patient, 4, now - 10 * DAY),
            _phq9(patient, 14, now - 3 * DAY),
        ]
    )
    return patient
