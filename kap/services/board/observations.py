"""Recording a monitoring reading: vitals and the clinical state beside them, of any kind.

The board's vitals and check forms and ``POST /api/v1/sessions/{id}/checks`` all come here.
What each kind needs is in ``vitals`` (module docstring); post-dose, observation and final
checks are refused until the patient has been dosed (an administration recorded, or the
session started), and pre-dose readings once they have. A cancelled or discharged session is
refused (409) before its values are looked at. Audited as ``session.vitals`` when vitals were
measured, else ``session.check``, with the kind and the flagged fields (never the note).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kap.extensions import db
from kap.models import SessionObservation, SessionStatus, TreatmentSession, User
from kap.models.base import utcnow
from kap.services import audit
from kap.services.board.administrations import administrations_of
from kap.services.board.monitoring import dosed_at
from kap.services.board.scope import lock_session_for_update
from kap.services.board.vitals import (
    AFTER_DOSING_KINDS,
    STATE_FIELDS,
    VITALS,
    has_vitals,
    observation_flags,
    validate_observation,
    vitals_limits,
)
from kap.services.errors import Conflict, Invalid
from kap.services.unit_of_work import use_case

MAX_NOTE_LENGTH = 500
#: How a refused after-dosing kind is named in its message.
_BEFORE_DOSING = {
    "post_dose": "A post-dose check",
    "check": "An observation check",
    "final": "A final check",
}


def ensure_writable(session: TreatmentSession) -> None:
    """Conflict once the session is cancelled or the patient discharged."""
    if session.status == SessionStatus.CANCELLED:
        raise Conflict("This session was cancelled.")
    if session.discharged_at is not None:
        raise Conflict("This patient has been discharged; the session record is closed.")


def is_dosed(session: TreatmentSession) -> bool:
    """Whether the patient has been dosed (an administration recorded, or session started)."""
    return dosed_at(session, administrations_of([session.id])[session.id]) is not None


@use_case
def record_observation(
    user: User,
    session_id: int,
    *,
    kind: str,
    values: dict[str, Any],
    note: str = "",
    now: datetime | None = None,
) -> SessionObservation:
    """Record one reading of ``kind`` for a session of the user's clinic.

    ``values``: systolic, diastolic, heart_rate, spo2 and sedation as ints,
    dissociation as text, respiratory_concern as a bool; None (or absent) when not recorded.
    """
    session = lock_session_for_update(user, session_id)  # a discharge waits for this reading
    ensure_writable(session)
    note = (note or "").strip()
    problems = validate_observation(kind, values, note)
    if len(note) > MAX_NOTE_LENGTH:
        problems["note"] = [f"Up to {MAX_NOTE_LENGTH} characters."]
    if kind in AFTER_DOSING_KINDS and "kind" not in problems and not is_dosed(session):
        problems["kind"] = [
            f"{_BEFORE_DOSING[kind]} is taken after dosing; nothing has been given yet and the "
            "session has not started, so record these as before dosing."
        ]
    if kind == "pre_dose" and "kind" not in problems and is_dosed(session):
        problems["kind"] = [
            "The patient has already been dosed, so this is not a pre-dose reading: record it "
            "as a post-dose, observation or final check."
        ]
    if problems:
        raise Invalid("Some values need another look.", problems)
    observation = SessionObservation(
        session_id=session.id,
        clinic_id=session.clinic_id,
        kind=kind,
        recorded_at=now or utcnow(),
        recorded_by_id=user.id,
        note=note,
        **{name: values.get(name) for name in (*VITALS, *STATE_FIELDS)},
    )
    db.session.add(observation)
    db.session.flush()
    flags = observation_flags(observation, vitals_limits(user.clinic))
    out = ",".join(f"{name}_{flag}" for name, flag in flags.items() if flag != "attention")
    attention = ",".join(name for name, flag in flags.items() if flag == "attention")
    detail = f"kind={kind}" + (f"; out_of_range={out}" if out else "")
    detail += f"; attention={attention}" if attention else ""
    audit.record(
        "session.vitals" if has_vitals(observation) else "session.check",
        actor=user,
        subject_type="session_observation",
        subject_id=observation.id,
        patient_id=session.patient_id,
        detail=detail,
    )
    return observation
