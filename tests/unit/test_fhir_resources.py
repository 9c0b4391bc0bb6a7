"""FHIR resources built from plain records: consent, vitals, stable ids, and a validation error
that names the place of a mistake but never the patient's data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from kap.services.measures.scoring import BUILT_IN, parse_definition
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


# --- questionnaires on the engine ---------------------------------------------------------

PHQ9_ITEM_CODES = [
    "44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
    "44258-2", "44252-5", "44253-3", "44260-8",
]  # fmt: skip
CLINIC_FORM = {
    "code": "sleep",
    "version": 3,
    "kind": "measure",
    "name": "Sleep",
    "title": "Sleep check",
    "question": "About last night",
    "source": "Demo Clinic's own",
    "items": [
        {"id": "hours", "text": "Hours slept", "kind": "number", "min": 0, "max": 24},
        {
            "id": "quality",
            "text": "How well did you sleep?",
            "required": False,
            "options": [{"value": 0, "label": "Badly"}, {"value": 1, "label": "Well"}],
        },
        {"id": "notes", "text": "Anything else?", "kind": "text", "required": False},
    ],
}
SCORED_FORM = {
    "code": "worries",
    "version": 1,
    "kind": "measure",
    "name": "Worries",
    "title": "Two worries",
    "question": "This week",
    "source": "Demo Clinic's own",
    "options": [{"value": 0, "label": "No"}, {"value": 1, "label": "Yes"}],
    "scoring": {"max": 2, "bands": [[0, 0, "none", "None"], [1, 2, "some", "Some"]]},
    "items": [{"id": "a", "text": "Worried?"}, {"id": "b", "text": "Slept badly?"}],
}


def _response(answers, text_answers=None, score=None):
    return SimpleNamespace(
        id=21,
        created_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        answers=answers,
        text_answers=text_answers,
        score=score,
    )


def test_phq9_response_points_at_loinc_and_codes_every_item_and_answer():
    """PHQ-9: questionnaire http://loinc.org/q/44249-1 with LOINC's linkIds ("/44250-9"), each
    item names its LOINC code, each answer is a LOINC answer code with its points."""
    phq9 = BUILT_IN["phq9"]
    answers = [0, 1, 2, 3, 0, 1, 2, 3, 1, 2]
    resource = fhir.questionnaire_response(_response(answers, score=13), phq9, PATIENT)
    QuestionnaireResponse.model_validate(resource)
    assert resource["questionnaire"] == "http://loinc.org/q/44249-1"
    assert resource["status"] == "completed"
    assert [i["linkId"] for i in resource["item"]] == [
        f"/{code}" for code in [*PHQ9_ITEM_CODES, "69722-7"]
    ]
    codes = [i["extension"][0]["valueCoding"]["code"] for i in resource["item"][:9]]
    assert codes == PHQ9_ITEM_CODES
    for item, points in zip(resource["item"][:9], answers, strict=False):
        coding = item["answer"][0]["valueCoding"]
        assert coding["system"] == LOINC and coding["code"].startswith("LA")
        assert coding["extension"][0]["valueDecimal"] == points
    assert resource["item"][0]["answer"][0]["valueCoding"]["code"] == "LA6568-5"  # Not at all
    difficulty = resource["item"][9]
    assert difficulty["extension"][0]["valueCoding"]["code"] == "69722-7"
    assert difficulty["answer"][0]["valueCoding"]["display"] == "Very difficult"


def test_phq9_total_is_loinc_44261_6_with_its_severity():
    """The total Observation: 44261-6, survey, the score, the band's label, derivedFrom."""
    phq9 = BUILT_IN["phq9"]
    total = fhir.total_observation(_response([1] * 9 + [0], score=9), phq9, PATIENT)
    Observation.model_validate(total)
    assert _codes(total["code"]) == {(LOINC, "44261-6")}
    assert total["valueInteger"] == 9
    assert total["interpretation"] == [{"text": "Mild"}]
    assert total["derivedFrom"] == [{"reference": fhir.full_url("measure_response", 21)}]


def test_a_historic_phq9_without_the_difficulty_answer_has_nine_items():
    """Responses from before the 10th item existed export their nine answers."""
    resource = fhir.questionnaire_response(_response([0] * 9, score=0), BUILT_IN["phq9"], PATIENT)
    assert len(resource["item"]) == 9


def test_clinic_questionnaire_numbers_texts_and_skipped_answers():
    """A clinic's own questionnaire: our versioned canonical, a number as valueInteger, text
    as valueString, a choice without a LOINC code under our system, skipped items left out;
    unscored, so no total Observation."""
    form = parse_definition(CLINIC_FORM, clinic_id=1)
    response = _response([7, None, None], json.dumps({"notes": "Woke at four"}))
    resource = fhir.questionnaire_response(response, form, PATIENT)
    QuestionnaireResponse.model_validate(resource)
    assert resource["questionnaire"] == "urn:kap:questionnaire:sleep|3"
    answers = {i["linkId"]: i["answer"][0] for i in resource["item"]}
    assert answers == {"hours": {"valueInteger": 7}, "notes": {"valueString": "Woke at four"}}
    assert fhir.total_observation(response, form, PATIENT) is None
    chosen = fhir.questionnaire_response(_response([7, 1, None]), form, PATIENT)
    coding = chosen["item"][1]["answer"][0]["valueCoding"]
    assert (coding["system"], coding["code"], coding["display"]) == (fhir.KAP_ANSWER, "1", "Well")


def test_a_total_without_a_loinc_code_uses_our_instrument_system():
    """A scored instrument with no LOINC total is coded urn:kap:instrument + its code."""
    form = parse_definition(SCORED_FORM, clinic_id=1)
    total = fhir.total_observation(_response([1, 1], score=2), form, PATIENT)
    Observation.model_validate(total)
    assert _codes(total["code"]) == {(fhir.KAP_INSTRUMENT, "worries")}
    assert total["interpretation"] == [{"text": "Some"}]
