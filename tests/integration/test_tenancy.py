"""Tenancy: nobody sees, or learns of, another clinic's records."""

import pytest

from tests.helpers import Auth


def _ids(response):
    return {p["id"] for p in response.json["patients"]}


def test_admin_lists_only_their_clinics_patients(client, auth, people):
    """A clinic admin's patient list holds their clinic's patients and nobody else."""
    auth.api_login("admin@demo.test")
    assert _ids(client.get("/api/v1/patients")) == {
        people["patient@demo.test"].id,
        people["patient2@demo.test"].id,
    }


def test_therapist_lists_only_their_care_list(client, auth, people):
    """A therapist's list holds only the patients in their care."""
    auth.api_login("therapist@demo.test")
    assert _ids(client.get("/api/v1/patients")) == {people["patient@demo.test"].id}


@pytest.mark.parametrize(
    ("caller", "patient_email"),
    [
        ("admin@other.test", "patient@demo.test"),
        ("therapist@other.test", "patient@demo.test"),
        ("admin@demo.test", "patient@other.test"),
        ("therapist@demo.test", "patient2@demo.test"),
    ],
)
def test_patient_outside_reach_reads_as_absent(app, people, caller, patient_email):
    """Another clinic's patient (or a colleague's) answers 404, exactly like a missing id."""
    client = app.test_client()
    Auth(client).api_login(caller)
    hidden = client.get(f"/api/v1/patients/{people[patient_email].id}")
    missing = client.get("/api/v1/patients/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json == missing.json


def test_patient_role_cannot_list_patients(client, auth, people):
    """A patient asking for the patient list is told their role cannot (403)."""
    auth.api_login("patient@demo.test")
    response = client.get("/api/v1/patients")
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
