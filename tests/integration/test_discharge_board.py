"""Discharge on the board through its real forms: blockers, override, confirmation, reopening."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from kap.extensions import db
from kap.models import SessionDischarge, SessionObservation, SessionStatus, TreatmentSession
from tests.formscrape import form_data

PATIENT_NAME = "Pat Jordan"
DRIVER = "Alex Jordan (partner)"
REASON = "Seen by Dr. Rivera: her usual BP; GP informed."
OUT_OF_RANGE = dict(systolic=182, diastolic=108, heart_rate=125, spo2=90)


def _now() -> datetime:
    return datetime.now(UTC)


def _dosed_with_final(app, session_id: int, **vitals) -> None:
    """Dosed 10 minutes ago (observation over), final check a minute ago."""
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
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


def _session(app, session_id: int) -> TreatmentSession:
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        db.session.expunge(session)
        return session


def _records(app, session_id: int) -> list[SessionDischarge]:
    with app.app_context():
        records = db.session.scalars(
            select(SessionDischarge)
            .where(SessionDischarge.session_id == session_id)
            .order_by(SessionDischarge.id)
        ).all()
        for record in records:  # decrypt while the app's keys are at hand
            _ = (record.override_reason, record.reopen_reason)
        return list(records)


def _row(page: str, session_id: int) -> str:
    return page.split(f'id="session-{session_id}"', 1)[1].split("</article>", 1)[0]


def _submit(client, action: str, page: str | None = None, **fields):
    """Post the real form whose action is ``action`` on ``page`` (default: the board)."""
    data = form_data(page if page is not None else client.get("/board/").text, action)
    data.update(fields)
    return client.post(action, data=data)


def test_board_explains_the_override_and_the_ride_before_the_button(app, client, auth, session_id):
    """Out-of-range final vitals: the row says what is out and asks for a reason and a driver."""
    _dosed_with_final(app, session_id, **OUT_OF_RANGE)
    auth.login("therapist2@demo.test")
    row = _row(client.get("/board/").text, session_id)
    assert (
        "Final vitals are outside the clinic&#39;s limits: BP 182/108 (high), heart rate 125 "
        "(high), SpO2 90% (low)." in row
    )
    assert f'<label class="field__label" for="s{session_id}-discharge-override_reason">' in row
    assert "Who is driving the patient home?" in row
    button = re.search(r"<button[^>]*>Discharge Pat Jordan</button>", row).group(0)
    assert "disabled" not in button  # staff can act: the form asks for what is missing


def test_board_lists_blockers_and_disables_discharge_while_observing(app, client, auth, session_id):
    """Not dosed yet: the row lists why, and the button is disabled and described by it."""
    auth.login("therapist@demo.test")
    row = _row(client.get("/board/").text, session_id)
    missing = row.split('class="discharge__missing"', 1)[1].split("</div>", 1)[0]
    assert "The session has not started" in missing and "Record a final vitals check" in missing
    assert f'disabled aria-describedby="s{session_id}-discharge-missing"' in row


def test_refused_discharge_shows_each_blocker_beside_its_field(app, client, auth, session_id):
    """No reason, no driver: 409; both messages beside their fields; what was typed kept."""
    _dosed_with_final(app, session_id, **OUT_OF_RANGE)
    auth.login("therapist@demo.test")
    action = f"/board/sessions/{session_id}/discharge"
    response = _submit(client, action, override_reason="ok")
    assert response.status_code == 409
    row = _row(response.text, session_id)
    reason_error = re.search(rf'id="s{session_id}-discharge-override_reason-error">([^<]*)<', row)
    driver_error = re.search(rf'id="s{session_id}-discharge-driver-error">([^<]*)<', row)
    assert reason_error and "at least 10 characters" in reason_error.group(1)
    assert driver_error and "who is driving" in driver_error.group(1)
    assert "ok</textarea>" in row  # kept
    assert "Not discharged yet" in row
    assert _session(app, session_id).discharged_at is None


def test_discharge_with_override_goes_through_the_confirmation(app, client, auth, session_id):
    """Reason and driver → a page naming patient, time and driver → tick → discharged."""
    _dosed_with_final(app, session_id, **OUT_OF_RANGE)
    auth.login("therapist2@demo.test")
    action = f"/board/sessions/{session_id}/discharge"
    checked = _submit(client, action, override_reason=REASON, driver=DRIVER)
    assert checked.status_code == 200
    page = checked.text
    assert "Confirm discharge: Pat Jordan" in page
    assert f"{DRIVER} (driving)" in page
    assert "BP 182/108 (high)" in page and "Seen by Dr. Rivera: her usual BP" in page
    assert re.search(r'<time datetime="[^"]+">\d\d:\d\d</time> today', page)
    assert "I have seen the patient and they are ready to leave" in page
    assert _session(app, session_id).discharged_at is None  # nothing written yet

    unticked = _submit(client, action, page)
    assert unticked.status_code == 400
    assert "Tick this once you have seen the patient" in unticked.text
    assert _session(app, session_id).discharged_at is None

    done = _submit(client, action, unticked.text, seen_patient="y")
    assert done.status_code == 302
    assert done.headers["Location"].endswith("/board/#discharged")
    assert _session(app, session_id).discharged_at is not None
    (record,) = _records(app, session_id)
    assert (record.driver, record.override_reason) == (DRIVER, REASON)
    assert record.out_of_range == "systolic_high,diastolic_high,heart_rate_high,spo2_low"


def test_confirmation_is_checked_again_when_confirmed(app, client, auth, session_id):
    """A confirmation page posted after the patient's new vitals went out of range: refused."""
    _dosed_with_final(app, session_id, systolic=120, diastolic=80, heart_rate=70)
    auth.login("therapist@demo.test")
    action = f"/board/sessions/{session_id}/discharge"
    checked = _submit(client, action, driver=DRIVER)
    assert checked.status_code == 200
    with app.app_context():
        db.session.add(
            SessionObservation(
                session_id=session_id,
                clinic_id=_session(app, session_id).clinic_id,
                kind="final",
                recorded_at=_now(),
                **OUT_OF_RANGE,
            )
        )
        db.session.commit()
    late = _submit(client, action, checked.text, seen_patient="y")
    assert late.status_code == 409
    assert "Final vitals are outside the clinic&#39;s limits" in _row(late.text, session_id)
    assert _session(app, session_id).discharged_at is None


def test_a_stale_confirmation_does_not_reuse_its_override_reason(app, client, auth, session_id):
    """Confirmation opened on one out-of-range final with a reason; a newer final (sedation 2)
    arrives: the confirm shows the page again with the new readings, nothing is discharged;
    confirming that page records the new concerns."""
    _dosed_with_final(app, session_id, **OUT_OF_RANGE)
    auth.login("therapist@demo.test")
    action = f"/board/sessions/{session_id}/discharge"
    checked = _submit(client, action, driver=DRIVER, override_reason=REASON)
    assert checked.status_code == 200
    with app.app_context():
        db.session.add(
            SessionObservation(
                session_id=session_id,
                clinic_id=_session(app, session_id).clinic_id,
                kind="final",
                recorded_at=_now(),
                **OUT_OF_RANGE,
                sedation=2,
            )
        )
        db.session.commit()
    stale = _submit(client, action, checked.text, seen_patient="y")
    assert stale.status_code == 409
    assert "New readings since you started: review them" in stale.text
    assert "sedation MOAA/S 2" in stale.text
    assert _session(app, session_id).discharged_at is None and _records(app, session_id) == []
    done = _submit(client, action, stale.text, seen_patient="y")
    assert done.status_code == 302
    (record,) = _records(app, session_id)
    assert record.out_of_range.endswith(",sedation_2")


def test_reopen_from_the_board_within_the_hour(app, client, auth, session_id):
    """A discharged row offers Reopen; with a reason the session is back on the floor."""
    _dosed_with_final(app, session_id, systolic=120, diastolic=80, heart_rate=70)
    auth.login("admin@demo.test")
    action = f"/board/sessions/{session_id}/discharge"
    checked = _submit(client, action, driver=DRIVER)
    assert _submit(client, action, checked.text, seen_patient="y").status_code == 302
    page = client.get("/board/").text
    discharged = page.split('id="discharged"', 1)[1]
    assert "Reopen discharge of Pat Jordan" in discharged

    reopen = f"/board/sessions/{session_id}/discharge/reopen"
    blank = _submit(client, reopen, reason="  ")
    assert blank.status_code == 400
    assert f'id="s{session_id}-reopen-panel" open' in blank.text
    done = _submit(client, reopen, reason="Felt faint at the door.")
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/board/#session-{session_id}")
    assert _session(app, session_id).discharged_at is None
    page = client.get("/board/").text
    assert f'id="session-{session_id}"' in page.split('id="discharged"', 1)[0]
    (record,) = _records(app, session_id)
    assert record.reopen_reason == "Felt faint at the door."


def test_reopen_is_not_offered_after_the_window_and_refused_if_posted(
    app, client, auth, session_id
):
    """61 minutes after the discharge: no Reopen form, and a post answers 409 with why."""
    _dosed_with_final(app, session_id, systolic=120, diastolic=80, heart_rate=70)
    auth.login("therapist@demo.test")
    action = f"/board/sessions/{session_id}/discharge"
    checked = _submit(client, action, driver=DRIVER)
    _submit(client, action, checked.text, seen_patient="y")
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        session.discharged_at -= timedelta(minutes=61)
        db.session.commit()
    page = client.get("/board/").text
    assert "Reopen discharge of Pat Jordan" not in page
    token = form_data(page, "signout")["csrf_token"]
    response = client.post(
        f"/board/sessions/{session_id}/discharge/reopen",
        data={"csrf_token": token, "reason": "Too late."},
    )
    assert response.status_code == 409
    assert "Discharged more than 60 minutes ago; record a clinical note instead." in response.text
    assert _session(app, session_id).discharged_at is not None
