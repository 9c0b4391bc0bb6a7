"""What staff record from the board: readings, discharge and Call staff.

Every write is for a session (or alert) of the user's own clinic (``board_scope``), is refused
once the session is cancelled or discharged, and is audited in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from kap.extensions import db
from kap.models import Alert, SessionObservation, TreatmentSession, User
from kap.models.base import utcnow
from kap.services import alerts, audit
from kap.services.board_scope import get_board_session, get_call_for, observations_of
from kap.services.errors import Conflict
from kap.services.observations import ensure_writable, is_dosed, record_observation
from kap.services.session_monitoring import discharge_blockers


def record_vitals(
    user: User,
    session_id: int,
    *,
    kind: str,
    values: dict,
    note: str = "",
    now: datetime | None = None,
) -> SessionObservation:
    """Record a reading of ``kind``: vitals and the clinical state (see ``observations``)."""
    return record_observation(user, session_id, kind=kind, values=values, note=note, now=now)


def record_check(
    user: User,
    session_id: int,
    note: str = "",
    now: datetime | None = None,
    values: dict | None = None,
) -> SessionObservation:
    """A monitoring check during observation: sedation, dissociation, breathing, a note."""
    session = get_board_session(user, session_id)
    if not is_dosed(session):
        ensure_writable(session)
        raise Conflict("The session has not started; record pre-dose vitals instead.")
    return record_observation(
        user, session_id, kind="check", values=values or {}, note=note, now=now
    )


def discharge(user: User, session_id: int, now: datetime | None = None) -> TreatmentSession:
    """Discharge the patient; Conflict (with every reason) when it is too early."""
    now = now or utcnow()
    session = get_board_session(user, session_id)
    observations = observations_of([session.id])[session.id]
    reasons = discharge_blockers(session, observations, user.clinic, now)
    if reasons:
        raise Conflict("Not yet: " + " ".join(reasons), {"discharge": reasons})
    session.discharged_at = now
    session.discharged_by_id = user.id
    audit.record(
        "session.discharge",
        actor=user,
        subject_type="session",
        subject_id=session.id,
        patient_id=session.patient_id,
        commit=False,
    )
    db.session.commit()
    return session


def acknowledge_call(user: User, alert_id: int) -> Alert:
    """'I am on my way': any staff member of the clinic may acknowledge (idempotent)."""
    return alerts.acknowledge(user, get_call_for(user, alert_id))


def resolve_call(user: User, alert_id: int, note: str) -> Alert:
    """Close a Call staff alert with a note on what was done."""
    return alerts.resolve(user, note, lambda: get_call_for(user, alert_id))
