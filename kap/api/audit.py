"""The clinic's audit events for clinic admins (DESIGN §4)."""

from flask import jsonify, request
from flask_login import current_user

from kap.api import bp
from kap.api.io import iso
from kap.auth.roles import api_roles
from kap.extensions import db
from kap.models import Role
from kap.services import audit
from kap.services.errors import Invalid

MAX_PAGE = 500


@bp.route("/audit")
@api_roles(Role.CLINIC_ADMIN)
def list_audit_events():
    """Newest first; `action` filters, `limit` (≤ 500) and `offset` page."""
    limit = request.args.get("limit", 100)
    offset = request.args.get("offset", 0)
    if not str(limit).isdigit() or not 1 <= int(limit) <= MAX_PAGE:
        raise Invalid("limit is 1 to 500.", {"limit": ["A whole number from 1 to 500."]})
    if not str(offset).isdigit():
        raise Invalid("offset is a whole number.", {"offset": ["A whole number from 0."]})
    query = audit.events_of_clinic(current_user.clinic_id, action=request.args.get("action"))
    rows = db.session.scalars(query.limit(int(limit) + 1).offset(int(offset))).all()
    events = [
        {
            "id": e.id,
            "actor_id": e.actor_id,
            "action": e.action,
            "subject_type": e.subject_type,
            "subject_id": e.subject_id,
            "patient_id": e.patient_id,
            "at": iso(e.at),
        }
        for e in rows[: int(limit)]
    ]
    next_offset = int(offset) + int(limit) if len(rows) > int(limit) else None
    return jsonify(events=events, next_offset=next_offset)
