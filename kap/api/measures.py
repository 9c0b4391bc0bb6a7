"""Check-ins over the API (PHQ-9, GAD-7): record, history, and a care team's view."""

from flask import jsonify, request, url_for
from flask_login import current_user

from kap.api import bp
from kap.api.io import iso, json_body
from kap.models import MeasureResponse, Role
from kap.services.measures import checkins as measures
from kap.services.measures.scoring import severity_for
from kap.web.roles import api_roles


def measure_json(response: MeasureResponse) -> dict:
    """A check-in as the API lists it, plus its answers, label and links."""
    return {
        "id": response.id,
        "instrument": response.instrument,
        "score": response.score,
        "severity": response.severity,
        "severity_label": severity_for(response.instrument, response.score).label,
        "answers": list(response.answers),
        "client_id": response.client_id,
        "session_id": response.session_id,
        "created_at": iso(response.created_at),
    }


@bp.route("/measures", methods=["POST"])
@api_roles(Role.PATIENT)
def create_measure():
    """Record a check-in: {instrument, answers, client_id?, session_id?}; once per client_id.

    When PHQ-9 item 9 is above 0 the answer says so and carries the clinic's crisis
    contacts, so the app can show them before anything else (the care team is alerted).
    """
    body = json_body()
    response, created = measures.record_checkin(
        current_user,
        body.get("instrument"),
        body.get("answers"),
        client_id=body.get("client_id"),
        session_id=body.get("session_id"),
    )
    data = measure_json(response)
    data["item9_positive"] = measures.is_item9_positive(response)
    if data["item9_positive"]:
        data["crisis_support_url"] = url_for("patient.crisis_support")
        data["crisis_contacts"] = current_user.clinic.crisis_contacts
    return jsonify(data), 201 if created else 200


@bp.route("/measures")
@api_roles(Role.PATIENT)
def list_measures():
    """The patient's own check-ins, oldest first; ?instrument=phq9|gad7 narrows them."""
    found = measures.history(current_user, current_user.id, request.args.get("instrument") or None)
    return jsonify(measures=[measure_json(m) for m in found])


@bp.route("/patients/<int:patient_id>/measures")
@api_roles(Role.THERAPIST, Role.CLINIC_ADMIN)
def patient_measures(patient_id: int):
    """A patient's check-ins for their care team or clinic admin (an audited read)."""
    found = measures.history(current_user, patient_id, request.args.get("instrument") or None)
    return jsonify(patient_id=patient_id, measures=[measure_json(m) for m in found])
