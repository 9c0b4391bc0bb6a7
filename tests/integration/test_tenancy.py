"""Tenancy: nobody sees, or learns of, another clinic's records."""

import pytest


def _ids(response):
    return {p["id"] for p in response.json["patients"]}


def test_admin_lists_only_their_clinics_patients(api_as, people):
    """A clinic admin's patient list holds their clinic's patients and nobody else."""
    assert _ids(api_as("admin@demo.test").get("/api/v1/patients")) == {
        people["patient@demo.test"].id,
        people["patient2@demo.test"].id,
    }


def test_therapist_lists_only_their_care_list(api_as, people):
    """A therapist's list holds only the patients in their care."""
    therapist = api_as("therapist@demo.test")
    assert _ids(therapist.get("/api/v1/patients")) == {people["patient@demo.test"].id}


@pytest.mark.parametrize(
    ("caller", "patient_email"),
    [
        ("admin@other.test", "patient@demo.test"),
        ("therapist@other.test", "patient@demo.test"),
        ("admin@demo.test", "patient@other.test"),
        ("therapist@demo.test", "patient2@demo.test"),
    ],
)
def test_patient_outside_reach_reads_as_absent(api_as, people, caller, patient_email):
    """Another clinic's patient (or a colleague's) answers 404, exactly like a missing id."""
    api = api_as(caller)
    hidden = api.get(f"/api/v1/patients/{people[patient_email].id}")
    missing = api.get("/api/v1/patients/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json == missing.json


def test_patient_role_cannot_list_patients(api_as, people):
    """A patient asking for the patient list is told their role cannot (403)."""
    response = api_as("patient@demo.test").get("/api/v1/patients")
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_crisis_page_shows_the_patients_own_clinic_contacts(app, client, auth, people):
    """The Crisis support page shows the patient's clinic's contacts, defaulting to 988 and 911."""
    auth.login("patient@demo.test")
    html = client.get("/patient/crisis-support").text
    assert "988 Suicide &amp; Crisis Lifeline" in html
    assert 'href="tel:988"' in html
    assert 'href="sms:988"' in html
    assert 'href="tel:911"' in html
