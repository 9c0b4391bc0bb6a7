"""The clinic's audit events for clinic admins."""

from flask import jsonify
from flask_login import current_user

from kap.api.io import paged, query_text
from kap.api.operations import operation, paging, query_parameter
from kap.api.schemas.audit import AuditEvent, AuditEvents
from kap.models import Role
from kap.services import audit, audit_log


@operation(
    "/audit",
    summary="The clinic's audit events, newest first",
    tag="Audit",
    roles=(Role.CLINIC_ADMIN,),
    description="Ids, actions and the actor's name: no journal text, password or token.",
    parameters=[
        query_parameter(
            "action",
            {"type": "string", "maxLength": 60},
            "Only events with this action, e.g. signin.failure.",
        ),
        *paging("events"),
    ],
    responses={200: ("The events.", AuditEvents)},
    errors=(400,),
)
def list_audit_events():
    """Newest first; `action` filters, `limit` (≤ 500) and `offset` page."""
    query = audit.events_of_clinic(current_user.clinic_id, action=query_text("action", 60))
    rows, next_offset = paged(query)
    clinic = current_user.clinic
    events = [
        AuditEvent(
            id=e.id,
            actor_id=e.actor_id,
            actor_name=row.actor.name if row.actor else None,
            action=e.action,
            subject_type=e.subject_type,
            subject_id=e.subject_id,
            patient_id=e.patient_id,
            at=e.at,
        ).model_dump(mode="json")
        for row in audit_log.describe(clinic.id, clinic.timezone, rows)
        for e in (row.event,)
    ]
    return jsonify(events=events, next_offset=next_offset)
