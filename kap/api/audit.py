"""The clinic's audit events for clinic admins (DESIGN §4)."""

from flask import jsonify
from flask_login import current_user

from kap.api import bp
from kap.api.io import iso, query_int, query_text
from kap.auth.roles import api_roles
from kap.extensions import db
from kap.models import Role
from kap.models.base import MAX_ID
from kap.services import audit

MAX_PAGE = 500


@bp.route("/audit")
@api_roles(Role.CLINIC_ADMIN)
def list_audit_events():
    """Newest first; `action` filters, `limit` (≤ 500) and `offset` page."""
    limit = query_int("limit", 100, 1, MAX_PAGE)
    offset = query_int("offset", 0, 0, MAX_ID)
    query = audit.events_of_clinic(current_user.clinic_id, action=query_text("action", 60))
    rows = db.session.scalars(query.limit(limit + 1).offset(offset)).all()
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
        for e in rows[:limit]
    ]
    next_offset = offset + limit if len(rows) > limit else None
    return jsonify(events=events, next_offset=next_offset)
