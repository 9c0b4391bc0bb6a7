"""Instruments and check-ins over the API: what a clinic offers, record one, history, and a
care team's view."""

from flask import jsonify, request, url_for
from flask_login import current_user

from kap.api.io import read_body
from kap.api.operations import operation, query_parameter
from kap.api.schemas.clinical import (
    Instruments,
    Measure,
    Measures,
    NewCheckin,
    PatientMeasures,
    RecordedMeasure,
)
from kap.metrics import count_replay
from kap.models import Role
from kap.services.measures import checkins as measures
from kap.services.measures.library import instruments_for

CLINICIANS = (Role.THERAPIST, Role.CLINIC_ADMIN)
INSTRUMENT_FILTER = query_parameter(
    "instrument",
    {"type": "string", "pattern": "^[A-Za-z0-9_]+$", "maxLength": 40},
    "Only this questionnaire's check-ins.",
)


def _measures(found) -> list[dict]:
    return [Measure.answer(view) for view in measures.views_of(found)]


@operation(
    "/instruments",
    summary="The questionnaires the caller's clinic offers",
    tag="Check-ins",
    roles=(Role.PATIENT, Role.THERAPIST, Role.CLINIC_ADMIN),
    description=(
        "Shipped instruments (phq9, gad7, pcl5, auditc, side_effects, bladder) at their "
        "published version, then the clinic's own questionnaires at their newest version."
    ),
    responses={200: ("The instruments.", Instruments)},
)
def list_instruments():
    """Every questionnaire a patient of the caller's clinic may answer, items and options."""
    return jsonify(Instruments.answer({"instruments": instruments_for(current_user.clinic_id)}))


@operation(
    "/measures",
    "POST",
    summary="Record a completed questionnaire, any instrument (once per client_id)",
    tag="Check-ins",
    roles=(Role.PATIENT,),
    body=NewCheckin,
    description=(
        "Answers follow GET /api/v1/instruments: per item in order, an option's value, a "
        "whole number or text (PHQ-9: nine answers 0 to 3, the tenth, unscored difficulty "
        "question optional; PCL-5: twenty answers 0 to 4). A PHQ-9 with item 9 above 0 "
        "alerts the care team and the answer carries the clinic's crisis contacts."
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
    body = read_body(NewCheckin)
    response, created = measures.record_checkin(
        current_user,
        body.instrument,
        body.answers,
        client_id=body.client_id,
        session_id=body.session_id,
    )
    if not created:
        count_replay("measure")
    data = Measure.answer(measures.views_of([response])[0])
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
    """The patient's own check-ins, oldest first; ?instrument=<code> narrows them."""
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
