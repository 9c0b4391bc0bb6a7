"""The patient's record as a FHIR R4 Bundle: their own, or a care-team patient's."""

import json

from flask import Response
from flask_login import current_user

from kap.api.operations import operation
from kap.models import Role
from kap.services.people.fhir_export import patient_bundle

FHIR_JSON = "application/fhir+json"
#: The answer's outline; fhir.resources validates the whole bundle before it is sent.
FHIR_BUNDLE = {
    "type": "object",
    "description": "A FHIR R4 Bundle of type collection (http://hl7.org/fhir/R4/bundle.html).",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"const": "Bundle"},
        "type": {"const": "collection"},
        "timestamp": {"type": "string"},
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["fullUrl", "resource"],
                "properties": {
                    "fullUrl": {"type": "string", "pattern": "^urn:uuid:"},
                    "resource": {
                        "type": "object",
                        "required": ["resourceType", "id"],
                        "properties": {
                            "resourceType": {
                                "enum": [
                                    "Patient",
                                    "QuestionnaireResponse",
                                    "Observation",
                                    "Consent",
                                ]
                            },
                            "id": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}
CONTENTS = (
    "A FHIR R4 Bundle (type collection): the Patient; a QuestionnaireResponse per completed "
    "questionnaire (PHQ-9 with LOINC 44249-1); an Observation of each scored total (PHQ-9 "
    "44261-6, GAD-7 70274-6); session vitals and monitoring checks as Observations; a Consent "
    "per signed consent document. Validated against FHIR R4 before it is sent."
)


def _fhir(bundle: dict) -> Response:
    return Response(json.dumps(bundle, ensure_ascii=False), mimetype=FHIR_JSON)


@operation(
    "/me/fhir",
    summary="The patient's own record as a FHIR R4 Bundle",
    tag="Patients",
    roles=(Role.PATIENT,),
    description=CONTENTS,
    responses={200: ("The record.", FHIR_BUNDLE)},
    media_type=FHIR_JSON,
)
def my_fhir():
    """The signed-in patient's record (audited as fhir.export)."""
    return _fhir(patient_bundle(current_user, current_user.id))


@operation(
    "/patients/<int:patient_id>/fhir",
    summary="A care-team patient's record as a FHIR R4 Bundle",
    tag="Patients",
    roles=(Role.THERAPIST,),
    description=CONTENTS + " Therapists of the patient's care team only (404 otherwise).",
    responses={200: ("The record.", FHIR_BUNDLE)},
    errors=(404,),
    media_type=FHIR_JSON,
)
def patient_fhir(patient_id: int):
    """A patient of the therapist's care team (audited as fhir.export); 404 otherwise."""
    return _fhir(patient_bundle(current_user, patient_id))
