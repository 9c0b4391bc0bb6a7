"""Patients in the caller's care (therapists) or clinic (admins)."""

from flask import jsonify
from flask_login import current_user

from kap.api import bp
from kap.api.io import paged
from kap.models import Role, User
from kap.services.people.access import get_patient_for, patients_by_name
from kap.web.roles import api_roles


def patient_json(patient: User) -> dict:
    """A patient as clinicians see them in lists."""
    return {
        "id": patient.id,
        "name": patient.name,
        "email": patient.email,
        "active": patient.active,
    }


@bp.route("/patients")
@api_roles(Role.THERAPIST, Role.CLINIC_ADMIN)
def list_patients():
    """A therapist's care list, or an admin's whole clinic, by name; paged."""
    patients, next_offset = paged(patients_by_name(current_user))
    return jsonify(patients=[patient_json(p) for p in patients], next_offset=next_offset)


@bp.route("/patients/<int:patient_id>")
@api_roles(Role.THERAPIST, Role.CLINIC_ADMIN)
def get_patient(patient_id: int):
    """One patient, if in the caller's care (404 otherwise, even if the id exists elsewhere)."""
    return jsonify(patient=patient_json(get_patient_for(current_user, patient_id)))
