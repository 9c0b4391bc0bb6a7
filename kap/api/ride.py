"""The patient's ride home: who is driving them (the evening-before reminder asks)."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from kap.api.io import read_body
from kap.api.operations import operation
from kap.api.schemas.common import iso
from kap.api.schemas.ride import Ride, RideAnswer
from kap.models import Role
from kap.services.sessions.ride import confirm_ride

PATIENT_ONLY = (Role.PATIENT,)


@operation(
    "/sessions/<int:session_id>/ride",
    "PUT",
    summary="Say who is driving the patient home (until the session starts)",
    tag="Sessions",
    roles=PATIENT_ONLY,
    body=Ride,
    description=(
        "Shown on the board and pre-filled into the discharge form; the clinician still "
        "writes and confirms the driver at discharge. 409 once the session has started, "
        "ended or was cancelled."
    ),
    responses={200: ("The answer as stored.", RideAnswer)},
    errors=(404, 409),
)
def put_ride(session_id: int):
    """Record the patient's ride home: {"driver": "..."}."""
    session = confirm_ride(current_user, session_id, read_body(Ride).driver)
    return jsonify(ride_home=session.ride_home, ride_home_at=iso(session.ride_home_at))
