"""Discharge and reopening, for clinicians of the session's clinic."""

from __future__ import annotations

from kap.api.openapi_spec.common import (
    ID,
    NULLABLE_TIMESTAMP,
    answer,
    array,
    closed,
    operation,
    ref,
    request_object,
)
from kap.api.openapi_spec.sessions import SESSION_ID, SUMMARY_PROPERTIES
from kap.services.board.discharge import (
    MAX_DRIVER_LENGTH,
    MAX_REASON_LENGTH,
    MIN_OVERRIDE_LENGTH,
    REOPEN_WINDOW_MINUTES,
)

CLINICIANS = ("therapist", "clinic_admin")
NULLABLE_TEXT = {"type": ["string", "null"]}

SCHEMAS = {
    "DischargedSession": closed(
        {
            **SUMMARY_PROPERTIES,
            "discharged_at": NULLABLE_TIMESTAMP,
            "discharged_by": {
                "oneOf": [closed({"id": ID, "name": {"type": "string"}}), {"type": "null"}]
            },
            "driver": {**NULLABLE_TEXT, "description": "Who is driving the patient home."},
            "override_reason": {
                **NULLABLE_TEXT,
                "description": "Why the patient left with a final check outside the limits.",
            },
            "out_of_range": array(
                {"type": "string"},
                description="What was outside the limits, e.g. systolic_high, sedation_3.",
            ),
        }
    )
}

ANSWER = closed({"session": ref("DischargedSession")})

PATHS = {
    "/api/v1/sessions/{session_id}/discharge": {
        "post": operation(
            "post_discharge",
            "Discharge the patient",
            tag="Sessions",
            roles=CLINICIANS,
            csrf=True,
            parameters=[SESSION_ID],
            description=(
                "Needs all of: the observation time over; a final check since the latest "
                "dose (the latest counts) inside the clinic's limits, with no respiratory "
                "concern, sedation back to MOAA/S 5 and dissociation none or mild — or an "
                f"override_reason of at least {MIN_OVERRIDE_LENGTH} characters; and the "
                "driver. Otherwise 409 with code discharge_blocked and error.fields naming "
                "every blocker: observation, final_vitals, override_reason, driver. A "
                "cancelled or already discharged session is a plain 409."
            ),
            body=request_object(
                {
                    "driver": {"type": "string", "maxLength": MAX_DRIVER_LENGTH},
                    "override_reason": {"type": "string", "maxLength": MAX_REASON_LENGTH},
                }
            ),
            responses={"200": answer("Discharged.", ANSWER)},
            statuses=(404, 409),
        )
    },
    "/api/v1/sessions/{session_id}/discharge/reopen": {
        "post": operation(
            "post_discharge_reopen",
            "Reopen a discharge",
            tag="Sessions",
            roles=CLINICIANS,
            csrf=True,
            parameters=[SESSION_ID],
            description=(
                f"Within {REOPEN_WINDOW_MINUTES} minutes of the discharge, with a reason; "
                "409 after that, or when the session is not discharged."
            ),
            body=request_object(
                {"reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON_LENGTH}},
                required=("reason",),
            ),
            responses={"200": answer("Reopened: the session is no longer discharged.", ANSWER)},
            statuses=(404, 409),
        )
    },
}
