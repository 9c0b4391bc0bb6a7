"""What staff record from the board: vitals, monitoring checks and Call staff.

Discharge and its reopening are in ``kap.services.discharge``.

Every write is for a session (or alert) of the user's own clinic (``board_scope``), is refused
once the session is cancelled or discharged, and is audited in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from kap.extensions import db
from kap.models import Alert, SessionObservation, SessionStatus, TreatmentSession, User
from kap.models.base import utcnow
from kap.services import alerts, audit
from kap.services.board_scope import get_board_session, get_call_for
from kap.services.errors import Conflict, Invalid
from kap.services.vitals import VITALS, readings, validate_vitals, vitals_limits

MAX_NOTE_LENGTH = 500


def _writable(session: TreatmentSession) -> None:
    if session.status == SessionStatus.CANCELLED:
        raise Conflict("This session was cancelled.")
    if session.discharged_at is not None:
        raise Conflict("This patient has been discharged; the session record is closed.")


def _clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise Invalid("The note is too long.", {"note": [f"Up to {MAX_NOTE_LENGTH} characters."]})
    return note


def record_vitals(
    user: User,
    session_id: int,
    *,
    kind: str,
    values: dict[str, int | None],
    note: str = "",
    now: datetime | None = None,
) -> SessionObservation:
    """Record blood pressure, heart rate and SpO2 (SpO2 optional) for a session of the clinic."""
    session = get_board_session(user, session_id)
    problems = validate_vitals(kind, values)
    if kind == "final" and session.session_started_at is None:
        problems.setdefault("kind", []).append(
            "A final check is taken after dosing; record these as before dosing."
        )
    if problems:
        raise Invalid("Some values need another look.", problems)
    note = _clean_note(note)
    _writable(session)
    observation = SessionObservation(
        session_id=session.id,
        clinic_id=session.clinic_id,
        kind=kind,
        recorded_at=now or utcnow(),
        recorded_by_id=user.id,
        note=note,
        **{name: values.get(name) for name in VITALS},
    )
    db.session.add(observation)
    db.session.flush()
    flags = readings(observation, vitals_limits(user.clinic))
    out = ",".join(f"{r.name}_{r.flag}" for r in flags.values() if r.flag)
    audit.record(
        "session.vitals",
        actor=user,
        subject_type="session_observation",
        subject_id=observation.id,
        patient_id=session.patient_id,
        detail=f"kind={kind}" + (f"; out_of_range={out}" if out else ""),
        commit=False,
    )
    db.session.commit()
    return observation


def record_check(
    user: User, session_id: int, note: str = "", now: datetime | None = None
) -> SessionObservation:
    """A timestamped monitoring check during observation (the patient was seen; note optional)."""
    session = get_board_session(user, session_id)
    note = _clean_note(note)
    _writable(session)
    if session.session_started_at is None:
        raise Conflict("The session has not started; record pre-dose vitals instead.")
    observation = SessionObservation(
        session_id=session.id,
        clinic_id=session.clinic_id,
        kind="check",
        recorded_at=now or utcnow(),
        recorded_by_id=user.id,
        note=note,
    )
    db.session.add(observation)
    db.session.flush()
    audit.record(
        "session.check",
        actor=user,
        subject_type="session_observation",
        subject_id=observation.id,
        patient_id=session.patient_id,
        commit=False,
    )
    db.session.commit()
    return observation


def acknowledge_call(user: User, alert_id: int) -> Alert:
    """'I am on my way': any staff member of the clinic may acknowledge (idempotent)."""
    return alerts.acknowledge(user, get_call_for(user, alert_id))


def resolve_call(user: User, alert_id: int, note: str) -> Alert:
    """Close a Call staff alert with a note on what was done."""
    return alerts.resolve(user, note, lambda: get_call_for(user, alert_id))
