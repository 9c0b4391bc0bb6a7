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

from kap.api import bp
from kap.api.io import iso, json_body
from kap.models import Role, SessionDischarge, TreatmentSession
from kap.services.board import discharge as discharge_service
from kap.services.board.scope import names_of
from kap.services.errors import Invalid
from kap.services.sessions.data import session_summary
from kap.web.roles import api_roles

CLINICIANS = (Role.THERAPIST, Role.CLINIC_ADMIN)


def _optional_text(body: dict[str, Any], name: str) -> str:
    """``body[name]`` as text ('' when absent or null), or Invalid naming the field."""
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be text.", {name: ["Send text (a JSON string)."]})
    return value


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


@bp.route("/sessions/<int:session_id>/discharge", methods=["POST"])
@api_roles(*CLINICIANS)
def post_discharge(session_id: int):
    """Discharge: {"driver", "override_reason"?}; 409 naming every blocker."""
    body = json_body()
    session, record = discharge_service.discharge(
        current_user,
        session_id,
        driver=_optional_text(body, "driver"),
        override_reason=_optional_text(body, "override_reason"),
    )
    return jsonify(session=discharge_json(session, record))


@bp.route("/sessions/<int:session_id>/discharge/reopen", methods=["POST"])
@api_roles(*CLINICIANS)
def post_discharge_reopen(session_id: int):
    """Reopen a discharge within the window: {"reason"}; 409 after it."""
    reason = _optional_text(json_body(), "reason")
    session = discharge_service.reopen(current_user, session_id, reason)
    return jsonify(session=discharge_json(session, None))
