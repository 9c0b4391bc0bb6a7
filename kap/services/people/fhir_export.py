"""A patient's record as a FHIR R4 Bundle (type ``collection``), for them and their care team.

The bundle holds the ``Patient`` (name and email, nothing else), a ``QuestionnaireResponse``
per completed questionnaire (every MeasureResponse, free-text answers decrypted), an
``Observation`` of each scored response's total, the session vitals and monitoring scales as
``Observation``s, and a ``Consent`` per signature. The resources are plain dicts (built in
``fhir_resources``); the whole bundle is validated with ``fhir.resources`` (its R4B models,
which equal R4 for these resources) before it leaves, so a mapping bug fails loudly instead of
shipping invalid FHIR.

Who may export: the patient their own record, and a therapist of the patient's care team. A
clinic admin may not (404, like anyone else): the export is the clinical record for care and
for the patient's portability, and an admin's work (people, protocol, deletion) needs neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select

from kap.extensions import db
from kap.models import MeasureResponse, SessionObservation, TreatmentSession, User
from kap.services import audit
from kap.services.errors import NotFound
from kap.services.measures.library import instrument_for
from kap.services.measures.scoring import Instrument
from kap.services.people.access import get_patient_for
from kap.services.people.fhir_resources import (
    Resource,
    consent_resource,
    patient_resource,
    questionnaire_response,
    total_observation,
    vitals_observations,
)
from kap.services.screening.consent import current_document, signatures_on_file
from kap.services.unit_of_work import audited_read


def bundle_of(resources: Iterable[Resource]) -> Resource:
    """A ``collection`` Bundle of ``resources``, each under its ``urn:uuid:`` fullUrl."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


class InvalidFhir(RuntimeError):
    """The export built a resource FHIR R4 does not allow (a bug: nothing is sent)."""


def validate_bundle(bundle: Resource) -> None:
    """Validate ``bundle`` and every resource in it with fhir.resources (R4B models).

    Raises InvalidFhir naming where and what is wrong, never the values: they are patient
    data, and the error reaches the log (docs/architecture.md, SECURITY.md).
    """
    from fhir.resources.R4B.bundle import Bundle  # heavy: only when exporting
    from pydantic import ValidationError

    try:
        Bundle.model_validate(bundle)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in error.errors()[:10]
        )
        raise InvalidFhir(f"The FHIR export is not valid R4: {problems}") from None


def _measure_resources(patient: User) -> list[Resource]:
    responses = db.session.scalars(
        select(MeasureResponse)
        .where(
            MeasureResponse.patient_id == patient.id,
            MeasureResponse.clinic_id == patient.clinic_id,
        )
        .order_by(MeasureResponse.created_at, MeasureResponse.id)
    )
    instruments: dict[tuple[str, int], Instrument] = {}
    found: list[Resource] = []
    for response in responses:
        key = (response.instrument, response.instrument_version)
        if key not in instruments:
            instruments[key] = instrument_for(patient.clinic_id, *key)
        instrument = instruments[key]
        found.append(questionnaire_response(response, instrument, patient))
        if (total := total_observation(response, instrument, patient)) is not None:
            found.append(total)
    return found


def _vitals_resources(patient: User) -> list[Resource]:
    rows = db.session.scalars(
        select(SessionObservation)
        .join(TreatmentSession, TreatmentSession.id == SessionObservation.session_id)
        .where(
            TreatmentSession.patient_id == patient.id,
            SessionObservation.clinic_id == patient.clinic_id,
        )
        .order_by(SessionObservation.recorded_at, SessionObservation.id)
    )
    return [resource for row in rows for resource in vitals_observations(row, patient)]


def _consent_resources(patient: User) -> list[Resource]:
    """Each signed consent, oldest first; only a signature on the current version is active."""
    current = current_document(patient)
    signatures = sorted(signatures_on_file(patient.id), key=lambda s: (s.signed_at, s.id))
    return [
        consent_resource(s, patient, current=current is not None and s.document_id == current.id)
        for s in signatures
    ]


@audited_read
def patient_bundle(viewer: User, patient_id: int) -> Resource:
    """The patient's record as a validated FHIR R4 Bundle, audited as ``fhir.export``.

    The patient may export their own, a therapist a patient of their care team; anyone else
    (a clinic admin included, see the module docstring) gets NotFound.
    """
    if viewer.is_clinic_admin:
        raise NotFound("No such patient.")
    patient = get_patient_for(viewer, patient_id)
    bundle = bundle_of(
        [
            patient_resource(patient),
            *_measure_resources(patient),
            *_vitals_resources(patient),
            *_consent_resources(patient),
        ]
    )
    validate_bundle(bundle)
    audit.record(  # ids only: nothing of the record goes into the audit log
        "fhir.export",
        actor=viewer,
        subject_type="user",
        subject_id=patient.id,
        patient_id=patient.id,
    )
    return bundle
