"""What the schedule and the signals read about many patients at once, in a fixed number of
queries: their (not cancelled) sessions with their templates' questionnaires, and one read of
their answers for both their PHQ-9 scores and their latest answer per questionnaire.

The therapist dashboard reads these once for its whole care list and hands them to both
``checkins.checkins_due_for`` and ``signals.signals_for``; callers scope the patient ids.
A caller whose patients are a therapist's care list (the dashboard) names the therapist as
``care_of``: the database then picks the rows by the care list (``care_teams.in_care_list``),
where 80 ids bound one by one made each statement long to build, send and parse (more CPU
than the statement itself), and the care list checked against ``users`` as well (as
``access.patients_visible_to`` does) added a read of the users to each statement. Only the
rows of ``patient_ids`` are kept.

Each statement is built once (``functools.cache``) with bind parameters, as the journal page
does (journal/page.py): building and keying a statement per call cost more CPU than reading
its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import QueryableAttribute

from kap.extensions import db
from kap.models import MeasureResponse, SessionStatus, TemplateVersion, TreatmentSession
from kap.services.people.care_teams import in_care_list


def _of_patients(column: QueryableAttribute[int], by_care_list: bool) -> ColumnElement[bool]:
    """``column`` among the patients: the care list of the ``therapist_id`` parameter, or the
    ``patient_ids`` parameter."""
    if by_care_list:
        return in_care_list(column, bindparam("therapist_id"))
    return column.in_(bindparam("patient_ids", expanding=True))


def _scope(patient_ids: Sequence[int], care_of: int | None) -> tuple[bool, dict[str, Any]]:
    """Which statement to run (by the care list or not) and its parameters."""
    if care_of is not None:
        return True, {"therapist_id": care_of}
    return False, {"patient_ids": list(patient_ids)}


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
    patient_ids: Sequence[int], *, care_of: int | None = None
) -> dict[int, list[SessionFact]]:
    """Each patient's sessions that are not cancelled, in booked order (two queries: the
    sessions, then their few template versions, so no JSON is decoded once per session)."""
    by_care_list, parameters = _scope(patient_ids, care_of)
    rows = db.session.execute(_sessions_statement(by_care_list), parameters).all()
    versions = {
        version_id: (checkin or [], after or [], monthly or [])
        for version_id, checkin, after, monthly in db.session.execute(
            _versions_statement(), {"ids": list({row[7] for row in rows})}
        )
    }
    facts: dict[int, list[SessionFact]] = {patient_id: [] for patient_id in patient_ids}
    for id_, patient_id, course_id, at, started, completed, status, version_id in rows:
        if patient_id not in facts:  # not one of the caller's (joined the care list since)
            continue
        facts[patient_id].append(
            SessionFact(
                id_, patient_id, course_id, at, started, completed, status, *versions[version_id]
            )
        )
    return facts


@cache
def _sessions_statement(by_care_list: bool) -> Select[*tuple[Any, ...]]:
    return (
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
            _of_patients(TreatmentSession.patient_id, by_care_list),
            TreatmentSession.status != SessionStatus.CANCELLED,
        )
        .order_by(TreatmentSession.patient_id, TreatmentSession.scheduled_at, TreatmentSession.id)
    )


@cache
def _versions_statement() -> Select[*tuple[Any, ...]]:
    return select(
        TemplateVersion.id,
        TemplateVersion.checkin_instruments,
        TemplateVersion.after_instruments,
        TemplateVersion.monthly_instruments,
    ).where(TemplateVersion.id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class AnswerFacts:
    """What the schedule and the signals read of many patients' answers."""

    #: Each patient's latest answer per questionnaire code.
    latest: dict[int, dict[str, datetime]]
    #: Each patient's PHQ-9 totals with when they were given, oldest first.
    phq9: dict[int, list[tuple[datetime, int]]]


def answer_facts(
    patient_ids: Sequence[int], now: datetime, *, care_of: int | None = None
) -> AnswerFacts:
    """Both, from one read of the patients' answers up to ``now``."""
    latest: dict[int, dict[str, datetime]] = {patient_id: {} for patient_id in patient_ids}
    phq9: dict[int, list[tuple[datetime, int]]] = {patient_id: [] for patient_id in patient_ids}
    by_care_list, parameters = _scope(patient_ids, care_of)
    for patient_id, code, at, score in db.session.execute(
        _answers_statement(by_care_list), {**parameters, "now": now}
    ):
        if patient_id not in latest:  # not one of the caller's (joined the care list since)
            continue
        latest[patient_id][code] = at  # in time order: the last one wins
        if code == "phq9" and score is not None:
            phq9[patient_id].append((at, score))
    return AnswerFacts(latest, phq9)


@cache
def _answers_statement(by_care_list: bool) -> Select[*tuple[Any, ...]]:
    return (
        select(
            MeasureResponse.patient_id,
            MeasureResponse.instrument,
            MeasureResponse.created_at,
            MeasureResponse.score,
        )
        .where(
            _of_patients(MeasureResponse.patient_id, by_care_list),
            MeasureResponse.created_at <= bindparam("now"),
        )
        .order_by(MeasureResponse.patient_id, MeasureResponse.created_at, MeasureResponse.id)
    )
