"""The clinic's audit events for clinic admins."""

from flask import jsonify
from flask_login import current_user

from kap.api import bp
from kap.api.io import iso, paged, query_text
from kap.models import Role
from kap.services import audit, audit_log
from kap.web.roles import api_roles


@bp.route("/audit")
@api_roles(Role.CLINIC_ADMIN)
def list_audit_events():
    """Newest first; `action` filters, `limit` (≤ 500) and `offset` page."""
    query = audit.events_of_clinic(current_user.clinic_id, action=query_text("action", 60))
    rows, next_offset = paged(query)
    clinic = current_user.clinic
    events = [
        {
            "id": e.id,
            "actor_id": e.actor_id,
            "actor_name": row.actor.name if row.actor else None,
            "action": e.action,
            "subject_type": e.subject_type,
            "subject_id": e.subject_id,
            "patient_id": e.patient_id,
            "at": iso(e.at),
        }
        for row in audit_log.describe(clinic.id, clinic.timezone, rows)
        for e in (row.event,)
    ]
    return jsonify(events=events, next_offset=next_offset)
