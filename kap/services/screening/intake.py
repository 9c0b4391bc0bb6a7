"""Screening intake: the patient's answers, what needs a clinician's review, and the decision.

The intake is a questionnaire on the engine (``kap.services.measures``): the clinic's own
version or the built-in one, plus the instruments it includes (AUDIT-C), each stored as its own
check-in. Answers the clinic marks as needing review raise one ``intake_review`` alert for the
care team. A clinician records the decision (cleared / not cleared / needs assessment); the app
never decides eligibility (docs/architecture.md, "Records, never advice"). The newest
submission is the one that counts: a resubmission waits for a decision of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, func, select

from kap.extensions import db
from kap.models import (
    INTAKE_DECISIONS,
    Alert,
    AlertKind,
    IntakeStatus,
    IntakeSubmission,
    Role,
    User,
)
from kap.models.base import utcnow
from kap.services import audit
from kap.services.errors import Conflict, Invalid, NotFound
from kap.services.measures import library
from kap.services.measures.checkins import record_checkin
from kap.services.measures.scoring import Instrument, Item, Scored, score_answers
from kap.services.people.access import get_patient_for
from kap.services.people.care_teams import in_care_list
from kap.services.queries import one_or_not_found
from kap.services.unit_of_work import audited_read, use_case
from kap.services.write_lock import sqlite_write_lock

INTAKE_CODE = "intake"
#: What ``intake_status`` says before anything was submitted.
MISSING = "missing"
#: A submission still waiting for a (final) decision.
OPEN_STATUSES = (IntakeStatus.SUBMITTED, IntakeStatus.NEEDS_ASSESSMENT)
MAX_NOTE_LENGTH = 2_000
#: The alert of a submission carries this as its client_id, so its decision can close it.
_ALERT_KEY = "intake-{id}"

DECISION_LABELS: dict[str, str] = {
    IntakeStatus.CLEARED: "Cleared",
    IntakeStatus.NOT_CLEARED: "Not cleared",
    IntakeStatus.NEEDS_ASSESSMENT: "Needs assessment",
}
STATUS_LABELS: dict[str, str] = {
    MISSING: "Not submitted yet",
    IntakeStatus.SUBMITTED: "Submitted — waiting for your care team's review",
    **DECISION_LABELS,
}


@dataclass(frozen=True)
class IntakeQuestionnaire:
    """What the patient answers: the intake and the instruments it includes, in page order."""

    intake: Instrument
    included: tuple[Instrument, ...]
    review_scores: Mapping[str, int]

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        """The intake first, then each included instrument."""
        return (self.intake, *self.included)


def questionnaire_for(clinic_id: int) -> IntakeQuestionnaire:
    """The clinic's intake (its own newest version, else the built-in) with what it includes."""
    intake = library.instrument_for(clinic_id, INTAKE_CODE)
    included = tuple(library.instrument_for(clinic_id, code) for code in intake.includes)
    return IntakeQuestionnaire(intake, included, dict(intake.review_scores))


#: Included instruments are asked at the start of the intake section of this name (the
#: built-in's AUDIT-C sits with the questions on drugs), or after every section without one.
INCLUDED_SECTION = "Substance use"


@dataclass(frozen=True)
class Question:
    """One question on the intake page: which instrument it belongs to, and the item."""

    code: str
    item: Item

    @property
    def name(self) -> str:
        """The form field's name, e.g. ``intake-medications`` or ``auditc-1``."""
        return f"{self.code}-{self.item.id}"

    @property
    def error_key(self) -> str:
        """The key ``submit``'s Invalid uses for this question (see ``_score_all``)."""
        return self.item.id if self.code == INTAKE_CODE else f"{self.code}.{self.item.id}"


@dataclass(frozen=True)
class Section:
    """A heading and its questions, in page order. ``included``: instruments asked first
    under this heading (``stem``: the included instrument's question stem)."""

    heading: str
    questions: list[Question]
    included: list[Section] = field(default_factory=list)
    stem: str = ""


def page_sections(questionnaire: IntakeQuestionnaire) -> list[Section]:
    """The intake's questions grouped under their headings, in definition order. Included
    instruments open the ``INCLUDED_SECTION`` section, or follow every section without one."""
    sections: list[Section] = []
    for item in questionnaire.intake.items:
        if not sections or sections[-1].heading != item.section:
            sections.append(Section(item.section, []))
        sections[-1].questions.append(Question(questionnaire.intake.code, item))
    included = [
        Section(
            instrument.title or instrument.name,
            [Question(instrument.code, item) for item in instrument.items],
            stem=instrument.question,
        )
        for instrument in questionnaire.included
    ]
    home = next((s for s in sections if s.heading == INCLUDED_SECTION), None)
    if home is not None:
        home.included.extend(included)
    else:
        sections.extend(included)
    return sections


# --- submitting ----------------------------------------------------------------------------


#: The engine numbers each bad answer from 1 ("Answer 3 needs an answer."); see score_answers.
_NUMBERED = re.compile(r"^Answer (\d+) (.+)$")


def _by_question(instrument: Instrument, prefix: str, error: Invalid) -> dict[str, list[str]]:
    """The engine's messages keyed by question (``prefix`` + item id), so a page can show
    each beside its question; anything else stays under ``prefix + "answers"``."""
    fields: dict[str, list[str]] = {}
    for field_name, messages in (error.fields or {"answers": [error.message]}).items():
        for message in messages:
            numbered = _NUMBERED.match(message)
            number = int(numbered.group(1)) if numbered else 0
            if numbered and 1 <= number <= len(instrument.items):
                key = prefix + instrument.items[number - 1].id
                why = numbered.group(2)
                fields.setdefault(key, []).append(why[:1].upper() + why[1:])
            else:
                fields.setdefault(prefix + field_name, []).append(message)
    return fields


def _score_all(
    questionnaire: IntakeQuestionnaire, answers: object
) -> tuple[dict[str, Scored], dict[str, list[str]]]:
    """Each instrument's answers scored, and every problem by question: the intake's own by
    item id, an included instrument's as ``code.item`` (``auditc.1``)."""
    if not isinstance(answers, Mapping):
        message = "Send the answers per questionnaire code: {'intake': {...}, 'auditc': [...]}."
        raise Invalid(message, {"answers": [message]})
    scored: dict[str, Scored] = {}
    errors: dict[str, list[str]] = {}
    for instrument in questionnaire.instruments:
        prefix = "" if instrument is questionnaire.intake else f"{instrument.code}."
        try:
            scored[instrument.code] = score_answers(instrument, answers.get(instrument.code, {}))
        except Invalid as error:
            for key, messages in _by_question(instrument, prefix, error).items():
                errors.setdefault(key, []).extend(messages)
    return scored, errors


def _flagged(questionnaire: IntakeQuestionnaire, scored: Mapping[str, Scored]) -> list[str]:
    """Item ids of the intake, then codes of included instruments, that need a review."""
    flagged = list(scored[questionnaire.intake.code].needs_review)
    for instrument in questionnaire.included:
        threshold = questionnaire.review_scores.get(instrument.code)
        score = scored[instrument.code].score
        if threshold is not None and score is not None and score >= threshold:
            flagged.append(instrument.code)
    return flagged


@use_case
def submit(patient: User, answers: object) -> IntakeSubmission:
    """Store the patient's intake; raise one review alert when any answer needs a review.

    ``answers``: per questionnaire code, what the engine takes (a list in item order or a
    dict by item id) — ``{"intake": {...}, "auditc": [...]}``. Included instruments are
    stored as their own check-ins. Invalid names every bad answer (``auditc.1`` for an
    included one). Audited as ``intake.submit`` (ids only).
    """
    if not patient.is_patient:
        raise NotFound("No such patient.")
    questionnaire = questionnaire_for(patient.clinic_id)
    scored, errors = _score_all(questionnaire, answers)
    if errors:
        raise Invalid("Some answers need attention.", errors)
    intake = scored[questionnaire.intake.code]
    included: dict[str, dict[str, int | None]] = {}
    for instrument in questionnaire.included:
        response, _ = record_checkin(
            patient, instrument.code, list(scored[instrument.code].answers)
        )
        included[instrument.code] = {"response_id": response.id, "score": response.score}
    flagged = _flagged(questionnaire, scored)
    stored = {
        "answers": {
            item.id: value
            for item, value in zip(questionnaire.intake.items, intake.answers, strict=True)
            if value is not None
        },
        "texts": dict(intake.texts),
        "included": included,
    }
    submission = IntakeSubmission(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        instrument_version=questionnaire.intake.version,
        answers=json.dumps(stored, ensure_ascii=False),
        needs_review=flagged,
        submitted_at=utcnow(),
        status=IntakeStatus.SUBMITTED,
    )
    db.session.add(submission)
    db.session.flush()
    _close_superseded_alerts(patient, submission)
    if flagged:
        db.session.add(
            Alert(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                kind=AlertKind.INTAKE_REVIEW,
                client_id=_ALERT_KEY.format(id=submission.id),
            )
        )
        db.session.flush()
    audit.record(
        "intake.submit",
        actor=patient,
        subject_type="intake",
        subject_id=submission.id,
        patient_id=patient.id,
        detail=f"needs_review={len(flagged)}",
    )
    return submission


def _close_superseded_alerts(patient: User, newest: IntakeSubmission) -> None:
    """An earlier submission's open review alert closes: the newest submission is reviewed."""
    now = utcnow()
    for alert in db.session.scalars(
        select(Alert).where(
            Alert.patient_id == patient.id,
            Alert.kind == AlertKind.INTAKE_REVIEW,
            Alert.resolved_at.is_(None),
            Alert.client_id != _ALERT_KEY.format(id=newest.id),
        )
    ):
        alert.resolved_at = now
        alert.resolution_note = "A newer intake was submitted; it is reviewed instead."


# --- reading -------------------------------------------------------------------------------


def _submissions_of(patient: User) -> Select[IntakeSubmission]:
    return (
        select(IntakeSubmission)
        .where(
            IntakeSubmission.patient_id == patient.id,
            IntakeSubmission.clinic_id == patient.clinic_id,
        )
        .order_by(IntakeSubmission.submitted_at.desc(), IntakeSubmission.id.desc())
    )


def latest_intake(patient: User) -> IntakeSubmission | None:
    """The patient's newest submission (the one that counts), or None."""
    return db.session.scalar(_submissions_of(patient).limit(1))


def intake_status(patient: User) -> str:
    """``missing``, or the newest submission's status (submitted, cleared, …)."""
    latest = latest_intake(patient)
    return MISSING if latest is None else latest.status


def is_cleared(patient: User) -> bool:
    """The gate: the newest submission was cleared by a clinician."""
    return intake_status(patient) == IntakeStatus.CLEARED


def _visible_submissions(viewer: User) -> Select[IntakeSubmission]:
    """Submissions of the patients a clinician cares for (admin: the clinic's); none else."""
    query = select(IntakeSubmission).where(IntakeSubmission.clinic_id == viewer.clinic_id)
    if viewer.is_therapist:
        return query.where(in_care_list(IntakeSubmission.patient_id, viewer.id))
    if viewer.is_clinic_admin:
        return query
    return query.where(false())


@dataclass(frozen=True)
class AwaitingIntake:
    """A submission waiting for a decision, as the therapist's dashboard lists it."""

    id: int
    patient_id: int
    patient_name: str
    submitted_at: datetime
    status: str
    review_count: int


def intakes_awaiting(viewer: User) -> list[AwaitingIntake]:
    """Newest submissions still waiting for a decision, of patients ``viewer`` cares for,
    oldest first (who has waited longest).

    Plain columns, not rows: the dashboard is on every therapist's hot path (its p95 budget
    in docs/benchmarks.md), and loading whole submissions and patients cost it milliseconds.
    """
    # Each visible patient's newest submission: grouped over the viewer's patients only, not
    # the clinic's (which grew with the clinic: the dashboard's p95 doubled at ten times the
    # patients while its care list stayed the same).
    newest = (
        _visible_submissions(viewer)
        .with_only_columns(func.max(IntakeSubmission.id))
        .group_by(IntakeSubmission.patient_id)
    )
    query = (
        _visible_submissions(viewer)
        .join(User, User.id == IntakeSubmission.patient_id)
        .where(
            IntakeSubmission.id.in_(newest),
            IntakeSubmission.status.in_(OPEN_STATUSES),
            User.role == Role.PATIENT,
        )
        .with_only_columns(
            IntakeSubmission.id,
            IntakeSubmission.patient_id,
            User.name,
            IntakeSubmission.submitted_at,
            IntakeSubmission.status,
            IntakeSubmission.needs_review,
        )
        .order_by(IntakeSubmission.submitted_at, IntakeSubmission.id)
    )
    return [
        AwaitingIntake(id_, patient_id, name, submitted_at, status, len(flagged or []))
        for id_, patient_id, name, submitted_at, status, flagged in db.session.execute(query)
    ]


@dataclass(frozen=True)
class AnswerRow:
    """One question and its answer as a clinician reads it."""

    item_id: str
    section: str
    text: str
    answer: str
    needs_review: bool


@dataclass(frozen=True)
class IntakeReview:
    """A patient's newest intake for the care team: flagged answers first, then the rest."""

    patient: User
    submission: IntakeSubmission | None
    flagged: list[AnswerRow]
    answers: list[AnswerRow]
    earlier: int  # how many earlier submissions there are

    @property
    def open(self) -> bool:
        """Whether a decision can be recorded now."""
        return self.submission is not None and self.submission.status in OPEN_STATUSES


def _answer_words(item: Item, value: int | None, text: str | None) -> str:
    if item.kind == "text":
        return text or ""
    if value is None:
        return ""
    if item.kind == "choice":
        return next((o.label for o in item.options if o.value == value), str(value))
    return str(value)


def _rows(patient: User, submission: IntakeSubmission) -> list[AnswerRow]:
    stored: dict[str, Any] = json.loads(submission.answers or "{}")
    flagged = set(submission.needs_review)
    intake = library.instrument_for(patient.clinic_id, INTAKE_CODE, submission.instrument_version)
    answers, texts = stored.get("answers", {}), stored.get("texts", {})
    rows = [
        AnswerRow(
            item.id,
            item.section,
            item.text,
            _answer_words(item, answers.get(item.id), texts.get(item.id)),
            item.id in flagged,
        )
        for item in intake.items
    ]
    for code, result in stored.get("included", {}).items():
        name = library.instrument_for(patient.clinic_id, code).name
        rows.append(
            AnswerRow(code, name, f"{name} total", str(result.get("score")), code in flagged)
        )
    return rows


@audited_read
def read_intake(viewer: User, patient_id: int) -> IntakeReview:
    """A patient's newest intake with its answers, for the care team or the clinic admin
    (NotFound for anyone else). Audited as ``intake.read``, ids only."""
    if viewer.role not in (Role.THERAPIST, Role.CLINIC_ADMIN):
        raise NotFound("No such patient.")
    patient = get_patient_for(viewer, patient_id)
    submissions = list(db.session.scalars(_submissions_of(patient).limit(50)))
    latest = submissions[0] if submissions else None
    rows = _rows(patient, latest) if latest else []
    audit.record(
        "intake.read",
        actor=viewer,
        subject_type="intake" if latest else "patient",
        subject_id=latest.id if latest else patient.id,
        patient_id=patient.id,
    )
    return IntakeReview(
        patient=patient,
        submission=latest,
        flagged=[row for row in rows if row.needs_review],
        answers=[row for row in rows if not row.needs_review],
        earlier=max(len(submissions) - 1, 0),
    )


# --- deciding ------------------------------------------------------------------------------


def _clean_decision(decision: object, note: object) -> tuple[IntakeStatus, str]:
    """The decision and its note, or Invalid naming each problem."""
    errors: dict[str, list[str]] = {}
    chosen = next((d for d in INTAKE_DECISIONS if d == decision), None)
    if chosen is None:
        errors["decision"] = ["Choose cleared, not cleared or needs assessment."]
    text = note.strip() if isinstance(note, str) else ""
    if note is not None and not isinstance(note, str):
        errors["note"] = ["Write the note as text."]
    elif len(text) > MAX_NOTE_LENGTH:
        errors["note"] = [f"Keep the note under {MAX_NOTE_LENGTH:,} characters."]
    elif chosen in (IntakeStatus.NOT_CLEARED, IntakeStatus.NEEDS_ASSESSMENT) and not text:
        errors["note"] = ["Write a note: what is not cleared, or what needs assessing."]
    if errors or chosen is None:
        raise Invalid("The decision needs attention.", errors)
    return chosen, text


@use_case
def decide(
    clinician: User,
    intake_id: int,
    decision: object,
    note: object,
    *,
    patient_id: int | None = None,
) -> IntakeSubmission:
    """Record a care-team therapist's or the clinic admin's decision on a submission.

    ``decision``: cleared, not_cleared or needs_assessment; a note is required unless cleared.
    Only the patient's newest submission can be decided, once — after ``needs_assessment``
    a final decision may follow (it stays among ``intakes_awaiting`` until then). The
    submission is locked first, so decisions made at the same moment record one. Closes the
    submission's review alert. Audited as
    ``intake.decide`` (the decision, never the note). ``patient_id``: when given, the
    submission must be that patient's (NotFound otherwise), as a page's URL says.
    """
    if clinician.role not in (Role.THERAPIST, Role.CLINIC_ADMIN):
        raise NotFound("No such intake.")
    chosen, text = _clean_decision(decision, note)
    sqlite = sqlite_write_lock()
    query = _visible_submissions(clinician).where(IntakeSubmission.id == intake_id)
    if patient_id is not None:
        query = query.where(IntakeSubmission.patient_id == patient_id)
    if not sqlite:
        query = query.with_for_update(of=IntakeSubmission)
    submission = one_or_not_found(query.execution_options(populate_existing=True), "intake")
    newest = latest_intake(submission.patient)
    if newest is not None and newest.id != submission.id:
        raise Conflict(
            "The patient has submitted a newer intake; record the decision on that one.",
            code="intake_superseded",
        )
    if submission.status not in OPEN_STATUSES:
        label = DECISION_LABELS.get(IntakeStatus(submission.status), submission.status)
        raise Conflict(
            f"A decision was already recorded on this intake ({label.lower()}).",
            code="intake_decided",
        )
    now = utcnow()
    submission.status = chosen
    submission.decided_by_id = clinician.id
    submission.decided_at = now
    submission.decision_note = text
    _resolve_review_alert(clinician, submission, now)
    db.session.flush()
    audit.record(
        "intake.decide",
        actor=clinician,
        subject_type="intake",
        subject_id=submission.id,
        patient_id=submission.patient_id,
        detail=f"decision={chosen.value}",
    )
    return submission


def _resolve_review_alert(clinician: User, submission: IntakeSubmission, now: Any) -> None:
    alert = db.session.scalar(
        select(Alert).where(
            Alert.patient_id == submission.patient_id,
            Alert.client_id == _ALERT_KEY.format(id=submission.id),
            Alert.resolved_at.is_(None),
        )
    )
    if alert is None:
        return
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by_id = now, clinician.id
    alert.resolved_at, alert.resolved_by_id = now, clinician.id
    label = DECISION_LABELS[IntakeStatus(submission.status)].lower()
    alert.resolution_note = f"Intake decision recorded: {label}."
