"""A patient's session: preparation ticks, intention, phases in order, and Call staff.

Phases go scheduled → session → downtime → integration → complete. The order is checked.
A phone that was offline reports a change late, carrying the time it happened on the device;
kap.services.sessions.start_window decides when that time is believed (the start: inside the start
window and not before the check-in; later phases and Call staff: not ahead of the server, not
too old, not before what came first), and the audit row says when it was not. Day-of
checklist items open the day before.
Repeating the current phase is accepted and changes nothing, so a retried request from an
outbox never fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kap.extensions import db
from kap.models import (
    Alert,
    AlertKind,
    ChecklistItem,
    ChecklistTick,
    SessionStatus,
    TreatmentSession,
    User,
)
from kap.models.base import utcnow
from kap.services import audit
from kap.services.errors import Conflict, Invalid, NotFound
from kap.services.screening import consent
from kap.services.sessions import start_window
from kap.services.sessions.queries import get_session_for
from kap.services.unit_of_work import rollback_lost_race, use_case

PHASE_ORDER = [
    SessionStatus.SCHEDULED,
    SessionStatus.SESSION,
    SessionStatus.DOWNTIME,
    SessionStatus.INTEGRATION,
    SessionStatus.COMPLETE,
]
PHASE_TIMESTAMPS = {
    SessionStatus.SESSION: "session_started_at",
    SessionStatus.DOWNTIME: "downtime_started_at",
    SessionStatus.INTEGRATION: "integration_started_at",
    SessionStatus.COMPLETE: "completed_at",
}
MAX_INTENTION_LENGTH = 5_000
INTAKE_REQUIRED_MESSAGE = (
    "Your intake needs to be submitted and cleared by your care team before this session can start."
)


def _intake_cleared(patient: User) -> bool:
    """The intake gate (kap/services/screening/intake.py). Imported here, not at the top:
    the intake stores its included questionnaires through the check-ins, which use this
    module."""
    from kap.services.screening.intake import is_cleared

    return is_cleared(patient)


def _audit_session(action: str, patient: User, session: TreatmentSession, detail: str = "") -> None:
    audit.record(
        action,
        actor=patient,
        subject_type="session",
        subject_id=session.id,
        patient_id=patient.id,
        detail=detail,
    )


def own_session(patient: User, session_id: int) -> TreatmentSession:
    """The patient's own session, or NotFound."""
    session = get_session_for(patient, session_id)
    if session.patient_id != patient.id:
        raise NotFound("No such session.")
    return session


def missing_required(session: TreatmentSession) -> list[ChecklistItem]:
    """Required preparation items not ticked yet, in checklist order."""
    ticked = {tick.item_id for tick in session.ticks}
    return [
        item
        for item in session.template_version.checklist_items
        if item.required and item.id not in ticked
    ]


def preparation_progress(session: TreatmentSession) -> tuple[int, int]:
    """(ticked, total) preparation items."""
    ticked = {tick.item_id for tick in session.ticks}
    items = session.template_version.checklist_items
    return sum(1 for item in items if item.id in ticked), len(items)


def _checklist_open(session: TreatmentSession) -> None:
    if session.status in (SessionStatus.COMPLETE, SessionStatus.CANCELLED):
        raise Conflict(f"This session is {session.status}; its checklist is closed.")


def _tick(session: TreatmentSession, item: ChecklistItem, checked: bool) -> None:
    """Add or remove one tick (the caller knows it is a real change, and audits it)."""
    if checked:
        session.ticks.append(ChecklistTick(item_id=item.id))
    else:
        tick = next(t for t in session.ticks if t.item_id == item.id)
        session.ticks.remove(tick)


def _audit_tick(
    patient: User, session: TreatmentSession, item: ChecklistItem, checked: bool
) -> None:
    _audit_session("checklist.update", patient, session, f"item={item.id} checked={checked}")


@use_case
def set_item_checked(
    patient: User, session_id: int, item_id: int, checked: bool, now: datetime | None = None
) -> bool:
    """Tick or untick a preparation item (idempotent). Returns the new state.

    Conflict ``too_early`` when ticking a day-of item before the day before the session;
    unticking is always allowed. Only a real change is audited.
    """
    session = own_session(patient, session_id)
    _checklist_open(session)
    item = db.session.get(ChecklistItem, item_id)
    if item is None or item.version_id != session.template_version_id:
        raise NotFound("No such checklist item in this session.")
    ticked = any(tick.item_id == item.id for tick in session.ticks)
    if checked == ticked:
        return checked
    if checked and start_window.too_early_to_tick(item, session, now or utcnow()):
        raise Conflict(start_window.too_early_message(session), code="too_early")
    _tick(session, item, checked)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent identical tick won the race: same outcome
        rollback_lost_race()
        return checked
    _audit_tick(patient, session, item, checked)  # the rows first, then the audit chain
    return checked


@dataclass(frozen=True)
class ChecklistSaved:
    """What a whole-checklist save did not do: day-of items asked for before their day."""

    not_yet: list[ChecklistItem]
    #: "Not ticked yet: …. You can tick these from Wednesday 9 December." ("" when none).
    message: str


@use_case
def set_checklist(
    patient: User, session_id: int, checked_ids: set[int], now: datetime | None = None
) -> ChecklistSaved:
    """Make exactly the items in ``checked_ids`` ticked, in one transaction.

    Unknown ids are ignored. Day-of items asked for before their day stay unticked and are
    named in the answer, so the page can say which (nothing the patient did is silently
    dropped). Each changed item gets one audit row; an unchanged item writes nothing.
    """
    session = own_session(patient, session_id)
    _checklist_open(session)
    now = now or utcnow()
    ticked = {tick.item_id for tick in session.ticks}
    not_yet = []
    changed: list[tuple[ChecklistItem, bool]] = []
    for item in session.template_version.checklist_items:
        wanted = item.id in checked_ids
        if wanted == (item.id in ticked):
            continue
        if wanted and start_window.too_early_to_tick(item, session, now):
            not_yet.append(item)
            continue
        _tick(session, item, wanted)
        changed.append((item, wanted))
    try:
        db.session.flush()
    except IntegrityError:  # the same item ticked at once from another device
        raise Conflict(
            "Your checklist changed on another device at the same moment. "
            "Please look at it and save again."
        ) from None
    for item, wanted in changed:  # the rows first, then the audit chain
        _audit_tick(patient, session, item, wanted)
    message = ""
    if not_yet:
        when = start_window.too_early_message(session, what="these")
        message = f"Not ticked yet: {'; '.join(item.text for item in not_yet)}. {when}"
    return ChecklistSaved(not_yet, message)


@use_case
def set_intention(patient: User, session_id: int, text: str) -> TreatmentSession:
    """Write or rewrite the intention, until the session starts."""
    if not isinstance(text, str):
        raise Invalid("The intention must be text.", {"text": ["Write your intention as text."]})
    if len(text) > MAX_INTENTION_LENGTH:
        raise Invalid(
            "Your intention is too long.",
            {"text": [f"Keep it under {MAX_INTENTION_LENGTH:,} characters."]},
        )
    session = own_session(patient, session_id)
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict("The session has started; the intention you set is kept as it was.")
    session.intention = text.strip()
    session.intention_updated_at = utcnow()
    _audit_session("intention.update", patient, session)
    return session


def parse_device_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp with a zone (as a device sends it), in UTC; None when absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(
            "at must be an ISO 8601 time.", {"at": ["Use ISO 8601, e.g. 2026-11-22T14:05:00Z."]}
        )
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            "at must be an ISO 8601 time.", {"at": ["Use ISO 8601, e.g. 2026-11-22T14:05:00Z."]}
        ) from None
    if moment.tzinfo is None:
        raise Invalid("at needs a time zone.", {"at": ["Add Z or an offset such as +01:00."]})
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. year 1 with a positive offset
        raise Invalid("at is out of range.", {"at": ["Use a real date and time."]}) from None


@use_case
def advance_phase(
    patient: User,
    session_id: int,
    phase: str,
    at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[TreatmentSession, bool]:
    """Move the session to ``phase``. Returns (session, changed).

    Conflict when the phase is out of order or the session is cancelled. To start, in this
    order: ``not_today`` outside the start window (whatever else is missing), then
    ``intake_required`` while the patient's newest intake is not cleared (when the template
    requires it), then ``consent_required`` while the patient has not signed the clinic's
    current consent (when the template asks), then ``check_in_required`` while staff have
    not checked the patient in (when the template asks), then a conflict naming the required
    preparation items not ticked. ``at`` is the device's time; it counts only as
    kap.services.sessions.start_window allows.
    """
    if not isinstance(phase, str) or phase not in PHASE_TIMESTAMPS:
        raise Invalid(
            "Unknown phase.",
            {"phase": ["One of: session, downtime, integration, complete."]},
        )
    session = own_session(patient, session_id)
    if session.status == SessionStatus.CANCELLED:
        raise Conflict("This session was cancelled.")
    current = PHASE_ORDER.index(SessionStatus(session.status))
    wanted = PHASE_ORDER.index(SessionStatus(phase))
    if wanted == current:
        return session, False
    if wanted != current + 1:
        expected = PHASE_ORDER[current + 1] if current + 1 < len(PHASE_ORDER) else None
        raise Conflict(
            f"The session is in '{session.status}'; it can move to "
            f"'{expected}' next, not '{phase}'."
            if expected
            else "The session is already complete."
        )
    now = now or utcnow()
    if phase == SessionStatus.SESSION:
        timed = start_window.check_start_time(session, now, at)
        if session.template_version.requires_intake and not _intake_cleared(patient):
            raise Conflict(INTAKE_REQUIRED_MESSAGE, code="intake_required")
        if consent.consent_missing(session):
            raise Conflict(consent.CONSENT_REQUIRED_MESSAGE, code="consent_required")
        if start_window.waiting_for_check_in(session):
            raise Conflict(start_window.CHECK_IN_MESSAGE, code="check_in_required")
        missing = missing_required(session)
        if missing:
            raise Conflict(
                "Some required preparation is not ticked: "
                + "; ".join(item.text for item in missing)
                + "."
            )
    else:
        previous = getattr(session, PHASE_TIMESTAMPS[PHASE_ORDER[current]])
        timed = start_window.phase_time(at, now, previous)
    session.status = phase
    setattr(session, PHASE_TIMESTAMPS[SessionStatus(phase)], timed.moment)
    _audit_session("session.phase", patient, session, f"phase={phase}{timed.audit_detail}")
    return session, True


@use_case
def call_staff(
    patient: User,
    session_id: int,
    client_id: str | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[Alert, bool]:
    """Raise a Call staff alert for the clinic (once per client_id). Returns (alert, created).

    ``at`` (the device's time) is the call's time only as kap.services.sessions.start_window allows.
    """
    session = own_session(patient, session_id)
    if client_id is not None:
        existing = db.session.scalar(
            select(Alert).where(Alert.patient_id == patient.id, Alert.client_id == client_id)
        )
        if existing is not None:
            return existing, False
    timed = start_window.call_time(session, at, now or utcnow())
    alert = Alert(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        session_id=session.id,
        kind=AlertKind.CALL_STAFF,
        client_id=client_id,
        created_at=timed.moment,
    )
    db.session.add(alert)
    try:
        db.session.flush()
    except IntegrityError:  # the same client_id sent twice at once: that call wins
        rollback_lost_race()
        existing = db.session.execute(
            select(Alert).where(Alert.patient_id == patient.id, Alert.client_id == client_id)
        ).scalar_one()
        return existing, False
    audit.record(
        "alert.call_staff",
        actor=patient,
        subject_type="alert",
        subject_id=alert.id,
        patient_id=patient.id,
        detail=timed.audit_detail.strip(),
    )
    return alert, True
