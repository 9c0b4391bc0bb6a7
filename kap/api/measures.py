"""Check-ins over the API (PHQ-9, GAD-7): record, history, and a care team's view."""

from flask import jsonify, request, url_for
from flask_login import current_user

from kap.api.io import read_body
from kap.api.operations import operation, query_parameter
from kap.api.schemas.clinical import (
    INSTRUMENT_KEYS,
    Measure,
    Measures,
    NewCheckin,
    PatientMeasures,
    RecordedMeasure,
)
from kap.models import Role
from kap.services.measures import checkins as measures

CLINICIANS = (Role.THERAPIST, Role.CLINIC_ADMIN)
INSTRUMENT_FILTER = query_parameter(
    "instrument",
    {"type": "string", "enum": INSTRUMENT_KEYS},
    "Only this questionnaire's check-ins.",
)


def _measures(found) -> list[dict]:
    return [Measure.answer(m) for m in found]


@operation(
    "/measures",
    "POST",
    summary="Record a PHQ-9 or GAD-7 check-in (once per client_id)",
    tag="Check-ins",
    roles=(Role.PATIENT,),
    body=NewCheckin,
    description=(
        "Answers are 0 to 3 in item order. A PHQ-9 with item 9 above 0 alerts the care team "
        "and the answer carries the clinic's crisis contacts."
    ),
    responses={
        201: ("Recorded and scored.", RecordedMeasure),
        200: ("Already recorded under this client_id.", RecordedMeasure),
    },
)
def create_measure():
    """Record a check-in: {instrument, answers, client_id?, session_id?}; once per client_id.

    When PHQ-9 item 9 is above 0 the answer says so and carries the clinic's crisis
    contacts, so the app can show them before anything else (the care team is alerted).
    """
    body = read_body(NewCheckin).root
    response, created = measures.record_checkin(
        current_user,
        body.get("instrument"),
        body.get("answers"),
        client_id=body.get("client_id"),
        session_id=body.get("session_id"),
    )
    data = Measure.answer(response)
    data["item9_positive"] = measures.is_item9_positive(response)
    if data["item9_positive"]:
        data["crisis_support_url"] = url_for("patient.crisis_support")
        data["crisis_contacts"] = current_user.clinic.crisis_contacts
    return jsonify(data), 201 if created else 200


@operation(
    "/measures",
    summary="The patient's own check-ins, oldest first",
    tag="Check-ins",
    roles=(Role.PATIENT,),
    parameters=[INSTRUMENT_FILTER],
    responses={200: ("The check-ins.", Measures)},
    errors=(400,),
)
def list_measures():
    """The patient's own check-ins, oldest first; ?instrument=phq9|gad7 narrows them."""
    found = measures.history(current_user, current_user.id, request.args.get("instrument") or None)
    return jsonify(measures=_measures(found))


@operation(
    "/patients/<int:patient_id>/measures",
    summary="A patient's check-ins, for their care team or clinic admin",
    tag="Check-ins",
    roles=CLINICIANS,
    parameters=[INSTRUMENT_FILTER],
    responses={200: ("The check-ins, oldest first.", PatientMeasures)},
    errors=(400, 404),
)
def patient_measures(patient_id: int):
    """A patient's check-ins for their care team or clinic admin (an audited read)."""
    found = measures.history(current_user, patient_id, request.args.get("instrument") or None)
    return jsonify(patient_id=patient_id, measures=_measures(found))
