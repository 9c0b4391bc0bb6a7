"""What staff record from the board: readings and Call staff.

Discharge and its reopening are in ``kap.services.board.discharge``.

Every write is for a session (or alert) of the user's own clinic (``board.scope``), is refused
once the session is cancelled or discharged, and is audited in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kap.models import Alert, SessionObservation, User
from kap.services import alerts
from kap.services.board.observations import ensure_writable, is_dosed, record_observation
from kap.services.board.scope import get_board_session, get_call_for
from kap.services.errors import Conflict


def record_vitals(
    user: User,
    session_id: int,
    *,
    kind: str,
    values: dict[str, Any],
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
    values: dict[str, Any] | None = None,
) -> SessionObservation:
    """A monitoring check during observation: sedation, dissociation, breathing, a note."""
    session = get_board_session(user, session_id)
    if not is_dosed(session):
        ensure_writable(session)
        raise Conflict("The session has not started; record pre-dose vitals instead.")
    return record_observation(
        user, session_id, kind="check", values=values or {}, note=note, now=now
    )


def acknowledge_call(user: User, alert_id: int) -> Alert:
    """'I am on my way': any staff member of the clinic may acknowledge (idempotent)."""
    return alerts.acknowledge(user, get_call_for(user, alert_id))


def resolve_call(user: User, alert_id: int, note: str) -> Alert:
    """Close a Call staff alert with a note on what was done."""
    return alerts.resolve(user, note, lambda: get_call_for(user, alert_id))
