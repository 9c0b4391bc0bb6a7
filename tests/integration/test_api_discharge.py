"""POST /api/v1/sessions/{id}/discharge and .../discharge/reopen (DESIGN §4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kap.extensions import db
from kap.models import AuditEvent, SessionDischarge, SessionObservation, SessionStatus
from kap.models import TreatmentSession as Session
from tests.integration.test_openapi import Contract

DISCHARGE = "/api/v1/sessions/{session_id}/discharge"
REOPEN = "/api/v1/sessions/{session_id}/discharge/reopen"
DRIVER = "Alex Jordan (partner)"
REASON = "Seen by Dr. Rivera: her usual BP; GP informed."


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def contract(client):
    return Contract(client.get("/api/v1/openapi.json").json)


def _dosed_with_final(app, session_id: int, **vitals) -> None:
    """Dosed 10 minutes ago (observation over), final check a minute ago."""
    with app.app_context():
        session = db.session.get(Session, session_id)
        session.status = SessionStatus.DOWNTIME
        session.session_started_at = _now() - timedelta(minutes=10)
        db.session.add(
            SessionObservation(
                session_id=session.id,
                clinic_id=session.clinic_id,
                kind="final",
                recorded_at=_now() - timedelta(minutes=1),
                **vitals,
            )
        )
        db.session.commit()


def _discharged_at(app, session_id: int):
    with app.app_context():
        return db.session.get(Session, session_id).discharged_at


def test_clinician_gets_409_naming_every_blocker(api_as, app, people, session_id, contract):
    """Not started, no driver: observation, final_vitals and driver in error.fields."""
    therapist = api_as("therapist2@demo.test")
    response = contract.call(therapist, "POST", DISCHARGE, json={}, session_id=session_id)
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "discharge_blocked"
    assert set(error["fields"]) == {"observation", "final_vitals", "driver"}
    assert error["message"].startswith("Not discharged yet:")
    assert _discharged_at(app, session_id) is None


def test_out_of_range_final_vitals_need_an_override_reason(
    api_as, app, people, session_id, contract
):
    """182/108, HR 125, SpO2 90 with a driver: 409 on override_reason, listing the values."""
    _dosed_with_final(app, session_id, systolic=182, diastolic=108, heart_rate=125, spo2=90)
    admin = api_as("admin@demo.test")
    response = contract.call(
        admin, "POST", DISCHARGE, json={"driver": DRIVER}, session_id=session_id
    )
    assert response.status_code == 409
    assert response.json["error"]["fields"] == {
        "override_reason": [
            "Final vitals are outside the clinic's limits: BP 182/108 (high), heart rate 125 "
            "(high), SpO2 90% (low). Record new vitals, or write why the patient may leave anyway."
        ]
    }


def test_clinician_discharges_with_an_override(api_as, app, people, session_id, contract):
    """200 with the session summary plus discharged_at/by, driver and override_reason."""
    _dosed_with_final(app, session_id, systolic=182, diastolic=108, heart_rate=125, spo2=90)
    therapist = api_as("therapist2@demo.test")
    body = {"driver": DRIVER, "override_reason": REASON}
    response = contract.call(therapist, "POST", DISCHARGE, json=body, session_id=session_id)
    assert response.status_code == 200
    session = response.json["session"]
    assert session["id"] == session_id and session["template_name"] == "Walkthrough (3 minutes)"
    assert session["discharged_at"].endswith("Z")
    assert session["discharged_by"] == {
        "id": people["therapist2@demo.test"].id,
        "name": "Dr. Sam Okafor",
    }
    assert (session["driver"], session["override_reason"]) == (DRIVER, REASON)
    assert session["out_of_range"] == [
        "systolic_high",
        "diastolic_high",
        "heart_rate_high",
        "spo2_low",
    ]
    assert _discharged_at(app, session_id) is not None


def test_a_clear_discharge_has_a_null_override(api_as, app, people, session_id, contract):
    """Within limits: override_reason is null, out_of_range empty."""
    _dosed_with_final(app, session_id, systolic=120, diastolic=80, heart_rate=70)
    admin = api_as("admin@demo.test")
    response = contract.call(
        admin, "POST", DISCHARGE, json={"driver": DRIVER}, session_id=session_id
    )
    assert response.status_code == 200
    session = response.json["session"]
    assert (session["override_reason"], session["out_of_range"]) == (None, [])


def test_patient_gets_403(api_as, app, people, session_id, contract):
    """The patient cannot discharge themselves, even with everything in place."""
    _dosed_with_final(app, session_id, systolic=120, diastolic=80, heart_rate=70)
    patient = api_as("patient@demo.test")
    response = contract.call(
        patient, "POST", DISCHARGE, json={"driver": DRIVER}, session_id=session_id
    )
    assert response.status_code == 403
    assert _discharged_at(app, session_id) is None


@pytest.mark.parametrize("path", [DISCHARGE, REOPEN])
def test_another_clinic_gets_404(api_as, app, people, session_id, contract, path):
    """Another clinic's clinicians: 404, as for a session that does not exist."""
    _dosed_with_final(app, session_id, systolic=120, diastolic=80, heart_rate=70)
    other = api_as("therapist@other.test")
    body = {"driver": DRIVER, "reason": "Reopen it."}
    response = contract.call(other, "POST", path, json=body, session_id=session_id)
    assert response.status_code == 404
    assert _discharged_at(app, session_id) is None


@pytest.mark.parametrize("body", [{"driver": 7}, {"driver": DRIVER, "override_reason": ["x"]}])
def test_fields_that_are_not_text_are_400(api_as, people, session_id, contract, body):
    """A number or a list where text belongs: 400 naming the field."""
    therapist = api_as("therapist@demo.test")
    response = contract.call(therapist, "POST", DISCHARGE, json=body, session_id=session_id)
    assert response.status_code == 400
    assert response.json["error"]["fields"]


def test_a_cancelled_session_is_a_plain_409(api_as, app, people, session_id, contract):
    """Cancelled: code conflict with a message, no blocker fields."""
    with app.app_context():
        db.session.get(Session, session_id).status = SessionStatus.CANCELLED
        db.session.commit()
    therapist = api_as("therapist@demo.test")
    response = contract.call(
        therapist, "POST", DISCHARGE, json={"driver": DRIVER}, session_id=session_id
    )
    assert response.status_code == 409
    assert response.json["error"] == {"code": "conflict", "message": "This session was cancelled."}


def test_reopen_within_the_window_then_not_after(api_as, app, people, session_id, contract):
    """Reopen answers 200 with discharged_at null; once past 60 minutes, 409 saying why."""
    _dosed_with_final(app, session_id, systolic=120, diastolic=80, heart_rate=70)
    therapist = api_as("therapist@demo.test")
    contract.call(therapist, "POST", DISCHARGE, json={"driver": DRIVER}, session_id=session_id)
    missing = contract.call(therapist, "POST", REOPEN, json={}, session_id=session_id)
    assert missing.status_code == 400 and list(missing.json["error"]["fields"]) == ["reason"]
    response = contract.call(
        therapist, "POST", REOPEN, json={"reason": "Felt faint at the door."}, session_id=session_id
    )
    assert response.status_code == 200
    session = response.json["session"]
    assert (session["discharged_at"], session["discharged_by"], session["driver"]) == (
        None,
        None,
        None,
    )
    again = contract.call(therapist, "POST", REOPEN, json={"reason": "x"}, session_id=session_id)
    assert again.status_code == 409  # not discharged now

    stale = contract.call(
        therapist, "POST", DISCHARGE, json={"driver": DRIVER}, session_id=session_id
    )
    assert stale.status_code == 409  # the final check before the reopening no longer counts
    assert list(stale.json["error"]["fields"]) == ["final_vitals"]
    assert "new final check after reopening" in stale.json["error"]["fields"]["final_vitals"][0]
    with app.app_context():
        db.session.add(
            SessionObservation(
                session_id=session_id,
                clinic_id=db.session.get(Session, session_id).clinic_id,
                kind="final",
                recorded_at=_now(),
                systolic=120,
                diastolic=80,
                heart_rate=70,
            )
        )
        db.session.commit()
    again = contract.call(
        therapist, "POST", DISCHARGE, json={"driver": DRIVER}, session_id=session_id
    )
    assert again.status_code == 200
    with app.app_context():
        session = db.session.get(Session, session_id)
        session.discharged_at -= timedelta(minutes=61)
        db.session.commit()
    late = contract.call(
        therapist, "POST", REOPEN, json={"reason": "Forgot something."}, session_id=session_id
    )
    assert late.status_code == 409
    assert late.json["error"]["message"] == (
        "Discharged more than 60 minutes ago; record a clinical note instead."
    )
    with app.app_context():
        records = db.session.scalars(
            select(SessionDischarge)
            .where(SessionDischarge.session_id == session_id)
            .order_by(SessionDischarge.id)  # PostgreSQL returns an updated row last otherwise
        ).all()
        assert [r.reopened_at is not None for r in records] == [True, False]
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id == session_id)
        ).all()
        assert actions.count("session.discharge") == 2
        assert actions.count("session.discharge.reopen") == 1
