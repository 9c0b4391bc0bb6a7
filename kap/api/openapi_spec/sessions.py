"""Treatment sessions: the scoped list, one session's details, and what a patient does to it."""

from __future__ import annotations

from kap.api.openapi_spec import calls
from kap.api.openapi_spec.common import (
    ID,
    MAX_ID,
    NEXT_OFFSET,
    NULLABLE_TIMESTAMP,
    SESSION_STATUSES,
    TIMESTAMP,
    answer,
    array,
    closed,
    operation,
    paging,
    path_id,
    ref,
    request_object,
)
from kap.models import AlertKind
from kap.services.sessions.flow import MAX_INTENTION_LENGTH, PHASE_TIMESTAMPS

SUMMARY_PROPERTIES = {
    "id": ID,
    "patient_id": ID,
    "scheduled_at": TIMESTAMP,
    "status": {"type": "string", "enum": SESSION_STATUSES},
    "template_name": {"type": "string"},
    "template_version": {"type": "integer", "minimum": 1},
    "is_booster": {"type": "boolean"},
    "location_label": {"type": "string"},
}
PHASE_TIMES = {
    "started_at": NULLABLE_TIMESTAMP,
    "downtime_started_at": NULLABLE_TIMESTAMP,
    "integration_started_at": NULLABLE_TIMESTAMP,
    "completed_at": NULLABLE_TIMESTAMP,
}

TRACK_COMMON = {
    "id": ID,
    "title": {"type": "string"},
    "duration_seconds": {"type": "number", "minimum": 0},
}
TRACK = {
    "oneOf": [
        closed(
            {
                **TRACK_COMMON,
                "kind": {"type": "string", "const": "upload"},
                "url": {"type": "string", "description": "Where the audio is fetched from."},
            }
        ),
        closed(
            {
                **TRACK_COMMON,
                "kind": {"type": "string", "const": "soundscape"},
                "soundscape": {
                    "type": "object",
                    "description": "Generated in the browser from these settings.",
                    "properties": {
                        "key": {"type": "string"},
                        "texture": {"type": "string"},
                        "seed": {"type": "integer"},
                    },
                },
            }
        ),
    ]
}

DETAIL_PROPERTIES = {
    **SUMMARY_PROPERTIES,
    "template_description": {"type": "string"},
    "checklist": array(
        closed(
            {
                "id": ID,
                "text": {"type": "string"},
                "help_text": {"type": "string"},
                "required": {"type": "boolean"},
                "checked": {"type": "boolean"},
                "day_of": {
                    "type": "boolean",
                    "description": "About the day itself (fasting, alcohol, a ride).",
                },
                "tickable_from": {
                    **NULLABLE_TIMESTAMP,
                    "description": (
                        "Day-of items: 00:00 on the day before the session (clinic's zone), "
                        "in UTC; ticking earlier answers 409 too_early. Null: any time."
                    ),
                },
            }
        )
    ),
    "intention": {"type": "string"},
    "intention_prompts": array({"type": "string"}),
    "playlist": array(TRACK),
    "playlist_seconds": {"type": "number", "minimum": 0},
    "crossfade_seconds": {"type": "integer", "minimum": 0},
    "cues": array(
        closed(
            {
                "at_seconds": {"type": "integer", "minimum": 0},
                "text": {"type": "string"},
                "chime": {"type": "boolean"},
            }
        )
    ),
    "downtime_minutes": {"type": "integer", "minimum": 0},
    "observation_minutes": {"type": "integer", "minimum": 0},
    "integration_prompts": array({"type": "string"}),
    **PHASE_TIMES,
    "calls": array(ref("StaffCall")),
    "clinic_phone": {
        "type": "string",
        "description": "The clinic's phone number ('' when not set), kept for offline use.",
    },
    "start_window": {
        **closed({"opens_at": TIMESTAMP, "closes_at": TIMESTAMP}),
        "description": (
            "When session mode may start: from the clinic's minutes before scheduled_at (never "
            "before that local day) until the local day's end (exclusive). Outside it, phase "
            "session answers 409 not_today."
        ),
    },
    "requires_check_in": {
        "type": "boolean",
        "description": "Staff must check the patient in before the session can start.",
    },
    "checked_in_at": {
        **NULLABLE_TIMESTAMP,
        "description": "When staff checked the patient in (null: not yet).",
    },
}


def conflict(description: str, codes: list[str]) -> dict:
    """A 409 answer in the error format whose error.code is one of ``codes``."""
    schema = {
        "allOf": [
            ref("Error"),
            {"properties": {"error": {"properties": {"code": {"enum": codes}}}}},
        ]
    }
    return answer(description, schema)


PHASE_CONFLICT = conflict(
    "The phase cannot change. error.code: not_today — outside the start window (checked "
    "first, whatever else is missing; the message says when it can start); "
    "check_in_required — the template asks for staff check-in and it has not happened; "
    "conflict — out of order, cancelled, or required preparation unticked.",
    ["not_today", "check_in_required", "conflict"],
)
CHECKLIST_CONFLICT = conflict(
    "error.code: too_early — a day-of item ticked before 00:00 on the day before the "
    "session (the message names the day; unticking is always allowed); conflict — the "
    "session is complete or cancelled.",
    ["too_early", "conflict"],
)

SCHEMAS = {
    "SessionSummary": closed(SUMMARY_PROPERTIES),
    "SessionDetail": closed(DETAIL_PROPERTIES),
}

SESSION_ID = path_id("session_id", "session")
DEVICE_TIME = {
    **TIMESTAMP,
    "description": "When it happened on the device (ISO 8601 with a zone); default now.",
}


def _query_int(name: str, low: int, high: int, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "integer", "minimum": low, "maximum": high},
    }


PATIENT_ONLY = ("patient",)

PATHS = {
    "/api/v1/sessions": {
        "get": operation(
            "list_sessions",
            "Sessions the caller may see",
            tag="Sessions",
            roles=(),
            description=(
                "A patient's own, a therapist's care list's, an admin's clinic's; oldest "
                "first, paged with limit and offset (next_offset is null on the last page)."
            ),
            parameters=[
                _query_int("patient_id", 1, MAX_ID, "Only this patient's sessions."),
                {
                    "name": "status",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": SESSION_STATUSES},
                },
                *paging("sessions"),
            ],
            responses={
                "200": answer(
                    "The sessions.",
                    closed(
                        {
                            "sessions": array(ref("SessionSummary")),
                            "next_offset": NEXT_OFFSET,
                        }
                    ),
                )
            },
            statuses=(400,),
        )
    },
    "/api/v1/sessions/{session_id}": {
        "get": operation(
            "get_session",
            "One session with everything needed to prepare and run it",
            tag="Sessions",
            roles=(),
            parameters=[SESSION_ID],
            description="The fields at the top level and, identically, under session.",
            responses={
                "200": answer(
                    "The session.",
                    closed({**DETAIL_PROPERTIES, "session": ref("SessionDetail")}),
                )
            },
            statuses=(404,),
        )
    },
    "/api/v1/sessions/{session_id}/checklist/{item_id}": {
        "put": operation(
            "put_checklist_item",
            "Tick or untick a preparation item",
            tag="Sessions",
            roles=PATIENT_ONLY,
            csrf=True,
            parameters=[SESSION_ID, path_id("item_id", "checklist item")],
            body=request_object({"checked": {"type": "boolean"}}, required=("checked",)),
            responses={
                "200": answer(
                    "The item's state and the required items still unticked.",
                    closed(
                        {
                            "item": closed({"id": ID, "checked": {"type": "boolean"}}),
                            "missing_required": array(ID),
                        }
                    ),
                ),
                "409": CHECKLIST_CONFLICT,
            },
            statuses=(404,),
        )
    },
    "/api/v1/sessions/{session_id}/intention": {
        "put": operation(
            "put_intention",
            "Set the intention (until the session starts)",
            tag="Sessions",
            roles=PATIENT_ONLY,
            csrf=True,
            parameters=[SESSION_ID],
            body=request_object(
                {"text": {"type": "string", "maxLength": MAX_INTENTION_LENGTH}}, ("text",)
            ),
            responses={
                "200": answer(
                    "The intention as stored (trimmed).",
                    closed({"intention": {"type": "string"}, "updated_at": TIMESTAMP}),
                )
            },
            statuses=(404, 409),
        )
    },
    "/api/v1/sessions/{session_id}/phase": {
        "post": operation(
            "post_phase",
            "Move to the next phase",
            tag="Sessions",
            roles=PATIENT_ONLY,
            csrf=True,
            parameters=[SESSION_ID],
            description=(
                "session, downtime, integration, complete — in that order. 409 when out of "
                "order or when required preparation is unticked; re-sending the current "
                "phase answers 200 with changed false. To start (session), in this order: "
                "not_today outside start_window, check_in_required, then unticked items. "
                "at is believed for the start only when it lies in the window, is at most 5 "
                "minutes ahead of the server and arrives within 12 hours of the window's end; "
                "otherwise the server's time is used."
            ),
            body=request_object(
                {
                    "phase": {
                        "type": "string",
                        "enum": [phase.value for phase in PHASE_TIMESTAMPS],
                    },
                    "at": DEVICE_TIME,
                },
                required=("phase",),
            ),
            responses={
                "200": answer(
                    "The session's state after the change.",
                    closed(
                        {
                            "session": closed({**SUMMARY_PROPERTIES, **PHASE_TIMES}),
                            "changed": {"type": "boolean"},
                        }
                    ),
                ),
                "409": PHASE_CONFLICT,
            },
            statuses=(404,),
        )
    },
    "/api/v1/sessions/{session_id}/call-staff": {
        "post": operation(
            "post_call_staff",
            "Ask clinic staff to come now",
            tag="Sessions",
            roles=PATIENT_ONLY,
            csrf=True,
            parameters=[SESSION_ID],
            description="Once per client_id: a retry answers 200 with the first alert.",
            body=request_object(
                {
                    "client_id": {"type": "string", "minLength": 1, "maxLength": 64},
                    "at": DEVICE_TIME,
                }
            ),
            responses={
                "201": answer("Staff alerted.", ref("CallStaffAnswer")),
                "200": answer("Already alerted for this client_id.", ref("CallStaffAnswer")),
            },
            statuses=(404,),
        )
    },
}

SCHEMAS["CallStaffAnswer"] = closed(
    {
        "alert": closed(
            {
                "id": ID,
                "kind": {"type": "string", "const": AlertKind.CALL_STAFF.value},
                "created_at": TIMESTAMP,
            }
        ),
        "call": ref("StaffCall"),
    }
)
PATHS.update(calls.PATHS)
SCHEMAS.update(calls.SCHEMAS)
