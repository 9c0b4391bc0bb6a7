"""The FHIR R4 export: the demo patient's whole record validates, carries the LOINC codes an
EHR reads, and reaches only the patient and their care team (audited, ids only)."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from kap.extensions import db
from kap.models import AuditEvent, MeasureResponse
from kap.models.consent import ConsentSignature
from kap.services.errors import NotFound
from kap.services.measures.scoring import BUILT_IN
from kap.services.people.fhir_export import patient_bundle
from tests.helpers import user_by_email

LOINC = "http://loinc.org"
PHQ9_ITEM_CODES = {
    "44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
    "44258-2", "44252-5", "44253-3", "44260-8",
}  # fmt: skip


def _codes(concept: dict) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@pytest.fixture
def bundle(api_as, people) -> dict:
    """The demo patient's own export through the API."""
    response = api_as("patient@demo.test").get("/api/v1/me/fhir")
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    return json.loads(response.data)


def test_every_resource_and_the_bundle_validate_as_fhir_r4(bundle):
    """Each entry validates with the fhir.resources R4B model of its resourceType, and the
    whole Bundle (a collection, each entry under its urn:uuid: fullUrl) does too."""
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "QuestionnaireResponse", "Observation"} <= kinds
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
    Bundle.model_validate(bundle)
    ids = [e["fullUrl"] for e in bundle["entry"]]
    assert len(ids) == len(set(ids))


def test_references_resolve_inside_the_bundle(bundle):
    """Every subject, patient and derivedFrom reference names an entry of the same bundle."""
    urls = {e["fullUrl"] for e in bundle["entry"]}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        refs = [resource.get("subject"), resource.get("patient"), *resource.get("derivedFrom", [])]
        for ref in filter(None, refs):
            assert ref["reference"] in urls


def test_patient_is_name_and_email_only(bundle):
    """The Patient resource holds the name and email, nothing else of the account."""
    (patient,) = _resources(bundle, "Patient")
    assert set(patient) == {"resourceType", "id", "name", "telecom"}
    assert patient["telecom"] == [{"system": "email", "value": "patient@demo.test"}]


def test_phq9_response_carries_loinc_44249_1_and_item_and_answer_codes(app, bundle, patient):
    """A PHQ-9 QuestionnaireResponse points at LOINC 44249-1, names each item's LOINC code,
    and answers with LOINC answer codes (LA…) that carry the option's points."""
    with app.app_context():
        stored = db.session.scalars(
            select(MeasureResponse).where(
                MeasureResponse.patient_id == patient.id, MeasureResponse.instrument == "phq9"
            )
        ).all()
    assert stored
    responses = [
        r for r in _resources(bundle, "QuestionnaireResponse")
        if r["questionnaire"] == "http://loinc.org/q/44249-1"
    ]  # fmt: skip
    assert len(responses) == len(stored)
    first = next(r for r in responses if r["identifier"]["value"] == str(stored[0].id))
    assert first["status"] == "completed"
    item_codes = {
        item["extension"][0]["valueCoding"]["code"]
        for item in first["item"]
        if item["linkId"] != "/69722-7"  # the unscored difficulty question
    }
    assert item_codes == PHQ9_ITEM_CODES
    scored = [item for item in first["item"] if item["linkId"] != "/69722-7"]
    in_order = [f"/{item.loinc}" for item in BUILT_IN["phq9"].scored_items]
    assert [item["linkId"] for item in scored] == in_order
    for item, points in zip(scored, stored[0].answers, strict=False):
        coding = item["answer"][0]["valueCoding"]
        assert coding["system"] == LOINC and coding["code"].startswith("LA")
        assert coding["extension"][0]["valueDecimal"] == points


def test_total_observations_carry_the_loinc_total_and_the_stored_score(app, bundle, patient):
    """PHQ-9 totals are Observation 44261-6, GAD-7 totals 70274-6, each with the stored score,
    a severity, and derivedFrom its QuestionnaireResponse."""
    with app.app_context():
        stored = {
            m.id: m
            for m in db.session.scalars(
                select(MeasureResponse).where(MeasureResponse.patient_id == patient.id)
            )
        }
    by_id = {r["id"]: r for r in _resources(bundle, "QuestionnaireResponse")}
    totals = [
        o
        for o in _resources(bundle, "Observation")
        if o["category"][0]["coding"][0]["code"] == "survey"
    ]
    seen = set()
    for total in totals:
        (derived,) = total["derivedFrom"]
        response = by_id[derived["reference"].removeprefix("urn:uuid:")]
        row = stored[int(response["identifier"]["value"])]
        assert total["valueInteger"] == row.score
        assert total["status"] == "final" and total["interpretation"][0]["text"]
        expected = {"phq9": "44261-6", "gad7": "70274-6"}.get(row.instrument)
        if expected:
            assert (LOINC, expected) in _codes(total["code"])
        seen.add(row.instrument)
    assert {"phq9", "gad7"} <= seen
    assert len(totals) == sum(1 for m in stored.values() if m.score is not None)


def test_vitals_are_vital_sign_observations_with_loinc_codes(bundle):
    """The esketamine session's monitoring record: the blood pressure panel 85354-9 with
    systolic 8480-6 and diastolic 8462-4 in mm[Hg], heart rate 8867-4, SpO2 59408-5, and the
    sedation and dissociation scales under our own code system."""
    observations = _resources(bundle, "Observation")
    vitals = [o for o in observations if o["category"][0]["coding"][0]["code"] == "vital-signs"]
    codes = {code for o in vitals for _, code in _codes(o["code"])}
    assert {"85354-9", "8867-4", "59408-5"} <= codes
    panel = next(o for o in vitals if (LOINC, "85354-9") in _codes(o["code"]))
    parts = {code for c in panel["component"] for _, code in _codes(c["code"])}
    assert parts == {"8480-6", "8462-4"}
    assert {c["valueQuantity"]["code"] for c in panel["component"]} == {"mm[Hg]"}
    scales = {
        code
        for o in observations
        for system, code in _codes(o["code"])
        if system == "urn:kap:observation"
    }
    assert {"moaas", "dissociation"} <= scales


def test_export_is_audited_with_ids_only(app, api_as, people, patient):
    """Each export writes one fhir.export row naming the patient, with no record content."""
    therapist = api_as("therapist@demo.test")
    assert therapist.get(f"/api/v1/patients/{patient.id}/fhir").status_code == 200
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "fhir.export")
        ).one()
        assert event.actor_id == people["therapist@demo.test"].id
        assert (event.subject_type, event.subject_id) == ("user", patient.id)
        assert event.patient_id == patient.id and event.detail == ""


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("therapist@demo.test", 200),
        ("therapist2@demo.test", 404),  # same clinic, not in the care team
        ("therapist@other.test", 404),
        ("admin@demo.test", 403),  # the clinic admin: not the care team (see the service)
        ("patient@demo.test", 403),
    ],
)
def test_only_the_care_team_exports_a_patient(api_as, people, patient, email, status):
    """GET /patients/{id}/fhir: the care team's therapist only; 404 for other therapists."""
    response = api_as(email).get(f"/api/v1/patients/{patient.id}/fhir")
    assert response.status_code == status
    if status != 200:
        assert "Pat Jordan" not in response.text and "patient@demo.test" not in response.text


def test_clinic_admin_is_refused_by_the_service_too(app, people, patient):
    """Were a route to let an admin through, the service still answers NotFound."""
    with app.app_context(), pytest.raises(NotFound):
        patient_bundle(user_by_email("admin@demo.test"), patient.id)


def test_signed_out_gets_401_and_signed_in_answers_are_not_stored(client, api_as, people, patient):
    """Anonymous: 401 on both routes; the patient's own answer is Cache-Control no-store."""
    assert client.get("/api/v1/me/fhir").status_code == 401
    assert client.get(f"/api/v1/patients/{patient.id}/fhir").status_code == 401
    response = api_as("patient@demo.test").get("/api/v1/me/fhir")
    assert "no-store" in response.headers["Cache-Control"]


def test_my_data_page_offers_the_fhir_download(page_as, people):
    """My data links "Download FHIR record", which downloads kap-record.fhir.json."""
    browser = page_as("patient@demo.test")
    page = browser.get("/patient/my-data").text
    assert "Download FHIR record" in page and "/patient/my-data/record.fhir.json" in page
    download = browser.get("/patient/my-data/record.fhir.json")
    assert download.status_code == 200 and download.mimetype == "application/fhir+json"
    assert download.headers["Content-Disposition"] == 'attachment; filename="kap-record.fhir.json"'
    Bundle.model_validate(json.loads(download.data))


def test_therapist_patient_page_offers_the_fhir_download(page_as, people, patient):
    """The care team's patient page links the record's FHIR download."""
    browser = page_as("therapist@demo.test")
    page = browser.get(f"/therapist/patients/{patient.id}").text
    url = f"/therapist/patients/{patient.id}/record.fhir.json"
    assert "Download FHIR record" in page and url in page
    download = browser.get(url)
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert page_as("therapist2@demo.test").get(url).status_code == 404


def test_signed_consent_is_a_consent_bound_to_the_document_hash(app, bundle, patient):
    """The demo patient's signature is an active Consent carrying the signed version's SHA-256."""
    with app.app_context():
        signatures = db.session.scalars(
            select(ConsentSignature).where(ConsentSignature.patient_id == patient.id)
        ).all()
        hashes = {s.document_sha256 for s in signatures}
    assert signatures, "the demo patient has signed the clinic's consent"
    exported = _resources(bundle, "Consent")
    assert len(exported) == len(signatures)
    assert {
        i["value"] for c in exported for i in c["identifier"] if i["system"].endswith("sha256")
    } == hashes
    assert "active" in {c["status"] for c in exported}
