"""Patients in the caller's care (therapists) or clinic (admins)."""

from flask import jsonify
from flask_login import current_user

from kap.api.io import paged
from kap.api.operations import operation, paging
from kap.api.schemas.clinical import Patient, PatientAnswer, Patients
from kap.models import Role
from kap.services.people.access import get_patient_for, patients_by_name

CLINICIANS = (Role.THERAPIST, Role.CLINIC_ADMIN)


@operation(
    "/patients",
    summary="Patients in the caller's care (an admin: the clinic's)",
    tag="Patients",
    roles=CLINICIANS,
    parameters=paging("patients"),
    responses={200: ("The patients, by name.", Patients)},
    errors=(400,),
)
def list_patients():
    """A therapist's care list, or an admin's whole clinic, by name; paged."""
    patients, next_offset = paged(patients_by_name(current_user))
    return jsonify(
        patients=[Patient.answer(p) for p in patients],
        next_offset=next_offset,
    )


@operation(
    "/patients/<int:patient_id>",
    summary="One patient in the caller's care",
    tag="Patients",
    roles=CLINICIANS,
    responses={200: ("The patient.", PatientAnswer)},
    errors=(404,),
)
def get_patient(patient_id: int):
    """One patient, if in the caller's care (404 otherwise, even if the id exists elsewhere)."""
    patient = get_patient_for(current_user, patient_id)
    return jsonify(patient=Patient.answer(patient))
