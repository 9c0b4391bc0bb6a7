"""What the schedule and the signals read about many patients at once, in a fixed number of
queries: their (not cancelled) sessions with their templates' questionnaires, and one read of
their answers for both their PHQ-9 scores and their latest answer per questionnaire.

The therapist dashboard reads these once for its whole care list and hands them to both
``checkins.checkins_due_for`` and ``signals.signals_for``; callers scope the patient ids.
A caller that has them as a query (the dashboard: the care list) passes it as ``among``: the
database then picks the rows by a subquery, where 80 ids bound one by one made each
statement long to build, send and parse (more CPU than the statement itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import QueryableAttribute

from kap.extensions import db
from kap.models import MeasureResponse, SessionStatus, TemplateVersion, TreatmentSession

#: The same patients as ``patient_ids``, as a query of their ids.
PatientScope = Select[int]


def _of_patients(
    column: QueryableAttribute[int], patient_ids: Sequence[int], among: PatientScope | None
) -> ColumnElement[bool]:
    """``column`` among the patients: by the subquery when there is one, else by the ids."""
    return column.in_(among if among is not None else patient_ids)


class SessionFact(NamedTuple):
    """One booked (not cancelled) session, with what its template version asks (a tuple:
    the dashboard builds hundreds of these per page)."""

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


def session_facts(
    patient_ids: Sequence[int], *, among: PatientScope | None = None
) -> dict[int, list[SessionFact]]:
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
            _of_patients(TreatmentSession.patient_id, patient_ids, among),
            TreatmentSession.status != SessionStatus.CANCELLED,
        )
        .order_by(TreatmentSession.patient_id, TreatmentSession.scheduled_at, TreatmentSession.id)
    ).all()
    versions = {
        version_id: (checkin or [], after or [], monthly or [])
        for version_id, checkin, after, monthly in db.session.execute(
            select(
                TemplateVersion.id,
                TemplateVersion.checkin_instruments,
                TemplateVersion.after_instruments,
                TemplateVersion.monthly_instruments,
            ).where(TemplateVersion.id.in_({row[7] for row in rows}))
        )
    }
    facts: dict[int, list[SessionFact]] = {patient_id: [] for patient_id in patient_ids}
    for id_, patient_id, course_id, at, started, completed, status, version_id in rows:
        if patient_id not in facts:  # joined ``among`` after the caller read its ids
            continue
        facts[patient_id].append(
            SessionFact(
                id_, patient_id, course_id, at, started, completed, status, *versions[version_id]
            )
        )
    return facts


@dataclass(frozen=True)
class AnswerFacts:
    """What the schedule and the signals read of many patients' answers."""

    #: Each patient's latest answer per questionnaire code.
    latest: dict[int, dict[str, datetime]]
    #: Each patient's PHQ-9 totals with when they were given, oldest first.
    phq9: dict[int, list[tuple[datetime, int]]]


def answer_facts(
    patient_ids: Sequence[int], now: datetime, *, among: PatientScope | None = None
) -> AnswerFacts:
    """Both, from one read of the patients' answers up to ``now``."""
    latest: dict[int, dict[str, datetime]] = {patient_id: {} for patient_id in patient_ids}
    phq9: dict[int, list[tuple[datetime, int]]] = {patient_id: [] for patient_id in patient_ids}
    for patient_id, code, at, score in db.session.execute(
        select(
            MeasureResponse.patient_id,
            MeasureResponse.instrument,
            MeasureResponse.created_at,
            MeasureResponse.score,
        )
        .where(
            _of_patients(MeasureResponse.patient_id, patient_ids, among),
            MeasureResponse.created_at <= now,
        )
        .order_by(MeasureResponse.patient_id, MeasureResponse.created_at, MeasureResponse.id)
    ):
        if patient_id not in latest:  # joined ``among`` after the caller read its ids
            continue
        latest[patient_id][code] = at  # in time order: the last one wins
        if code == "phq9" and score is not None:
            phq9[patient_id].append((at, score))
    return AnswerFacts(latest, phq9)
