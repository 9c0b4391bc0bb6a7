"""Preparation, intention, the phase state machine and Call staff (services, API and pages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kap.extensions import db
from kap.models import Alert, AuditEvent, SessionStatus, TreatmentSession, User
from kap.services.errors import Conflict, Invalid, NotFound
from kap.services.sessions import flow as session_flow
from kap.services.sessions import staff_calls
from kap.services.sessions.start_window import window_for
from tests.formscrape import form_data


def _patient(email="patient@demo.test"):
    return db.session.scalar(select(User).where(User.email == email))


def _walkthrough(patient):
    return db.session.scalar(
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient.id,
            TreatmentSession.status == SessionStatus.SCHEDULED,
        )
        .order_by(TreatmentSession.scheduled_at)
    )


def _tick_required(patient, session):
    for item in session.template_version.checklist_items:
        if item.required:
            session_flow.set_item_checked(patient, session.id, item.id, True)


# --- services -----------------------------------------------------------------------------


def test_session_cannot_start_until_required_items_are_ticked(ctx, people):
    """Starting with required items unticked is a conflict that names what is missing."""
    patient = _patient()
    session = _walkthrough(patient)
    with pytest.raises(Conflict, match="No alcohol in the last 24 hours"):
        session_flow.advance_phase(patient, session.id, "session")
    _tick_required(patient, session)
    _, changed = session_flow.advance_phase(patient, session.id, "session")
    assert changed and session.status == "session" and session.session_started_at


def test_optional_items_do_not_gate_the_start(ctx, people):
    """Only required items must be ticked; optional ones may stay empty."""
    patient = _patient()
    session = _walkthrough(patient)
    _tick_required(patient, session)
    assert session_flow.missing_required(session) == []
    done, total = session_flow.preparation_progress(session)
    assert done < total


def test_phases_go_in_order_and_record_the_device_time(ctx, people):
    """session → downtime → integration → complete, each stamped with the time it happened."""
    patient = _patient()
    session = _walkthrough(patient)
    _tick_required(patient, session)
    times = {}
    # The start's device time counts only inside the start window: the booked time is. The
    # phone syncs after it all happened (a device time ahead of the server is not believed).
    synced = session.scheduled_at + timedelta(minutes=35)
    for number, phase in enumerate(["session", "downtime", "integration", "complete"]):
        times[phase] = session.scheduled_at + timedelta(minutes=number * 10)
        session_flow.advance_phase(patient, session.id, phase, times[phase], now=synced)
    assert session.status == "complete"
    assert session.session_started_at == times["session"]
    assert session.downtime_started_at == times["downtime"]
    assert session.integration_started_at == times["integration"]
    assert session.completed_at == times["complete"]


@pytest.mark.parametrize(
    ("steps", "bad"),
    [
        ([], "downtime"),
        ([], "complete"),
        (["session"], "integration"),
        (["session", "downtime"], "session"),
        (["session", "downtime", "integration", "complete"], "downtime"),
    ],
)
def test_out_of_order_phases_are_conflicts(ctx, people, steps, bad):
    """Skipping ahead or going back is refused; the session stays where it was."""
    patient = _patient()
    session = _walkthrough(patient)
    _tick_required(patient, session)
    for phase in steps:
        session_flow.advance_phase(patient, session.id, phase)
    before = session.status
    with pytest.raises(Conflict):
        session_flow.advance_phase(patient, session.id, bad)
    assert session.status == before


def test_repeating_the_current_phase_is_harmless(ctx, people):
    """A retried phase change (from an outbox) changes nothing and keeps the first time."""
    patient = _patient()
    session = _walkthrough(patient)
    _tick_required(patient, session)
    first = session.scheduled_at  # inside the start window: the device time counts
    session_flow.advance_phase(patient, session.id, "session", first)
    _, changed = session_flow.advance_phase(patient, session.id, "session", datetime.now(UTC))
    assert not changed
    assert session.session_started_at == first


def test_unknown_phase_is_invalid(ctx, people):
    """A phase name that does not exist is a 400-style error on the phase field."""
    patient = _patient()
    with pytest.raises(Invalid) as error:
        session_flow.advance_phase(patient, _walkthrough(patient).id, "party")
    assert "phase" in error.value.fields


def test_intention_is_editable_until_the_session_starts(ctx, people):
    """The intention can be rewritten while scheduled and is frozen once the session starts."""
    patient = _patient()
    session = _walkthrough(patient)
    session_flow.set_intention(patient, session.id, "  To rest.  ")
    session_flow.set_intention(patient, session.id, "To rest and listen.")
    assert session.intention == "To rest and listen."
    _tick_required(patient, session)
    session_flow.advance_phase(patient, session.id, "session")
    with pytest.raises(Conflict):
        session_flow.set_intention(patient, session.id, "Changed my mind")
    assert session.intention == "To rest and listen."


def test_another_patients_session_is_not_found(ctx, people):
    """A patient cannot tick, write or advance someone else's session."""
    other = _patient("patient2@demo.test")
    session = _walkthrough(_patient())
    with pytest.raises(NotFound):
        session_flow.set_intention(other, session.id, "Not mine")
    with pytest.raises(NotFound):
        session_flow.advance_phase(other, session.id, "session")


def test_call_staff_raises_one_alert_per_client_id(ctx, people):
    """Call staff is exactly-once per device request id."""
    patient = _patient()
    session = _walkthrough(patient)
    first, created = session_flow.call_staff(patient, session.id, "call-1")
    again, created_again = session_flow.call_staff(patient, session.id, "call-1")
    assert created and not created_again and first.id == again.id
    session_flow.call_staff(patient, session.id, "call-2")
    # Only this patient's: the demo's patient2 has an open intake review alert of their own.
    mine = select(db.func.count()).select_from(Alert).where(Alert.patient_id == patient.id)
    assert db.session.scalar(mine) == 2


# --- device clocks after the start ----------------------------------------------------------

YEAR_2030 = datetime(2030, 1, 1, 12, tzinfo=UTC)


def _started(patient, now):
    """The Walkthrough, started at ``now`` (no device time)."""
    session = _walkthrough(patient)
    _tick_required(patient, session)
    session_flow.advance_phase(patient, session.id, "session", now=now)
    return session


def _last_detail(action: str) -> str:
    return db.session.scalar(
        select(AuditEvent.detail)
        .where(AuditEvent.action == action)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


@pytest.mark.parametrize("phase", ["downtime", "complete"])
def test_phase_time_from_a_phone_set_to_2030_is_the_servers(ctx, people, phase):
    """A device clock years ahead does not stamp a phase: the server's time does, audited."""
    patient = _patient()
    now = datetime.now(UTC)
    session = _started(patient, now)
    steps = ["downtime", "integration", "complete"]
    for step in steps[: steps.index(phase)]:
        session_flow.advance_phase(patient, session.id, step, now=now)
    later = now + timedelta(minutes=20)
    session_flow.advance_phase(patient, session.id, phase, YEAR_2030, now=later)
    assert getattr(session, session_flow.PHASE_TIMESTAMPS[phase]) == later
    detail = _last_detail("session.phase")
    assert detail.startswith(f"phase={phase} device_time=ignored reason=ahead_of_server")
    assert "device_at=2030-01-01T12:00:00+00:00" in detail


def test_phase_time_before_the_start_is_the_servers(ctx, people):
    """Downtime claiming an hour before the session started is not believed."""
    patient = _patient()
    now = datetime.now(UTC)
    session = _started(patient, now)
    later = now + timedelta(minutes=30)
    session_flow.advance_phase(patient, session.id, "downtime", now - timedelta(hours=1), later)
    assert session.downtime_started_at == later > session.session_started_at
    assert "reason=before_previous_phase" in _last_detail("session.phase")


def test_phases_stay_in_order_after_a_start_from_a_fast_phone(ctx, people):
    """A start believed 4 minutes ahead of the server: a downtime just after it, sent with a
    wrong clock, is recorded at the start's time, never before it."""
    patient = _patient()
    session = _walkthrough(patient)
    _tick_required(patient, session)
    now = session.scheduled_at + timedelta(minutes=1)
    fast = now + timedelta(minutes=4)
    session_flow.advance_phase(patient, session.id, "session", fast, now=now)
    assert session.session_started_at == fast
    session_flow.advance_phase(patient, session.id, "downtime", YEAR_2030, now=now)
    assert session.downtime_started_at == fast


def test_phase_synced_late_within_the_grace_keeps_the_device_time(ctx, people):
    """An offline downtime and completion synced three hours later keep the phone's times;
    one older than the 12-hour grace does not."""
    patient = _patient()
    session = _walkthrough(patient)
    _tick_required(patient, session)
    start = session.scheduled_at
    session_flow.advance_phase(patient, session.id, "session", start, now=start)
    downtime = start + timedelta(minutes=10)
    session_flow.advance_phase(
        patient, session.id, "downtime", downtime, start + timedelta(hours=3)
    )
    assert session.downtime_started_at == downtime
    assert _last_detail("session.phase") == "phase=downtime"
    synced = start + timedelta(hours=13)
    session_flow.advance_phase(
        patient, session.id, "integration", start + timedelta(minutes=20), synced
    )
    assert session.integration_started_at == synced
    assert "reason=older_than_late_sync_grace" in _last_detail("session.phase")


def test_call_staff_from_a_phone_set_to_2030_is_not_the_newest_call_forever(ctx, people):
    """The call is stamped with the server's time (audited), so a later call is the latest."""
    patient = _patient()
    session = _walkthrough(patient)
    now = datetime.now(UTC)
    future, _ = session_flow.call_staff(patient, session.id, "fast", YEAR_2030, now=now)
    assert future.created_at == now
    assert "reason=ahead_of_server" in _last_detail("alert.call_staff")
    later, _ = session_flow.call_staff(patient, session.id, "next", now=now + timedelta(minutes=1))
    assert staff_calls.latest(staff_calls.calls_of(session)).id == later.id


def test_call_staff_before_the_start_window_is_the_servers_time(ctx, people):
    """A call claiming the day before the session's window opened is not believed."""
    patient = _patient()
    session = _walkthrough(patient)
    now = datetime.now(UTC)
    opens = window_for(session).opens_at
    alert, _ = session_flow.call_staff(
        patient, session.id, "slow", opens - timedelta(minutes=1), now=now
    )
    assert alert.created_at == now
    assert "reason=before_start_window" in _last_detail("alert.call_staff")


def test_call_staff_synced_late_within_the_grace_keeps_the_device_time(ctx, people):
    """A call made offline in session mode and synced two hours later keeps the phone's time."""
    patient = _patient()
    session = _walkthrough(patient)
    made = session.scheduled_at + timedelta(minutes=15)
    alert, _ = session_flow.call_staff(
        patient, session.id, "offline", made, now=made + timedelta(hours=2)
    )
    assert alert.created_at == made
    assert _last_detail("alert.call_staff") == ""


# --- API ----------------------------------------------------------------------------------


def _session_payload(app, people):
    with app.app_context():
        session = _walkthrough(_patient())
        items = [(i.id, i.required) for i in session.template_version.checklist_items]
        return session.id, items


def _walkthrough_booked_at(app) -> str:
    """The Walkthrough's booked time as the API writes it (inside its own start window)."""
    with app.app_context():
        return _walkthrough(_patient()).scheduled_at.isoformat().replace("+00:00", "Z")


def test_api_walks_a_session_through_every_phase(api_as, app, people):
    """Tick via PUT, start, downtime, integration, complete; 409s for the wrong order."""
    api = api_as("patient@demo.test")
    session_id, items = _session_payload(app, people)
    url = f"/api/v1/sessions/{session_id}"
    response = api.post(f"{url}/phase", json={"phase": "session"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    for item_id, required in items:
        if required:
            tick = api.put(f"{url}/checklist/{item_id}", json={"checked": True})
            assert tick.status_code == 200
    assert tick.json["missing_required"] == []
    detail = api.get(url).json
    assert [c["checked"] for c in detail["checklist"]] == [r for _, r in items]
    at = _walkthrough_booked_at(app)
    started = api.post(f"{url}/phase", json={"phase": "session", "at": at})
    assert started.status_code == 200
    assert started.json["session"]["started_at"] == at
    skip = api.post(f"{url}/phase", json={"phase": "complete"})
    assert skip.status_code == 409
    for phase in ("downtime", "integration", "complete"):
        assert api.post(f"{url}/phase", json={"phase": phase}).status_code == 200
    assert api.get(url).json["status"] == "complete"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("checklist/{item}", {"checked": "yes"}),
        ("checklist/{item}", {}),
        ("intention", {"text": 5}),
        ("intention", {"text": "x" * 5001}),
        ("phase", {"phase": "session", "at": "yesterday"}),
        ("phase", {"phase": "session", "at": "2026-11-22T14:00:00"}),
        ("phase", {}),
    ],
)
def test_api_bad_bodies_are_400_with_fields(api_as, app, people, path, body):
    """Wrong types, too-long text, unzoned or unreadable times answer 400 naming the field."""
    api = api_as("patient@demo.test")
    session_id, items = _session_payload(app, people)
    response = api.put if not path.startswith("phase") else api.post
    url = f"/api/v1/sessions/{session_id}/{path.format(item=items[0][0])}"
    answer = response(url, json=body)
    assert answer.status_code == 400
    assert answer.json["error"]["fields"]


def test_api_item_of_another_template_is_404(api_as, app, people):
    """A checklist item id from another template answers 404."""
    api = api_as("patient@demo.test")
    session_id, _ = _session_payload(app, people)
    response = api.put(f"/api/v1/sessions/{session_id}/checklist/1", json={"checked": True})
    assert response.status_code == 404


def test_therapist_cannot_act_on_a_patients_session(api_as, app, people):
    """Session writes are the patient's: a therapist gets 403."""
    api = api_as("therapist@demo.test")
    session_id, items = _session_payload(app, people)
    response = api.put(
        f"/api/v1/sessions/{session_id}/checklist/{items[0][0]}",
        json={"checked": True},
    )
    assert response.status_code == 403


def test_call_staff_reaches_the_care_team_and_the_admin_only(api_as, app, people):
    """A Call staff alert shows for the patient's therapist and clinic admin, not a colleague."""
    api = api_as("patient@demo.test")
    session_id, _ = _session_payload(app, people)
    first = api.post(f"/api/v1/sessions/{session_id}/call-staff", json={"client_id": "c1"})
    again = api.post(f"/api/v1/sessions/{session_id}/call-staff", json={"client_id": "c1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["alert"]["id"] == again.json["alert"]["id"]
    seen = {}
    for email in (
        "therapist@demo.test",
        "therapist2@demo.test",
        "admin@demo.test",
        "admin@other.test",
    ):
        viewer = api_as(email)
        # The patient's own alerts (the demo's patient2 has an intake review of their own).
        seen[email] = [
            a["kind"]
            for a in viewer.get("/api/v1/alerts").json["alerts"]
            if a["patient_id"] == people["patient@demo.test"].id
        ]
    assert seen == {
        "therapist@demo.test": ["call_staff"],
        "therapist2@demo.test": [],
        "admin@demo.test": ["call_staff"],
        "admin@other.test": [],
    }


# --- pages (no JavaScript) -----------------------------------------------------------------


def test_preparation_page_lists_items_as_labelled_checkboxes(client, auth, people, app):
    """Each item is a checkbox labelled with its text; Start session waits for required ones."""
    auth.login("patient@demo.test")
    session_id, items = _session_payload(app, people)
    page = client.get(f"/patient/sessions/{session_id}").text
    assert "No alcohol in the last 24 hours" in page
    assert "Ketamine taken with alcohol can be dangerous" in page  # why it matters
    assert "data-start disabled" in page
    assert "care team" in page and "can read your intention" in page
    data = form_data(page, "/checklist")
    fields = [(k, v) for k, v in data.items() if k == "csrf_token"]
    fields += [("item", str(item_id)) for item_id, required in items if required]
    from werkzeug.datastructures import MultiDict

    assert (
        client.post(f"/patient/sessions/{session_id}/checklist", data=MultiDict(fields)).status_code
        == 302
    )
    page = client.get(f"/patient/sessions/{session_id}").text
    assert "data-start disabled" not in page
    start = form_data(page, "/start")
    response = client.post(f"/patient/sessions/{session_id}/start", data=start)
    assert response.headers["Location"] == f"/patient/sessions/{session_id}/mode"


def test_too_long_intention_keeps_the_text(client, auth, people, app):
    """An intention over the limit re-renders with an error and the text still there."""
    auth.login("patient@demo.test")
    session_id, _ = _session_payload(app, people)
    token = form_data(client.get(f"/patient/sessions/{session_id}").text, "/intention")
    long_text = "I want to rest. " * 400
    response = client.post(
        f"/patient/sessions/{session_id}/intention", data={**token, "text": long_text}
    )
    assert response.status_code == 400
    assert "Keep it under 5,000 characters." in response.text
    assert form_data(response.text, "/intention")["text"] == long_text
