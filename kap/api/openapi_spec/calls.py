"""A session's Call staff requests in their real state: the shape and the poll."""

from __future__ import annotations

from kap.api.openapi_spec.common import (
    ID,
    NULLABLE_TIMESTAMP,
    TIMESTAMP,
    answer,
    array,
    closed,
    operation,
    path_id,
    ref,
)
from kap.services.sessions.staff_calls import CALL_STATUSES

SCHEMAS = {
    "StaffCall": closed(
        {
            "id": ID,
            "status": {
                "type": "string",
                "enum": list(CALL_STATUSES),
                "description": (
                    "sent: stored, nobody has acknowledged it yet; acknowledged: a member of "
                    "staff said they are on it; resolved: staff closed it."
                ),
            },
            "created_at": TIMESTAMP,
            "acknowledged_at": NULLABLE_TIMESTAMP,
            "acknowledged_by": {
                "type": ["string", "null"],
                "description": "The display name of the staff member who acknowledged it.",
            },
            "resolved_at": NULLABLE_TIMESTAMP,
        }
    )
}

PATHS = {
    "/api/v1/sessions/{session_id}/calls": {
        "get": operation(
            "session_calls",
            "The session's Call staff requests, oldest first",
            tag="Sessions",
            roles=(),
            parameters=[path_id("session_id", "session")],
            description=(
                "The same list as calls in the session's detail, without the rest of the "
                "session: what session mode polls while a call is open. Scoped like the detail "
                "(a patient: their own sessions)."
            ),
            responses={"200": answer("The calls.", closed({"calls": array(ref("StaffCall"))}))},
            statuses=(404,),
        )
    }
}
