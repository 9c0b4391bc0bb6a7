"""Discharge over the API: discharge with every blocker named, and reopening.

For clinicians of the session's clinic (the board's scope: the whole clinic's floor); a
patient gets 403, another clinic 404. A refused discharge answers 409 with code
``discharge_blocked`` and ``fields`` naming every blocker: ``observation``,
``final_vitals``, ``override_reason``, ``driver``.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_login import current_user

from kap.api.io import read_body
from kap.api.operations import operation
from kap.api.schemas.common import iso
from kap.api.schemas.discharge import Discharge, DischargeAnswer, Reopen
from kap.models import Role, SessionDischarge, TreatmentSession
from kap.services.board import discharge as discharge_service
from kap.services.board.discharge import MIN_OVERRIDE_LENGTH, REOPEN_WINDOW_MINUTES
from kap.services.board.scope import names_of
from kap.services.sessions.data import session_summary

CLINICIANS = (Role.THERAPIST, Role.CLINIC_ADMIN)


def discharge_json(session: TreatmentSession, record: SessionDischarge | None) -> dict[str, Any]:
    """The session summary plus its current discharge (nulls when not discharged)."""
    current = record if session.discharged_at is not None else None
    by_id = session.discharged_by_id
    name = names_of({by_id}).get(by_id) if by_id else None
    return {
        **session_summary(session),
        "discharged_at": iso(session.discharged_at),
        "discharged_by": {"id": by_id, "name": name or ""} if by_id else None,
        "driver": current.driver if current else None,
        "override_reason": (current.override_reason or None) if current else None,
        "out_of_range": [c for c in current.out_of_range.split(",") if c] if current else [],
    }


@operation(
    "/sessions/<int:session_id>/discharge",
    "POST",
    summary="Discharge the patient",
    tag="Sessions",
    roles=CLINICIANS,
    body=Discharge,
    description=(
        "Needs all of: the observation time over; a final check since the latest dose (the "
        "latest counts) inside the clinic's limits, with no respiratory concern, sedation "
        "back to MOAA/S 5 and dissociation none or mild — or an override_reason of at least "
        f"{MIN_OVERRIDE_LENGTH} characters; and the driver. Otherwise 409 with code "
        "discharge_blocked and error.fields naming every blocker: observation, "
        "final_vitals, override_reason, driver. A cancelled or already discharged session "
        "is a plain 409."
    ),
    responses={200: ("Discharged.", DischargeAnswer)},
    errors=(404, 409),
)
def post_discharge(session_id: int):
    """Discharge: {"driver", "override_reason"?}; 409 naming every blocker."""
    body = read_body(Discharge)
    session, record = discharge_service.discharge(
        current_user,
        session_id,
        driver=body.driver or "",
        override_reason=body.override_reason or "",
    )
    return jsonify(session=discharge_json(session, record))


@operation(
    "/sessions/<int:session_id>/discharge/reopen",
    "POST",
    summary="Reopen a discharge",
    tag="Sessions",
    roles=CLINICIANS,
    body=Reopen,
    description=(
        f"Within {REOPEN_WINDOW_MINUTES} minutes of the discharge, with a reason; 409 after "
        "that, or when the session is not discharged."
    ),
    responses={200: ("Reopened: the session is no longer discharged.", DischargeAnswer)},
    errors=(404, 409),
)
def post_discharge_reopen(session_id: int):
    """Reopen a discharge within the window: {"reason"}; 409 after it."""
    reason = read_body(Reopen).reason or ""
    session = discharge_service.reopen(current_user, session_id, reason)
    return jsonify(session=discharge_json(session, None))
