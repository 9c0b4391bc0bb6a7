"""What clinicians record at a session: administrations and monitoring checks."""

from __future__ import annotations

from kap.api.openapi_spec.common import (
    ID,
    TIMESTAMP,
    answer,
    closed,
    operation,
    path_id,
    ref,
    request_object,
)
from kap.services.board.administrations import MAX_LOT, MAX_MEDICATION, MAX_NOTE, ROUTES, UNITS
from kap.services.board.clinical_scales import DISSOCIATION_LABELS, SEDATION_LABELS
from kap.services.board.observations import MAX_NOTE_LENGTH
from kap.services.board.vitals import KINDS, PLAUSIBLE

CLINICIANS = ("therapist", "clinic_admin")
SESSION_ID = path_id("session_id", "session")
PERSON = {
    "oneOf": [closed({"id": ID, "name": {"type": "string"}}), {"type": "null"}],
    "description": "Who did it, as {id, name}; null once that account is gone.",
}
DOSE = {
    "type": "number",
    "exclusiveMinimum": 0,
    "exclusiveMaximum": 100000,
    "description": "As the clinician typed it (at most 3 decimals); never proposed by the app.",
}
SEDATION = {
    "type": "integer",
    "minimum": 0,
    "maximum": 5,
    "description": "MOAA/S: "
    + "; ".join(f"{level} {text}" for level, text in SEDATION_LABELS.items())
    + ".",
}
FLAG = {"type": "string", "enum": ["high", "low", "attention"]}


def _vital(name: str) -> dict:
    low, high = PLAUSIBLE[name]
    return {"type": "integer", "minimum": low, "maximum": high}


def _nullable(schema: dict) -> dict:
    kind = schema["type"]
    return {**schema, "type": [kind, "null"]}


VITAL_NAMES = ("systolic", "diastolic", "heart_rate", "spo2")

ADMINISTRATION = closed(
    {
        "id": ID,
        "medication": {"type": "string"},
        "route": {"type": "string", "enum": list(ROUTES)},
        "dose": {**DOSE, "description": "A JSON number."},
        "unit": {"type": "string", "enum": list(UNITS)},
        "lot": {"type": "string"},
        "at": {**TIMESTAMP, "description": "When it was given (ISO 8601 UTC, ending in Z)."},
        "given_by": PERSON,
    }
)

CHECK = closed(
    {
        "id": ID,
        "kind": {"type": "string", "enum": list(KINDS)},
        "recorded_at": TIMESTAMP,
        "recorded_by": PERSON,
        **{name: _nullable(_vital(name)) for name in VITAL_NAMES},
        "sedation": _nullable(SEDATION),
        "dissociation": {"type": ["string", "null"], "enum": [*DISSOCIATION_LABELS, None]},
        "respiratory_concern": {"type": ["boolean", "null"]},
        "note": {"type": "string"},
        "flags": {
            "type": "object",
            "description": (
                "Only what needs a look, by field: a vital outside the clinic's limits is "
                '"high" or "low"; sedation below 5, moderate or severe dissociation and a '
                'respiratory concern are "attention". '
                'E.g. {"systolic": "high", "sedation": "attention"}; {} when nothing.'
            ),
            "properties": {
                **dict.fromkeys(VITAL_NAMES, FLAG),
                "sedation": {"type": "string", "const": "attention"},
                "dissociation": {"type": "string", "const": "attention"},
                "respiratory_concern": {"type": "string", "const": "attention"},
            },
            "additionalProperties": False,
        },
    }
)

SCHEMAS = {"Administration": ADMINISTRATION, "MonitoringCheck": CHECK}

PATHS = {
    "/api/v1/sessions/{session_id}/administrations": {
        "post": operation(
            "post_administration",
            "Record a medication given at the session",
            tag="Sessions",
            roles=CLINICIANS,
            csrf=True,
            parameters=[SESSION_ID],
            description=(
                "Therapists and admins of the session's clinic (another clinic: 404). Several "
                "per session (a booster dose). The time given (at, ISO 8601 with a zone; "
                "default now) may be at most 5 minutes ahead and not before the session's "
                "local day. 409 once the session is cancelled or discharged. The note is "
                "kept encrypted and not echoed."
            ),
            body=request_object(
                {
                    "medication": {"type": "string", "minLength": 1, "maxLength": MAX_MEDICATION},
                    "route": {"type": "string", "enum": list(ROUTES)},
                    "dose": {
                        "oneOf": [
                            DOSE,
                            {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]{1,3})?\s*$"},
                        ]
                    },
                    "unit": {"type": "string", "enum": list(UNITS)},
                    "lot": {"type": "string", "maxLength": MAX_LOT},
                    "at": {**TIMESTAMP, "description": "ISO 8601 with a zone; default now."},
                    "note": {"type": "string", "maxLength": MAX_NOTE},
                },
                required=("medication", "route", "dose", "unit"),
            ),
            responses={
                "201": answer("Recorded.", closed({"administration": ref("Administration")}))
            },
            statuses=(404, 409),
        )
    },
    "/api/v1/sessions/{session_id}/checks": {
        "post": operation(
            "post_check",
            "Record a monitoring reading (vitals, sedation, dissociation, breathing)",
            tag="Sessions",
            roles=CLINICIANS,
            csrf=True,
            parameters=[SESSION_ID],
            description=(
                "pre_dose: systolic, diastolic and heart_rate (spo2 optional). post_dose and "
                "final: those, plus sedation, dissociation and respiratory_concern. check: at "
                "least one of the vitals (blood pressure as a pair), sedation, dissociation, "
                "respiratory_concern or note. post_dose, check and final are refused (400 on "
                "kind) before dosing. 409 once the session is cancelled or discharged."
            ),
            body=request_object(
                {
                    "kind": {"type": "string", "enum": list(KINDS)},
                    **{name: _vital(name) for name in VITAL_NAMES},
                    "sedation": SEDATION,
                    "dissociation": {"type": "string", "enum": list(DISSOCIATION_LABELS)},
                    "respiratory_concern": {"type": "boolean"},
                    "note": {"type": "string", "maxLength": MAX_NOTE_LENGTH},
                },
                required=("kind",),
            ),
            responses={"201": answer("Recorded.", closed({"check": ref("MonitoringCheck")}))},
            statuses=(404, 409),
        )
    },
}
