"""What the schedule and the signals read about many patients at once, in a fixed number of
queries: their (not cancelled) sessions with their templates' questionnaires, their PHQ-9
scores, and their latest answer per questionnaire.

The therapist dashboard reads these once for its whole care list and hands them to both
``checkins.checkins_due_for`` and ``signals.signals_for``; callers scope the patient ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from kap.extensions import db
from kap.models import MeasureResponse, SessionStatus, TemplateVersion, TreatmentSession


@dataclass(frozen=True)
class SessionFact:
    """One booked (not cancelled) session, with what its template version asks."""

    id: int
    patient_id: int
    course_id: int | None
    scheduled_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    status: str
    checkin_instruments: Sequence[str]
    after_instruments: Sequence[str]
    monthly_instruments: Sequence[str]

    @property
    def starts_at(self) -> datetime:
        """When it started, else when it is booked for."""
        return self.started_at or self.scheduled_at


def session_facts(patient_ids: Sequence[int]) -> dict[int, list[SessionFact]]:
    """Each patient's sessions that are not cancelled, in booked order (two queries: the
    sessions, then their few template versions, so no JSON is decoded once per session)."""
    rows = db.session.execute(
        select(
            TreatmentSession.id,
            TreatmentSession.patient_id,
            TreatmentSession.course_id,
            TreatmentSession.scheduled_at,
            TreatmentSession.session_started_at,
            TreatmentSession.completed_at,
            TreatmentSession.status,
            TreatmentSession.template_version_id,
        )
        .where(
            TreatmentSession.patient_id.in_(patient_ids),
            TreatmentSession.status != SessionStatus.CANCELLED,
        )
        .order_by(TreatmentSession.patient_id, TreatmentSession.scheduled_at, TreatmentSession.id)
    ).all()
    version_ids = {row.template_version_id for row in rows}
    versions = {
        version_id: (checkin or [], after or [], monthly or [])
        for version_id, checkin, after, monthly in db.session.execute(
            select(
                TemplateVersion.id,
                TemplateVersion.checkin_instruments,
                TemplateVersion.after_instruments,
                TemplateVersion.monthly_instruments,
            ).where(TemplateVersion.id.in_(version_ids))
        )
    }
    facts: dict[int, list[SessionFact]] = {patient_id: [] for patient_id in patient_ids}
    for row in rows:
        checkin, after, monthly = versions[row.template_version_id]
        facts[row.patient_id].append(
            SessionFact(
                row.id,
                row.patient_id,
                row.course_id,
                row.scheduled_at,
                row.session_started_at,
                row.completed_at,
                row.status,
                checkin,
                after,
                monthly,
            )
        )
    return facts


def phq9_scores(patient_ids: Sequence[int]) -> dict[int, list[tuple[datetime, int]]]:
    """Each patient's PHQ-9 totals with when they were given, oldest first (one query)."""
    scores: dict[int, list[tuple[datetime, int]]] = {patient_id: [] for patient_id in patient_ids}
    for patient_id, created_at, score in db.session.execute(
        select(MeasureResponse.patient_id, MeasureResponse.created_at, MeasureResponse.score)
        .where(
            MeasureResponse.patient_id.in_(patient_ids),
            MeasureResponse.instrument == "phq9",
            MeasureResponse.score.is_not(None),
        )
        .order_by(MeasureResponse.patient_id, MeasureResponse.created_at, MeasureResponse.id)
    ):
        if score is not None:  # always: the query asks for scored ones (typing)
            scores[patient_id].append((created_at, score))
    return scores


def latest_answers(patient_ids: Sequence[int], now: datetime) -> dict[int, dict[str, datetime]]:
    """Each patient's latest answer per questionnaire code up to ``now`` (one query)."""
    latest: dict[int, dict[str, datetime]] = {patient_id: {} for patient_id in patient_ids}
    for patient_id, code, at in db.session.execute(
        select(
            MeasureResponse.patient_id,
            MeasureResponse.instrument,
            func.max(MeasureResponse.created_at),
        )
        .where(MeasureResponse.patient_id.in_(patient_ids), MeasureResponse.created_at <= now)
        .group_by(MeasureResponse.patient_id, MeasureResponse.instrument)
    ):
        if at is not None:  # always: max over at least one row (typing)
            latest[patient_id][code] = at
    return latest
