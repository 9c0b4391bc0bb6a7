"""A session's Call staff requests as the patient's phone must show them: the real state.

A call is *sent* once the server has stored it, *acknowledged* once a member of staff said
"I am on it" on the board (their name and the time are shown to the patient), and *resolved*
once staff closed it. The phone never claims more than this: "someone is on the way" is only
true after an acknowledgement. Staff's resolution notes stay with staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from kap.extensions import db
from kap.models import Alert, AlertKind, TreatmentSession, User
from kap.services.sessions.queries import get_session_for

SENT, ACKNOWLEDGED, RESOLVED = "sent", "acknowledged", "resolved"
CALL_STATUSES = (SENT, ACKNOWLEDGED, RESOLVED)


@dataclass(frozen=True)
class StaffCall:
    """One Call staff request of a session, with the name of whoever acknowledged it."""

    id: int
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None

    @property
    def status(self) -> str:
        """sent, acknowledged or resolved."""
        if self.resolved_at is not None:
            return RESOLVED
        return ACKNOWLEDGED if self.acknowledged_at is not None else SENT

    @property
    def is_open(self) -> bool:
        """Not yet resolved: the phone keeps asking for news."""
        return self.resolved_at is None


def calls_of(session: TreatmentSession) -> list[StaffCall]:
    """The session's Call staff requests, oldest first, in one query (callers scope the session).

    Filtering on the patient as well as the session lets the (patient_id, client_id) index
    find the rows, and keeps a call of another patient out even if a row were mislabelled.
    """
    query = (
        select(
            Alert.id,
            Alert.created_at,
            Alert.acknowledged_at,
            User.name,
            Alert.resolved_at,
        )
        .outerjoin(User, User.id == Alert.acknowledged_by_id)
        .where(
            Alert.patient_id == session.patient_id,
            Alert.session_id == session.id,
            Alert.clinic_id == session.clinic_id,
            Alert.kind == AlertKind.CALL_STAFF,
        )
        .order_by(Alert.created_at, Alert.id)
    )
    return [StaffCall(*row) for row in db.session.execute(query)]


def calls_for(user: User, session_id: int) -> list[StaffCall]:
    """The calls of a session ``user`` may read (a patient: their own), or NotFound."""
    return calls_of(get_session_for(user, session_id))


def call_of_alert(alert: Alert) -> StaffCall:
    """The state of one alert just raised or found again (the Call staff answer)."""
    name = (
        db.session.get_one(User, alert.acknowledged_by_id).name
        if alert.acknowledged_by_id
        else None
    )
    return StaffCall(alert.id, alert.created_at, alert.acknowledged_at, name, alert.resolved_at)


def latest(calls: list[StaffCall]) -> StaffCall | None:
    """The newest call: the one the phone shows."""
    return calls[-1] if calls else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def call_data(call: StaffCall) -> dict[str, Any]:
    """The API shape of a call (plus resolved_at, for "closed by staff at ...")."""
    return {
        "id": call.id,
        "status": call.status,
        "created_at": _iso(call.created_at),
        "acknowledged_at": _iso(call.acknowledged_at),
        "acknowledged_by": call.acknowledged_by,
        "resolved_at": _iso(call.resolved_at),
    }
