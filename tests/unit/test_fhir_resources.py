"""FHIR resources built from plain records: consent, vitals, stable ids, and a validation error
that names the place of a mistake but never the patient's data."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.observation import Observation

from kap.services.people import fhir_resources as fhir
from kap.services.people.fhir_export import InvalidFhir, bundle_of, validate_bundle

LOINC = "http://loinc.org"
PATIENT = SimpleNamespace(id=7, name="Pat Jordan", email="pat@example.test")
SIGNED_AT = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


def _signature(**changes):
    document = SimpleNamespace(
        version=2, title="Consent to KAP", created_at=datetime(2026, 11, 1, 12, 0)
    )
    fields = {
        "id": 11,
        "document_id": 5,
        "document_sha256": "ab" * 32,
        "signed_at": SIGNED_AT,
        "document": document,
    }
    return SimpleNamespace(**{**fields, **changes})


def _observation(**values):
    fields = {
        "id": 3,
        "recorded_at": datetime(2026, 11, 24, 6, 18, 59),
        "systolic": None,
        "diastolic": None,
        "heart_rate": None,
        "spo2": None,
        "sedation": None,
        "dissociation": None,
        "respiratory_concern": None,
    }
    return SimpleNamespace(**{**fields, **values})


def _codes(concept: dict) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept["coding"]}


def test_consent_binds_the_document_version_and_hash():
    """A signature becomes an active treatment Consent (LOINC 59284-0) of the patient at the
    signing time, with the document's version and SHA-256 as identifiers and the document as
    its source attachment (Markdown)."""
    consent = fhir.consent_resource(_signature(), PATIENT, current=True)
    Consent.model_validate(consent)
    assert consent["status"] == "active"
    assert _codes(consent["scope"]) == {(fhir.CONSENT_SCOPE, "treatment")}
    assert _codes(consent["category"][0]) == {(LOINC, "59284-0")}
    assert consent["patient"] == {"reference": fhir.full_url("patient", 7)}
    assert consent["dateTime"] == "2026-11-30T09:15:00Z"
    assert {(i["system"], i["value"]) for i in consent["identifier"]} == {
        (fhir.KAP_CONSENT_VERSION, "2"),
        (fhir.KAP_CONSENT_SHA256, "ab" * 32),
    }
    assert consent["sourceAttachment"] == {
        "title": "Consent to KAP",
        "contentType": "text/markdown",
        "creation": "2026-11-01T12:00:00Z",
    }
    assert consent["policyRule"]["coding"][0]["code"] == "OPTIN"


def test_a_signature_on_an_older_version_is_inactive():
    """Once the clinic publishes a new version, the older signature no longer counts."""
    assert fhir.consent_resource(_signature(), PATIENT, current=False)["status"] == "inactive"


def test_blood_pressure_is_one_panel_with_both_components():
    """Systolic and diastolic travel as components of the 85354-9 panel, in mm[Hg]."""
    (panel,) = fhir.vitals_observations(_observation(systolic=128, diastolic=82), PATIENT)
    Observation.model_validate(panel)
    assert _codes(panel["code"]) == {(LOINC, "85354-9")}
    assert panel["category"][0]["coding"][0]["code"] == "vital-signs"
    values = {
        next(iter(_codes(c["code"])))[1]: c["valueQuantity"]["value"] for c in panel["component"]
    }
    assert values == {"8480-6": 128, "8462-4": 82}
    assert panel["effectiveDateTime"] == "2026-11-24T06:18:59Z"


def test_each_recorded_measurement_is_its_own_observation():
    """Heart rate, SpO2, sedation, dissociation and breathing: one valid Observation each;
    what was not recorded is left out."""
    row = _observation(
        heart_rate=74, spo2=97, sedation=4, dissociation="mild", respiratory_concern=False
    )
    found = fhir.vitals_observations(row, PATIENT)
    for resource in found:
        Observation.model_validate(resource)
    by_code = {next(iter(_codes(o["code"]))): o for o in found}
    assert by_code[(LOINC, "8867-4")]["valueQuantity"]["code"] == "/min"
    assert by_code[(LOINC, "59408-5")]["valueQuantity"] == {
        "value": 97,
        "unit": "%",
        "system": fhir.UCUM,
        "code": "%",
    }
    assert by_code[(fhir.KAP_OBSERVATION, "moaas")]["valueInteger"] == 4
    dissociation = by_code[(fhir.KAP_OBSERVATION, "dissociation")]["valueCodeableConcept"]
    assert _codes(dissociation) == {(fhir.KAP_DISSOCIATION, "mild")}
    assert by_code[(fhir.KAP_OBSERVATION, "respiratory-concern")]["valueBoolean"] is False
    assert len({o["id"] for o in found}) == 5
    assert fhir.vitals_observations(_observation(), PATIENT) == []


def test_ids_are_stable_and_differ_by_kind():
    """The same row gives the same id in every export; another kind of row another id."""
    assert fhir.resource_id("measure_response", 4) == fhir.resource_id("measure_response", 4)
    assert fhir.resource_id("measure_response", 4) != fhir.resource_id("measure_total", 4)
    assert fhir.full_url("patient", 1) == f"urn:uuid:{fhir.resource_id('patient', 1)}"


def test_an_invalid_bundle_is_refused_without_its_values():
    """validate_bundle raises InvalidFhir naming the field and the problem, never the value
    (the error reaches the log; the values are patient data)."""
    patient = fhir.patient_resource(PATIENT)
    validate_bundle(bundle_of([patient]))
    broken = {**patient, "birthDate": "Pat Jordan's secret"}
    with pytest.raises(InvalidFhir) as error:
        validate_bundle(bundle_of([broken]))
    assert "birthDate" in str(error.value)
    assert "secret" not in str(error.value)
