"""Check-ins (any instrument): recording them once, who may read them, and when they are due.

Scoring lives in ``measures.scoring``, which instruments a clinic uses in
``measures.library``, drawing in ``kap.services.measures.chart``; this module
owns the rules that touch the database: exactly-once writes, the item-9 safety alert, scoped
and audited reads, the chart a viewer may see and the clinic's check-in schedule.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from kap.extensions import db
from kap.models import (
    Alert,
    AlertKind,
    Clinic,
    MeasureResponse,
    SessionStatus,
    TreatmentSession,
    User,
)
from kap.models.base import MAX_ID, utcnow
from kap.services import audit
from kap.services.errors import Invalid, NotFound
from kap.services.journal.entries import CLIENT_ID
from kap.services.measures.chart import measure_table_rows, render_measure_chart
from kap.services.measures.facts import SessionFact, answer_facts, session_facts
from kap.services.measures.library import instrument_for, instruments_for
from kap.services.measures.schedule import (
    AFTER_SESSION_DELAY,
    AFTER_SESSION_WINDOW,
    PRE_SESSION_WINDOW,
    EndedCourse,
    EndedSession,
    due_checkins,
)

# The schedule's vocabulary, where callers of ``checkins_due`` have always imported it from
# (the rule itself lives in ``measures.schedule``).
from kap.services.measures.schedule import REASON_AFTER_SESSION as REASON_AFTER_SESSION
from kap.services.measures.schedule import REASON_BASELINE as REASON_BASELINE
from kap.services.measures.schedule import REASON_BEFORE_SESSION as REASON_BEFORE_SESSION
from kap.services.measures.schedule import REASON_COURSE_END as REASON_COURSE_END
from kap.services.measures.schedule import REASON_INTERVAL as REASON_INTERVAL
from kap.services.measures.schedule import REASON_MONTHLY as REASON_MONTHLY
from kap.services.measures.schedule import REASON_ONE_MONTH as REASON_ONE_MONTH
from kap.services.measures.schedule import REASON_THREE_MONTHS as REASON_THREE_MONTHS
from kap.services.measures.schedule import DueCheckin as DueCheckin
from kap.services.measures.scoring import (
    Instrument,
    MeasureSummary,
    Scored,
    score_answers,
    summarize,
)
from kap.services.people.access import get_patient_for
from kap.services.queries import one_or_not_found
from kap.services.sessions.flow import own_session
from kap.services.sessions.queries import ACTIVE_STATUSES, sessions_visible_to
from kap.services.unit_of_work import audited_read, rollback_lost_race, use_case
from kap.timezones import local_day_of, start_of_local_day


def is_item9_positive(response: MeasureResponse) -> bool:
    """True when a PHQ-9 answer to item 9 (thoughts of self-harm) is above 0."""
    return AlertKind.PHQ9_ITEM9 in alert_kinds(response)


def instrument_of(response: MeasureResponse) -> Instrument:
    """The exact version of the instrument ``response`` answered."""
    return instrument_for(response.clinic_id, response.instrument, response.instrument_version)


def alert_kinds(response: MeasureResponse) -> set[str]:
    """The alert kinds this response's answers raise (per its instrument's definition)."""
    instrument = instrument_of(response)
    return {
        item.alert_kind
        for item, value in zip(instrument.items, response.answers, strict=False)
        if item.alert_kind
        and item.alert_at_least is not None
        and value is not None
        and value >= item.alert_at_least
    }


@dataclass(frozen=True)
class MeasureView:
    """A stored response as its readers see it: the instrument's words beside the numbers."""

    id: int
    instrument: str
    instrument_version: int
    name: str
    score: int | None
    max_score: int | None
    severity: str | None
    severity_label: str | None
    answers: list[int | None]
    texts: dict[str, str]
    client_id: str | None
    session_id: int | None
    created_at: datetime


def views_of(responses: list[MeasureResponse]) -> list[MeasureView]:
    """Each response with its instrument's name and band label (each version looked up once)."""
    instruments: dict[tuple[int, str, int], Instrument] = {}
    views = []
    for response in responses:
        key = (response.clinic_id, response.instrument, response.instrument_version)
        if key not in instruments:
            instruments[key] = instrument_of(response)
        instrument = instruments[key]
        views.append(
            MeasureView(
                id=response.id,
                instrument=response.instrument,
                instrument_version=response.instrument_version,
                name=instrument.name,
                score=response.score,
                max_score=instrument.max_score,
                severity=response.severity,
                severity_label=instrument.band_for(response.score).label
                if response.score is not None and instrument.scored
                else None,
                answers=list(response.answers),
                texts=json.loads(response.text_answers) if response.text_answers else {},
                client_id=response.client_id,
                session_id=response.session_id,
                created_at=response.created_at,
            )
        )
    return views


def _session_error(patient: User, session_id: object) -> list[str]:
    if session_id is None:
        return []
    if (
        isinstance(session_id, int)
        and not isinstance(session_id, bool)
        and 1 <= session_id <= MAX_ID
    ):
        try:
            own_session(patient, session_id)
        except NotFound:
            pass
        else:
            return []
    return ["Choose one of your own sessions, or leave it out."]


@use_case
def record_checkin(
    patient: User,
    instrument: str,
    answers: object,
    *,
    client_id: str | None = None,
    session_id: int | None = None,
) -> tuple[MeasureResponse, bool]:
    """Score and store one check-in; the same ``client_id`` again returns the first one.

    ``instrument`` is any code the patient's clinic offers (``library.instruments_for``).
    Each alert the answers raise (PHQ-9 item 9 above 0 → ``phq9_item9``; a severe side
    effect; blood in the urine) opens one alert of that kind in the same transaction;
    ``open_alerts_visible_to`` shows it to the whole care team and the clinic admin.
    Returns (response, created). Raises Invalid naming every bad field.
    """
    if not patient.is_patient:
        raise NotFound("No such patient.")
    errors: dict[str, list[str]] = {}
    if client_id is not None and not (isinstance(client_id, str) and CLIENT_ID.match(client_id)):
        errors["client_id"] = ["1 to 64 letters, digits, '-', '_', '.' or ':' (a UUID works)."]
    elif client_id is not None and (existing := _by_client_id(patient, client_id)) is not None:
        return existing, False  # a device's retry: answer with what was stored the first time
    if session_errors := _session_error(patient, session_id):
        errors["session_id"] = session_errors
    try:
        spec = instrument_for(patient.clinic_id, instrument)
        if spec.kind != "measure":
            message = f"{spec.name} is not a check-in."
            raise Invalid(message, {"instrument": [message]})
        scored = score_answers(spec, answers)
    except Invalid as error:
        errors.update(error.fields)
    if errors:
        raise Invalid("Some fields need attention.", errors)
    response = store_scored(patient, scored, client_id=client_id, session_id=session_id)
    try:
        db.session.flush()
    except IntegrityError:  # the same client_id stored concurrently: that one wins
        rollback_lost_race()
        existing = _by_client_id(patient, client_id) if client_id else None
        if existing is None:
            raise
        return existing, False
    # Ids only: answers and scores never go into the audit log.
    audit.record(
        "measure.create",
        actor=patient,
        subject_type="measure_response",
        subject_id=response.id,
        patient_id=patient.id,
    )
    return response, True


def store_scored(
    patient: User,
    scored: Scored,
    *,
    client_id: str | None = None,
    session_id: int | None = None,
) -> MeasureResponse:
    """Add a scored response and the alerts it raises (one per kind) to the transaction."""
    response = MeasureResponse(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        instrument=scored.instrument.code,
        instrument_version=scored.instrument.version,
        answers=list(scored.answers),
        text_answers=json.dumps(dict(scored.texts)) if scored.texts else "",
        score=scored.score,
        severity=scored.severity,
        client_id=client_id,
        session_id=session_id,
    )
    db.session.add(response)
    for kind in sorted({kind for kind, _ in scored.alerts}):
        db.session.add(
            Alert(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                session_id=session_id,
                kind=kind,
            )
        )
    return response


def _by_client_id(patient: User, client_id: str) -> MeasureResponse | None:
    return db.session.scalar(
        select(MeasureResponse).where(
            MeasureResponse.patient_id == patient.id, MeasureResponse.client_id == client_id
        )
    )


def _responses_of(patient: User, instrument: str | None = None) -> Select[MeasureResponse]:
    query = select(MeasureResponse).where(
        MeasureResponse.patient_id == patient.id, MeasureResponse.clinic_id == patient.clinic_id
    )
    if instrument is not None:
        query = query.where(
            MeasureResponse.instrument == instrument_for(patient.clinic_id, instrument).code
        )
    return query.order_by(MeasureResponse.created_at, MeasureResponse.id)


def _audit_read(viewer: User, patient: User, action: str, detail: str = "") -> None:
    if viewer.is_clinician:
        audit.record(
            action,
            actor=viewer,
            subject_type="patient",
            subject_id=patient.id,
            patient_id=patient.id,
            detail=detail,
        )


@audited_read
def history(viewer: User, patient_id: int, instrument: str | None = None) -> list[MeasureResponse]:
    """A patient's check-ins in time order, if ``viewer`` may see the patient (else NotFound).

    A patient sees only their own; a therapist their care list's; an admin their clinic's.
    A clinician's read is audited as ``measures.read``.
    """
    if instrument is not None:
        instrument_for(viewer.clinic_id, instrument)  # Invalid before anything is read or audited
    patient = get_patient_for(viewer, patient_id)
    _audit_read(viewer, patient, "measures.read", instrument or "")
    return list(db.session.scalars(_responses_of(patient, instrument)))


def own_response(patient: User, response_id: int) -> MeasureResponse:
    """One of the patient's own check-ins, or NotFound."""
    return one_or_not_found(
        _responses_of(patient).where(MeasureResponse.id == response_id), "check-in"
    )


class MeasureChart(TypedDict):
    """One instrument's chart for a patient (see ``chart_for``)."""

    instrument: Instrument
    svg: Markup
    rows: list[dict[str, object]]
    summary: MeasureSummary


class ExportRow(TypedDict):
    """One check-in in a file export (see ``export_rows``)."""

    date: str
    time: str
    instrument: str
    score: int | None
    severity: str
    change: int | None


def _started_sessions(viewer: User, patient_id: int) -> list[datetime]:
    return [
        at
        for at in db.session.scalars(
            sessions_visible_to(viewer)
            .where(
                TreatmentSession.patient_id == patient_id,
                TreatmentSession.session_started_at.is_not(None),
            )
            .with_only_columns(TreatmentSession.session_started_at)
        )
        if at is not None  # always: the query asks for started sessions (typing)
    ]


def _chart(
    spec: Instrument,
    responses: Sequence[MeasureResponse],
    started: list[datetime],
    zone: ZoneInfo,
    width: int,
) -> MeasureChart:
    points = [
        (response.created_at, response.score)
        for response in responses
        if response.score is not None and response.score <= (spec.max_score or 0)
    ]
    return {
        "instrument": spec,
        "svg": render_measure_chart(spec, points, started, width=width, tz=zone),
        "rows": measure_table_rows(spec, points, tz=zone),
        "summary": summarize(spec, [score for _, score in points]),
    }


def chart_for(viewer: User, patient_id: int, instrument: str, *, width: int = 640) -> MeasureChart:
    """The chart of one instrument for a patient ``viewer`` may see (audited for clinicians).

    Returns ``instrument`` (the Instrument), ``svg`` (Markup, with each started session
    marked), ``rows`` (the same data as a table, oldest first) and ``summary`` (baseline,
    change, response, remission by the instrument's own rule). Dates are in the clinic's
    time zone.
    """
    responses = history(viewer, patient_id, instrument)
    spec = instrument_for(viewer.clinic_id, instrument)
    zone = ZoneInfo(viewer.clinic.timezone)
    return _chart(spec, responses, _started_sessions(viewer, patient_id), zone, width)


#: Charted for every patient, answered or not: the course's main outcome measures.
ALWAYS_CHARTED = ("phq9", "gad7")


@dataclass(frozen=True)
class AnsweredQuestionnaire:
    """One completed unscored questionnaire: when, and each question with its answer."""

    created_at: datetime
    answers: list[tuple[str, str]]  # (question, answer as the patient chose or wrote it)


@dataclass(frozen=True)
class UnscoredHistory:
    """Every completed response of one unscored questionnaire, newest first."""

    instrument: Instrument
    responses: list[AnsweredQuestionnaire]


@dataclass(frozen=True)
class MeasuresOverview:
    """What a patient's questionnaires show: a chart per scored one, answers of the rest."""

    charts: list[MeasureChart]
    unscored: list[UnscoredHistory]


def _answered(spec: Instrument, view: MeasureView) -> AnsweredQuestionnaire:
    answers = []
    for item, value in zip(spec.items, view.answers, strict=False):
        words = view.texts.get(item.id, "") if item.kind == "text" else item.label_for(value)
        answers.append((item.text, words or "(no answer)"))
    return AnsweredQuestionnaire(view.created_at, answers)


def measures_overview(viewer: User, patient_id: int, *, width: int = 640) -> MeasuresOverview:
    """A chart per scored questionnaire the patient has answered (PHQ-9 and GAD-7 always), in
    the clinic's order, then any the clinic has since archived; and the answers of each
    unscored questionnaire (text answers decrypted), newest first. The intake is not here (it
    has its own review). One read of the history, scoped and audited like ``history``.
    """
    responses = history(viewer, patient_id)
    patient = get_patient_for(viewer, patient_id)
    by_code: dict[str, list[MeasureResponse]] = {}
    for response in responses:
        by_code.setdefault(response.instrument, []).append(response)
    specs = [
        spec
        for spec in instruments_for(patient.clinic_id)
        if spec.code in by_code or spec.code in ALWAYS_CHARTED
    ]
    listed = {spec.code for spec in specs}
    # Archived since: read against the version last answered, so its history stays readable.
    specs += [instrument_of(by_code[code][-1]) for code in by_code if code not in listed]
    started = _started_sessions(viewer, patient_id)
    zone = ZoneInfo(patient.clinic.timezone)
    charts = [
        _chart(spec, by_code.get(spec.code, []), started, zone, width)
        for spec in specs
        if spec.scored and spec.kind == "measure"
    ]
    unscored = []
    for spec in specs:
        if spec.scored or spec.kind != "measure":
            continue
        views = views_of(by_code[spec.code])
        versions = {view.instrument_version for view in views}
        read_as = {
            version: instrument_for(patient.clinic_id, spec.code, version) for version in versions
        }
        unscored.append(
            UnscoredHistory(
                spec,
                [_answered(read_as[v.instrument_version], v) for v in reversed(views)],
            )
        )
    return MeasuresOverview(charts, unscored)


def checkins_due(patient: User, now: datetime | None = None) -> list[DueCheckin]:
    """What the patient should answer now: the schedule of ``measures.schedule`` on their
    sessions and answers. Nothing without sessions, and nothing while a session is running
    (no questionnaires while dosed)."""
    return checkins_due_for(patient.clinic, [patient.id], now)[patient.id]


def checkins_due_for(
    clinic: Clinic,
    patient_ids: Sequence[int],
    now: datetime | None = None,
    *,
    sessions: dict[int, list[SessionFact]] | None = None,
    latest: dict[int, dict[str, datetime]] | None = None,
) -> dict[int, list[DueCheckin]]:
    """``checkins_due`` for many patients of ``clinic`` in a fixed number of queries (the
    dashboard's overdue column). The caller scopes ``patient_ids``; ``sessions`` and ``latest``
    may pass ``facts.session_facts`` and ``facts.answer_facts(...).latest`` already read."""
    now = now or utcnow()
    ids = list(patient_ids)
    if not ids:
        return {}
    sessions = session_facts(ids) if sessions is None else sessions
    latest = answer_facts(ids, now).latest if latest is None else latest
    offered = {spec.code: spec for spec in instruments_for(clinic.id)}
    today = start_of_local_day(local_day_of(now, clinic.timezone), clinic.timezone)
    return {
        patient_id: _due_for_one(
            sessions.get(patient_id, []),
            latest[patient_id],
            now,
            today=today,
            offered=offered,
            interval_days=clinic.checkin_interval_days,
        )
        for patient_id in ids
    }


def _asked(offered: dict[str, Instrument], codes: Sequence[str]) -> list[Instrument]:
    """The instruments of ``codes`` the clinic still offers (a code it no longer offers is
    skipped rather than asked in a form nobody can send)."""
    return [offered[code] for code in codes if code in offered]


def _the_session_ahead(sessions: list[SessionFact], today: datetime) -> SessionFact | None:
    """As ``sessions.queries.next_session``: one in progress, else the first scheduled from
    the start of today (clinic time) on."""
    running = [s for s in sessions if s.status in ACTIVE_STATUSES]
    if running:
        return running[-1]
    return next(
        (s for s in sessions if s.status == SessionStatus.SCHEDULED and s.scheduled_at >= today),
        None,
    )


def _opens_a_course(ahead: SessionFact, sessions: list[SessionFact]) -> bool:
    """No earlier booked session in its course (outside any course: none at all)."""
    same_course = [s for s in sessions if ahead.course_id in (None, s.course_id)]
    return not any(s.scheduled_at < ahead.scheduled_at for s in same_course)


def _ended_course(
    sessions: list[SessionFact], completed: list[SessionFact], offered: dict[str, Instrument]
) -> EndedCourse | None:
    """The course of the latest completed session, if its last booked session is completed."""
    last = max(completed, key=lambda s: s.completed_at or s.scheduled_at, default=None)
    if last is None or last.course_id is None:
        return None
    booked = [s for s in sessions if s.course_id == last.course_id]
    final = booked[-1]  # in booked order
    if final.completed_at is None:
        return None
    return EndedCourse(final.completed_at, final.id, _asked(offered, final.checkin_instruments))


def _due_for_one(
    sessions: list[SessionFact],
    latest: dict[str, datetime],
    now: datetime,
    *,
    today: datetime,
    offered: dict[str, Instrument],
    interval_days: int,
) -> list[DueCheckin]:
    ahead = _the_session_ahead(sessions, today)
    if ahead is not None and ahead.status in (SessionStatus.SESSION, SessionStatus.DOWNTIME):
        return []
    scheduled = ahead if ahead is not None and ahead.status == SessionStatus.SCHEDULED else None
    completed = [s for s in sessions if s.completed_at is not None and s.completed_at <= now]
    recent_from = now - AFTER_SESSION_DELAY - AFTER_SESSION_WINDOW
    latest_template = scheduled or (completed[-1] if completed else None)
    monthly_sessions = [s for s in sessions if s.monthly_instruments]
    monthly_codes = list(dict.fromkeys(c for s in monthly_sessions for c in s.monthly_instruments))
    return due_checkins(
        now,
        next_session_at=scheduled.scheduled_at if scheduled else None,
        next_session_id=scheduled.id if scheduled else None,
        next_is_first_of_course=scheduled is not None and _opens_a_course(scheduled, sessions),
        session_ends=[s.completed_at for s in completed if s.completed_at is not None],
        latest_taken=latest,
        interval_days=interval_days,
        instruments=_asked(
            offered,
            latest_template.checkin_instruments if latest_template else ["phq9", "gad7"],
        ),
        after_sessions=[
            EndedSession(s.completed_at, s.id, _asked(offered, s.after_instruments))
            for s in completed
            if s.completed_at is not None and s.completed_at >= recent_from
        ],
        ended_course=_ended_course(sessions, completed, offered),
        monthly=_asked(offered, monthly_codes),
        monthly_from=monthly_sessions[0].scheduled_at - PRE_SESSION_WINDOW
        if monthly_sessions
        else None,
    )


@audited_read
def export_rows(viewer: User, patient_id: int) -> list[ExportRow]:
    """Every check-in of a patient ``viewer`` may see, oldest first, for a file export.

    Each row: ``date`` and ``time`` in the clinic's time zone, ``instrument`` ("PHQ-9"),
    ``score``, ``severity`` (label) and ``change`` from that instrument's first score
    (None on the first). Audited as ``measures.export``.
    """
    patient = get_patient_for(viewer, patient_id)
    _audit_read(viewer, patient, "measures.export")
    zone = ZoneInfo(patient.clinic.timezone)
    baselines: dict[str, int] = {}
    rows: list[ExportRow] = []
    for view in views_of(list(db.session.scalars(_responses_of(patient)))):
        local = view.created_at.astimezone(zone)
        first = view.instrument not in baselines
        if view.score is not None:
            baselines.setdefault(view.instrument, view.score)
        baseline = baselines.get(view.instrument)
        rows.append(
            {
                "date": local.strftime("%Y-%m-%d"),
                "time": local.strftime("%H:%M"),
                "instrument": view.name,
                "score": view.score,
                "severity": view.severity_label or "",
                "change": None
                if first or view.score is None or baseline is None
                else view.score - baseline,
            }
        )
    return rows
