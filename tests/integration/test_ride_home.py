"""The ride home: the patient's one-tap answer, its page and API, and the board's pre-fill."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kap.extensions import db
from kap.models import (
    AuditEvent,
    SessionDischarge,
    SessionObservation,
    SessionStatus,
    TreatmentSession,
    User,
)
from kap.services.errors import Conflict, Invalid, NotFound
from kap.services.sessions.ride import confirm_ride
from tests.formscrape import form_data
from tests.helpers import csrf_from

DRIVER = "Sam Jordan (my partner)"


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _session(app, session_id: int) -> TreatmentSession:
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        db.session.expunge(session)
        return session


def test_confirm_ride_stores_one_trimmed_line_and_audits_without_the_name(app, session_id):
    """Spaces and line breaks collapse; ride_home_at is set; the audit row has no name."""
    with app.app_context():
        patient = _user("patient@demo.test")
        confirm_ride(patient, session_id, "  Sam Jordan\n (my   partner)  ")
        session = db.session.get(TreatmentSession, session_id)
        assert session.ride_home == DRIVER
        assert datetime.now(UTC) - session.ride_home_at < timedelta(minutes=1)
        (row,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "session.ride")
        ).all()
        assert (row.actor_id, row.patient_id, row.subject_id) == (
            patient.id,
            patient.id,
            session_id,
        )
        assert "Sam" not in row.detail


@pytest.mark.parametrize(
    ("driver", "message"),
    [
        ("", "Write who is driving you home"),
        ("   \n ", "Write who is"),
        ("x" * 121, "120"),
        ("Sam\x00", "letters, numbers"),
        ("Sam\x07Jo", "letters, numbers"),
    ],
)
def test_confirm_ride_refuses_empty_too_long_or_unprintable(app, session_id, driver, message):
    """Nothing to say, more than 120 characters or a control character: Invalid on the driver
    field, nothing kept."""
    with app.app_context():
        with pytest.raises(Invalid) as refused:
            confirm_ride(_user("patient@demo.test"), session_id, driver)
        assert message in " ".join(refused.value.fields["driver"])
        assert db.session.get(TreatmentSession, session_id).ride_home == ""


def test_confirm_ride_accepts_exactly_120_characters(app, session_id):
    """The limit is the discharge form's (120)."""
    with app.app_context():
        confirm_ride(_user("patient@demo.test"), session_id, "y" * 120)
        assert db.session.get(TreatmentSession, session_id).ride_home == "y" * 120


def test_only_the_patients_own_booked_session(app, session_id):
    """Another patient (or a clinician) gets NotFound; a started session is a Conflict."""
    with app.app_context():
        for email in ("patient2@demo.test", "patient@other.test"):
            with pytest.raises(NotFound):
                confirm_ride(_user(email), session_id, DRIVER)
        db.session.get(TreatmentSession, session_id).status = SessionStatus.SESSION
        db.session.commit()
        with pytest.raises(Conflict):
            confirm_ride(_user("patient@demo.test"), session_id, DRIVER)
        assert db.session.get(TreatmentSession, session_id).ride_home == ""


def test_ride_page_asks_saves_and_shows_the_answer(app, page_as, session_id):
    """A labelled field and 'Confirm my ride'; after posting, the page shows what was said."""
    browser = page_as("patient@demo.test")
    page = browser.get(f"/patient/sessions/{session_id}/ride")
    assert page.status_code == 200
    label = '<label class="field__label" for="driver">Who is driving you home?</label>'
    assert label in page.text
    assert ">Confirm my ride</button>" in page.text
    assert "Crisis support" in page.text
    data = form_data(page.text, f"/patient/sessions/{session_id}/ride")
    data["driver"] = DRIVER
    saved = browser.post(f"/patient/sessions/{session_id}/ride", data=data)
    assert saved.status_code == 302
    assert saved.headers["Location"] == f"/patient/sessions/{session_id}/ride"
    shown = browser.get(saved.headers["Location"]).text
    assert f"<strong>You said:</strong> {DRIVER}" in shown
    assert f'value="{DRIVER}"' in shown  # in the field, to change
    assert _session(app, session_id).ride_home == DRIVER


def test_prepare_page_leads_to_the_ride_question_and_shows_the_answer(app, page_as, session_id):
    """The session's page asks for the ride until it is answered, then shows the answer."""
    browser = page_as("patient@demo.test")
    link = f'<a href="/patient/sessions/{session_id}/ride">'
    before = browser.get(f"/patient/sessions/{session_id}").text
    assert f"{link}Tell us who is driving you home</a>" in before
    with app.app_context():
        confirm_ride(_user("patient@demo.test"), session_id, DRIVER)
    after = browser.get(f"/patient/sessions/{session_id}").text
    assert f"You said <strong>{DRIVER}</strong> is driving you home." in after
    assert f"{link}Change your answer</a>" in after


def test_ride_page_keeps_a_refused_answer_with_the_reason(app, page_as, session_id):
    """Too long: 400, the text kept in the field, the reason beside it."""
    browser = page_as("patient@demo.test")
    token = csrf_from(browser.get(f"/patient/sessions/{session_id}/ride").text)
    long = "z" * 130
    refused = browser.post(
        f"/patient/sessions/{session_id}/ride", data={"csrf_token": token, "driver": long}
    )
    assert refused.status_code == 400
    assert f'value="{long}"' in refused.text
    assert re.search(r'id="driver-error">[^<]*120 characters', refused.text)
    assert _session(app, session_id).ride_home == ""


def test_ride_page_of_another_patients_session_is_404(app, page_as, session_id):
    """Another patient cannot see or answer it."""
    browser = page_as("patient2@demo.test")
    assert browser.get(f"/patient/sessions/{session_id}/ride").status_code == 404
    token = csrf_from(browser.get("/patient/").text)
    answer = browser.post(
        f"/patient/sessions/{session_id}/ride", data={"csrf_token": token, "driver": DRIVER}
    )
    assert answer.status_code == 404
    assert _session(app, session_id).ride_home == ""


def test_api_put_ride(app, api_as, session_id):
    """PUT /sessions/{id}/ride stores the answer; bad input 400; not yours 404."""
    patient = api_as("patient@demo.test")
    path = f"/api/v1/sessions/{session_id}/ride"
    answer = patient.put(path, json={"driver": f"  {DRIVER} "})
    assert answer.status_code == 200
    assert answer.json["ride_home"] == DRIVER and answer.json["ride_home_at"].endswith("Z")
    empty = patient.put(path, json={"driver": " "})
    assert empty.status_code == 400 and "driver" in empty.json["error"]["fields"]
    assert patient.put(path, json={}).status_code == 400
    assert api_as("patient2@demo.test").put(path, json={"driver": "x"}).status_code == 404
    assert api_as("therapist@demo.test").put(path, json={"driver": "x"}).status_code == 403
    assert _session(app, session_id).ride_home == DRIVER


def _dosed_with_final(app, session_id: int) -> None:
    """Dosed 10 minutes ago (the Walkthrough's observation is over), a clear final check."""
    now = datetime.now(UTC)
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        session.status = SessionStatus.DOWNTIME
        session.session_started_at = now - timedelta(minutes=10)
        db.session.add(
            SessionObservation(
                session_id=session.id,
                clinic_id=session.clinic_id,
                kind="final",
                recorded_at=now - timedelta(minutes=1),
                systolic=120,
                diastolic=80,
                heart_rate=70,
            )
        )
        db.session.commit()


def _row(page: str, session_id: int) -> str:
    return page.split(f'id="session-{session_id}"', 1)[1].split("</article>", 1)[0]


def test_board_shows_the_ride_and_prefills_discharge_but_staff_still_confirm(
    app, page_as, session_id
):
    """The row says 'Ride: <name> (said by the patient)' and the driver field holds it; nothing
    is discharged until a clinician submits and confirms; a cleared field is still refused."""
    with app.app_context():
        confirm_ride(_user("patient@demo.test"), session_id, DRIVER)
    _dosed_with_final(app, session_id)
    board = page_as("therapist@demo.test")
    row = _row(board.get("/board/").text, session_id)
    assert f"Ride: {DRIVER} <span" in row and "(said by the patient)" in row
    driver_input = re.search(rf'<input[^>]*id="s{session_id}-discharge-driver"[^>]*>', row).group(0)
    assert f'value="{DRIVER}"' in driver_input
    assert _session(app, session_id).discharged_at is None  # pre-filled is not discharged

    action = f"/board/sessions/{session_id}/discharge"
    cleared = form_data(board.get("/board/").text, action) | {"driver": ""}
    refused = board.post(action, data=cleared)
    assert refused.status_code == 409
    error = rf'id="s{session_id}-discharge-driver-error">[^<]*who is driving'
    assert re.search(error, refused.text)

    checked = board.post(action, data=form_data(board.get("/board/").text, action))
    assert checked.status_code == 200 and f"{DRIVER} (driving)" in checked.text
    assert _session(app, session_id).discharged_at is None
    done = board.post(action, data=form_data(checked.text, action) | {"seen_patient": "y"})
    assert done.status_code == 302
    assert _session(app, session_id).discharged_at is not None
    with app.app_context():
        (record,) = db.session.scalars(
            select(SessionDischarge).where(SessionDischarge.session_id == session_id)
        ).all()
        assert record.driver == DRIVER


def test_the_answer_is_in_the_patients_export_and_goes_with_their_data(app, session_id):
    """The ride answer (a name the patient wrote) is in their export and erased with their
    data, and so are their calendar link, reminder choices and what was sent to them."""
    from kap.models.reminders import CalendarFeed, ReminderDelivery, ReminderPreference
    from kap.services.people.data_rights import delete_patient_data, export_patient_data
    from kap.services.reminders.calendar import ensure_feed

    with app.test_request_context():
        patient = _user("patient@demo.test")
        confirm_ride(patient, session_id, DRIVER)
        ensure_feed(patient)
        db.session.add(
            ReminderDelivery(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                key=f"ride:s{session_id}:test",
                kind="ride",
                channel="email",
                session_id=session_id,
                due_at=datetime.now(UTC),
            )
        )
        db.session.commit()
        exported = export_patient_data(patient)
        (mine,) = [s for s in exported["sessions"] if s["id"] == session_id]
        assert mine["ride_home"] == DRIVER
        patient_id = patient.id
        delete_patient_data(_user("admin@demo.test"), patient_id, "DELETE")
        session = db.session.get(TreatmentSession, session_id)
        assert (session.ride_home, session.ride_home_at) == ("", None)
        feeds = db.session.scalars(select(CalendarFeed).where(CalendarFeed.user_id == patient_id))
        assert feeds.all() == []
        assert db.session.get(ReminderPreference, patient_id) is None  # the demo chose e-mail
        sent = select(ReminderDelivery).where(ReminderDelivery.patient_id == patient_id)
        assert db.session.scalars(sent).all() == []
