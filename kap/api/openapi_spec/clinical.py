"""Patients, safety alerts and check-ins (PHQ-9, GAD-7)."""

from __future__ import annotations

from kap.api.openapi_spec.common import (
    CLIENT_ID,
    ID,
    NEXT_OFFSET,
    NULLABLE_ID,
    NULLABLE_TIMESTAMP,
    TIMESTAMP,
    answer,
    array,
    closed,
    operation,
    paging,
    path_id,
    ref,
)
from kap.models import AlertKind
from kap.services.measures.scoring import INSTRUMENTS, MAX_ANSWER

CLINICIANS = ("therapist", "clinic_admin")
PATIENT_ID = path_id("patient_id", "patient")
INSTRUMENT_KEYS = list(INSTRUMENTS)
SEVERITIES = sorted({band.severity for spec in INSTRUMENTS.values() for band in spec.bands})
ANSWER = {"type": "integer", "minimum": 0, "maximum": MAX_ANSWER}

PATIENT = closed(
    {
        "id": ID,
        "name": {"type": "string"},
        "email": {"type": "string"},
        "active": {"type": "boolean"},
    }
)

MEASURE_PROPERTIES = {
    "id": ID,
    "instrument": {"type": "string", "enum": INSTRUMENT_KEYS},
    "score": {
        "type": "integer",
        "minimum": 0,
        "maximum": max(spec.max_score for spec in INSTRUMENTS.values()),
    },
    "severity": {"type": "string", "enum": SEVERITIES},
    "severity_label": {"type": "string"},
    "answers": array(ANSWER),
    "client_id": {"type": ["string", "null"], "maxLength": 64},
    "session_id": NULLABLE_ID,
    "created_at": TIMESTAMP,
}

CRISIS_CONTACT = closed(
    {key: {"type": "string"} for key in ("name", "phone", "sms", "url", "description")},
    optional=("phone", "sms", "url", "description"),
)


def _checkin_body() -> dict:
    """One shape per instrument, so the number of answers is part of the contract."""
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    "instrument": {"type": "string", "const": key},
                    "answers": array(ANSWER, minItems=len(spec.items), maxItems=len(spec.items)),
                    "client_id": CLIENT_ID,
                    "session_id": {**NULLABLE_ID, "description": "One of the patient's own."},
                },
                "required": ["instrument", "answers"],
            }
            for key, spec in INSTRUMENTS.items()
        ]
    }


INSTRUMENT_FILTER = {
    "name": "instrument",
    "in": "query",
    "required": False,
    "description": "Only this questionnaire's check-ins.",
    "schema": {"type": "string", "enum": INSTRUMENT_KEYS},
}

SCHEMAS = {
    "Patient": PATIENT,
    "Measure": closed(MEASURE_PROPERTIES),
    "RecordedMeasure": closed(
        {
            **MEASURE_PROPERTIES,
            "item9_positive": {
                "type": "boolean",
                "description": "PHQ-9 item 9 above 0: show crisis support first.",
            },
            "crisis_support_url": {"type": "string"},
            "crisis_contacts": array(CRISIS_CONTACT),
        },
        optional=("crisis_support_url", "crisis_contacts"),
    ),
}

PATHS = {
    "/api/v1/patients": {
        "get": operation(
            "list_patients",
            "Patients in the caller's care (an admin: the clinic's)",
            tag="Patients",
            roles=CLINICIANS,
            parameters=paging("patients"),
            responses={
                "200": answer(
                    "The patients, by name.",
                    closed({"patients": array(PATIENT), "next_offset": NEXT_OFFSET}),
                )
            },
            statuses=(400,),
        )
    },
    "/api/v1/patients/{patient_id}": {
        "get": operation(
            "get_patient",
            "One patient in the caller's care",
            tag="Patients",
            roles=CLINICIANS,
            parameters=[PATIENT_ID],
            responses={"200": answer("The patient.", closed({"patient": ref("Patient")}))},
            statuses=(404,),
        )
    },
    "/api/v1/alerts": {
        "get": operation(
            "list_alerts",
            "Open safety alerts of the caller's patients",
            tag="Alerts",
            roles=CLINICIANS,
            description="Newest first; PHQ-9 item 9 above 0 raises kind phq9_item9.",
            responses={
                "200": answer(
                    "The open alerts.",
                    closed(
                        {
                            "alerts": array(
                                closed(
                                    {
                                        "id": ID,
                                        "kind": {
                                            "type": "string",
                                            "enum": [k.value for k in AlertKind],
                                        },
                                        "patient_id": ID,
                                        "session_id": NULLABLE_ID,
                                        "created_at": TIMESTAMP,
                                        "acknowledged_at": NULLABLE_TIMESTAMP,
                                    }
                                )
                            )
                        }
                    ),
                )
            },
        )
    },
    "/api/v1/measures": {
        "get": operation(
            "list_measures",
            "The patient's own check-ins, oldest first",
            tag="Check-ins",
            roles=("patient",),
            parameters=[INSTRUMENT_FILTER],
            responses={
                "200": answer("The check-ins.", closed({"measures": array(ref("Measure"))}))
            },
            statuses=(400,),
        ),
        "post": operation(
            "create_measure",
            "Record a PHQ-9 or GAD-7 check-in (once per client_id)",
            tag="Check-ins",
            roles=("patient",),
            csrf=True,
            description=(
                "Answers are 0 to 3 in item order. A PHQ-9 with item 9 above 0 alerts the "
                "care team and the answer carries the clinic's crisis contacts."
            ),
            body=_checkin_body(),
            responses={
                "201": answer("Recorded and scored.", ref("RecordedMeasure")),
                "200": answer("Already recorded under this client_id.", ref("RecordedMeasure")),
            },
        ),
    },
    "/api/v1/patients/{patient_id}/measures": {
        "get": operation(
            "patient_measures",
            "A patient's check-ins, for their care team or clinic admin",
            tag="Check-ins",
            roles=CLINICIANS,
            parameters=[PATIENT_ID, INSTRUMENT_FILTER],
            responses={
                "200": answer(
                    "The check-ins, oldest first.",
                    closed({"patient_id": ID, "measures": array(ref("Measure"))}),
                )
            },
            statuses=(400, 404),
        )
    },
}
