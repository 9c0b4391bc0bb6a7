"""The clinic's audit log, for its clinic admins."""

from __future__ import annotations

from kap.api.openapi_spec.common import (
    ID,
    NEXT_OFFSET,
    NULLABLE_ID,
    TIMESTAMP,
    answer,
    array,
    closed,
    operation,
    paging,
)

EVENT = closed(
    {
        "id": ID,
        "actor_id": {**NULLABLE_ID, "description": "Null for failed sign-ins of no account."},
        "actor_name": {
            "type": ["string", "null"],
            "description": "The actor's name (a deleted patient's pseudonym); null with no actor.",
        },
        "action": {"type": "string", "maxLength": 60, "examples": ["signin.success"]},
        "subject_type": {"type": "string", "maxLength": 40},
        "subject_id": NULLABLE_ID,
        "patient_id": NULLABLE_ID,
        "at": TIMESTAMP,
    }
)

PATHS = {
    "/api/v1/audit": {
        "get": operation(
            "list_audit_events",
            "The clinic's audit events, newest first",
            tag="Audit",
            roles=("clinic_admin",),
            description=("Ids, actions and the actor's name: no journal text, password or token."),
            parameters=[
                {
                    "name": "action",
                    "in": "query",
                    "required": False,
                    "description": "Only events with this action, e.g. signin.failure.",
                    "schema": {"type": "string", "maxLength": 60},
                },
                *paging("events"),
            ],
            responses={
                "200": answer(
                    "The events.",
                    closed(
                        {
                            "events": array(EVENT),
                            "next_offset": NEXT_OFFSET,
                        }
                    ),
                )
            },
            statuses=(400,),
        )
    },
}
