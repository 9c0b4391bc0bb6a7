"""GET /api/v1/sessions and /api/v1/sessions/{id}: shapes of DESIGN §4 and scoping per role."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kap.extensions import db
from kap.models import TreatmentSession


def _session_ids(app, patient_email, people):
    with app.app_context():
        return db.session.scalars(
            select(TreatmentSession.id).where(
                TreatmentSession.patient_id == people[patient_email].id
            )
        ).all()


@pytest.mark.parametrize(
    ("caller", "visible"),
    [
        ("patient@demo.test", {"patient@demo.test"}),
        ("therapist@demo.test", {"patient@demo.test"}),
        ("therapist2@demo.test", {"patient2@demo.test"}),
        ("admin@demo.test", {"patient@demo.test", "patient2@demo.test"}),
        ("admin@other.test", {"patient@other.test"}),
    ],
)
def test_sessions_list_is_scoped_to_the_caller(api_as, people, caller, visible):
    """Each role sees exactly the sessions of the patients in its reach."""
    body = api_as(caller).get("/api/v1/sessions").json
    patient_ids = {s["patient_id"] for s in body["sessions"]}
    assert patient_ids == {people[email].id for email in visible}


def test_session_list_items_have_the_documented_fields(api_as, people):
    """Each item has id, patient_id, scheduled_at (ISO 8601 UTC), status and template_name."""
    sessions = api_as("patient@demo.test").get("/api/v1/sessions").json["sessions"]
    assert sessions
    for item in sessions:
        assert {"id", "patient_id", "scheduled_at", "status", "template_name"} <= item.keys()
        assert item["scheduled_at"].endswith("Z")
    assert "Walkthrough (3 minutes)" in {s["template_name"] for s in sessions}


def test_session_detail_has_everything_session_mode_needs(api_as, people):
    """Detail adds checklist, intention, playlist, cues, downtime and integration prompts."""
    api = api_as("patient@demo.test")
    walkthrough = next(
        s
        for s in api.get("/api/v1/sessions").json["sessions"]
        if s["template_name"] == "Walkthrough (3 minutes)"
    )
    body = api.get(f"/api/v1/sessions/{walkthrough['id']}").json
    assert body["session"] == {k: v for k, v in body.items() if k != "session"}
    assert body["status"] == "scheduled"
    assert body["downtime_minutes"] == 1
    assert [c["required"] for c in body["checklist"]].count(True) >= 2
    assert all(c["checked"] is False for c in body["checklist"])
    assert {"id", "text", "required", "checked"} <= body["checklist"][0].keys()
    assert len(body["playlist"]) == 2
    assert {"id", "title", "duration_seconds"} <= body["playlist"][0].keys()
    assert body["playlist"][0]["kind"] == "soundscape"
    assert body["cues"][0]["at_seconds"] <= 10
    assert {"at_seconds", "text"} <= body["cues"][0].keys()
    assert body["integration_prompts"]
    assert body["intention"] == ""
    # The whole walkthrough is about three minutes.
    assert 150 <= body["playlist_seconds"] + body["downtime_minutes"] * 60 <= 200


@pytest.mark.parametrize(
    ("caller", "owner"),
    [
        ("patient2@demo.test", "patient@demo.test"),
        ("therapist2@demo.test", "patient@demo.test"),
        ("admin@other.test", "patient@demo.test"),
        ("therapist@other.test", "patient@demo.test"),
        ("patient@demo.test", "patient@other.test"),
    ],
)
def test_session_out_of_reach_is_404_like_a_missing_one(api_as, app, people, caller, owner):
    """Another patient's or another clinic's session answers exactly as a missing id."""
    api = api_as(caller)
    session_id = _session_ids(app, owner, people)[0]
    hidden = api.get(f"/api/v1/sessions/{session_id}")
    missing = api.get("/api/v1/sessions/987654")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json == missing.json


def test_sessions_can_be_filtered_and_paged(api_as, people):
    """patient_id, status, limit and offset narrow the list; next_offset says if more exist."""
    api = api_as("admin@demo.test")
    patient_id = people["patient@demo.test"].id
    everything = api.get(f"/api/v1/sessions?patient_id={patient_id}").json["sessions"]
    first = api.get(f"/api/v1/sessions?patient_id={patient_id}&limit=2").json
    assert [s["id"] for s in first["sessions"]] == [s["id"] for s in everything[:2]]
    assert first["next_offset"] == 2
    complete = api.get("/api/v1/sessions?status=complete").json["sessions"]
    assert complete and {s["status"] for s in complete} == {"complete"}


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=abc", "offset=-1", "status=lost", "patient_id=x"]
)
def test_bad_filters_are_400_in_the_error_format(api_as, people, query):
    """Bad query values answer 400 with the field named."""
    response = api_as("admin@demo.test").get(f"/api/v1/sessions?{query}")
    assert response.status_code == 400
    assert response.json["error"]["fields"]


def test_sessions_require_sign_in(client):
    """Signed out, the sessions API answers a JSON 401."""
    assert client.get("/api/v1/sessions").status_code == 401
    assert client.get("/api/v1/sessions/1").status_code == 401


def test_intention_is_for_the_care_team_not_the_clinic_admin(api_as, app, people):
    """The patient and the care team read the intention; the clinic admin gets it empty."""
    with app.app_context():
        sessions = db.session.scalars(
            select(TreatmentSession).where(
                TreatmentSession.patient_id == people["patient@demo.test"].id
            )
        )
        session = next(s for s in sessions if s.intention)  # the past sessions have one
        session_id, intention = session.id, session.intention
    for email, shown in [
        ("patient@demo.test", intention),
        ("therapist@demo.test", intention),
        ("admin@demo.test", ""),
    ]:
        body = api_as(email).get(f"/api/v1/sessions/{session_id}").json
        assert (body["intention"], body["session"]["intention"]) == (shown, shown), email
