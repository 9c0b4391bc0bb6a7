"""The board's session-day records through its real forms, and the therapist's timeline."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from kap.extensions import db
from kap.models import (
    AuditEvent,
    MedicationAdministration,
    SessionObservation,
    TreatmentSession,
)
from kap.timezones import to_local
from tests.formscrape import form_data
from tests.helpers import page_text
from tests.integration.test_session_records import esketamine_today

ZONE = "America/New_York"  # Demo Clinic
VITALS = {"systolic": 128, "diastolic": 82, "heart_rate": 74, "spo2": 98}
STATE = {"sedation": "4", "dissociation": "mild", "respiratory_concern": "no"}
DOSE = {
    "medication": "Esketamine (Spravato)",
    "route": "intranasal",
    "dose": "56",
    "unit": "mg",
    "lot": "DEMO-24A17",
}


def _clock(moment: datetime) -> str:
    return to_local(moment, ZONE).strftime("%H:%M")


@pytest.fixture
def esk_id(app, people) -> int:
    """Robin Lee's esketamine session today (check-in required, post-dose check at 40)."""
    with app.app_context():
        return esketamine_today().id


@pytest.fixture
def esk_checked_in_id(app, people) -> int:
    """Robin Lee's esketamine session today, checked in (a dose may be recorded)."""
    with app.app_context():
        therapist = people["therapist@demo.test"].id
        return esketamine_today(checked_in_at=datetime.now(UTC), checked_in_by_id=therapist).id


def _row(page: str, session_id: int) -> str:
    return page.split(f'id="session-{session_id}"', 1)[1].split("</article>", 1)[0]


def _post_form(client, action: str, **fields):
    """Post the board's real form whose action contains ``action`` (CSRF token included)."""
    data = form_data(client.get("/board/").text, action)
    data.update({name: str(value) for name, value in fields.items()})
    return client.post(action, data=data)


def _session(app, session_id: int) -> TreatmentSession:
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        db.session.expunge(session)
        return session


def _dosed(app, session_id: int, minutes_ago: float) -> datetime:
    """Set up: the dose was recorded as given ``minutes_ago`` (as staff would have)."""
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        db.session.add(
            MedicationAdministration(
                session_id=session.id,
                clinic_id=session.clinic_id,
                medication="Esketamine (Spravato)",
                route="intranasal",
                dose=Decimal("56"),
                unit="mg",
                given_at=at,
            )
        )
        db.session.commit()
    return at


# --- Check-in -------------------------------------------------------------------------------


def test_a_session_that_requires_check_in_says_so(client, auth, esk_id):
    """The esketamine row waits for check-in; the Walkthrough (no check-in) does not."""
    auth.login("therapist@demo.test")
    page = client.get("/board/").text
    row = page_text(_row(page, esk_id))
    assert "Waiting for check-in — the patient cannot start until checked in" in row
    assert page.count("Waiting for check-in") == 1


def test_check_in_asks_for_pre_dose_vitals_first(app, client, auth, esk_id):
    """Without a pre-dose reading the form says so, and posting it anyway is refused."""
    auth.login("therapist@demo.test")
    row = _row(client.get("/board/").text, esk_id)
    assert "Record pre-dose vitals first." in row
    response = _post_form(client, f"/board/sessions/{esk_id}/check-in", photo_id_checked="y")
    assert response.status_code == 409
    assert "Record pre-dose vitals first." in _row(response.text, esk_id)
    assert f'id="s{esk_id}-check_in-panel" data-key="session-{esk_id}-check_in" open' in (
        response.text
    )
    assert _session(app, esk_id).checked_in_at is None


def test_staff_check_the_patient_in_from_the_board(app, client, auth, people, esk_id):
    """Pre-dose vitals, then the photo ID tick: 'Checked in 09:42 by Dr. Tess Rivera'."""
    auth.login("therapist@demo.test")
    pre_dose = {"kind": "pre_dose", **VITALS}
    response = _post_form(client, f"/board/sessions/{esk_id}/vitals", **pre_dose)
    assert response.status_code == 302
    refused = _post_form(client, f"/board/sessions/{esk_id}/check-in")
    assert refused.status_code == 400
    assert "Tick when you have checked the patient&#39;s photo ID." in refused.text
    response = _post_form(client, f"/board/sessions/{esk_id}/check-in", photo_id_checked="y")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/board/#session-{esk_id}")
    session = _session(app, esk_id)
    assert session.checked_in_by_id == people["therapist@demo.test"].id
    row = page_text(_row(client.get("/board/").text, esk_id))
    assert f"Checked in {_clock(session.checked_in_at)} by Dr. Tess Rivera" in row
    assert "Waiting for check-in" not in row and "Check in Robin Lee" not in row
    with app.app_context():
        (audited,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "session.check_in")
        ).all()
        assert audited.actor_id == people["therapist@demo.test"].id


# --- Administrations ------------------------------------------------------------------------


def test_the_administration_form_never_proposes_a_dose(app, client, auth, esk_id):
    """Route pre-selected from the template; medication, dose and unit empty, even after a dose
    was recorded for the same template."""
    _dosed(app, esk_id, 1)
    with app.app_context():
        other = esketamine_today("patient@demo.test").id
    auth.login("admin@demo.test")
    page = client.get("/board/").text
    for session_id in (esk_id, other):
        data = form_data(page, f"/board/sessions/{session_id}/administrations")
        assert data["route"] == "intranasal"
        assert data["medication"] == "" and data["dose"] == "" and data["unit"] == ""
    form = page.split(f'action="/board/sessions/{other}/administrations"', 1)[1]
    dose_input = re.search(r'<input[^>]*name="dose"[^>]*>', form).group(0)
    assert "value=" not in dose_input or 'value=""' in dose_input
    assert "usual" not in page_text(form).lower()


def test_record_an_administration_from_the_board(app, client, auth, esk_checked_in_id):
    """The row then reads '… 56 mg intranasal at HH:MM by Dr. Tess Rivera, lot DEMO-24A17'."""
    auth.login("therapist@demo.test")
    typed = to_local(datetime.now(UTC) - timedelta(minutes=3), ZONE).strftime("%H:%M")
    response = _post_form(
        client, f"/board/sessions/{esk_checked_in_id}/administrations", **DOSE, given_time=typed
    )
    assert response.status_code == 302
    with app.app_context():
        (given,) = db.session.scalars(
            select(MedicationAdministration).where(
                MedicationAdministration.session_id == esk_checked_in_id
            )
        ).all()
        assert given.dose == Decimal("56") and given.unit == "mg"
        assert _clock(given.given_at) == typed
    row = page_text(_row(client.get("/board/").text, esk_checked_in_id))
    expected = (
        f"Esketamine (Spravato) 56 mg intranasal at {typed} by Dr. Tess Rivera, lot DEMO-24A17"
    )
    assert expected in row
    assert "Dosed" in row  # staff dosed before the patient pressed Start session


def test_staff_cannot_record_a_dose_from_the_board_before_check_in(app, client, auth, esk_id):
    """Esketamine requires check-in: the board says so beside the form and a dose posted
    before it gets 409 with the reason; nothing is saved."""
    auth.login("therapist@demo.test")
    assert "Check the patient in first" in _row(client.get("/board/").text, esk_id)
    response = _post_form(client, f"/board/sessions/{esk_id}/administrations", **DOSE)
    assert response.status_code == 409
    assert "Check the patient in first (ID, pre-dose vitals)." in response.text
    with app.app_context():
        query = select(MedicationAdministration).where(
            MedicationAdministration.session_id == esk_id
        )
        assert db.session.scalars(query).all() == []


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"dose": "1.2345"}, "dose", "Use at most 3 decimal places."),
        ({"dose": ""}, "dose", "Enter the dose given"),
        ({"unit": ""}, "unit", "Choose the unit"),
        ({"medication": ""}, "medication", "Enter the medication given."),
        ({"given_time": "25:99"}, "given_time", "Not a valid time value"),
    ],
)
def test_a_refused_administration_keeps_what_was_typed(
    app, client, auth, esk_checked_in_id, changes, field, message
):
    """400, the message beside the field, the form open with what was typed; nothing saved."""
    auth.login("therapist@demo.test")
    fields = {**DOSE, **changes}
    response = _post_form(client, f"/board/sessions/{esk_checked_in_id}/administrations", **fields)
    assert response.status_code == 400
    error = re.search(
        rf'id="s{esk_checked_in_id}-administration-{field}-error">([^<]*)<', response.text
    )
    assert error and message in error.group(1)
    assert 'value="DEMO-24A17"' in response.text  # kept
    panel = f'id="s{esk_checked_in_id}-administration-panel"'
    assert f'{panel} data-key="session-{esk_checked_in_id}-administration" open' in response.text
    with app.app_context():
        assert not db.session.scalars(
            select(MedicationAdministration).where(
                MedicationAdministration.session_id == esk_checked_in_id
            )
        ).all()


# --- Protocol times and the clinical state --------------------------------------------------


def test_post_dose_vitals_are_shown_due_then_overdue(app, client, auth, esk_id):
    """Dosed 28 minutes ago: due in 12 min. Dosed 47 minutes ago: overdue, the row flagged."""
    given = _dosed(app, esk_id, 28)
    auth.login("therapist@demo.test")
    row = page_text(_row(client.get("/board/").text, esk_id))
    assert f"Post-dose vitals due {_clock(given + timedelta(minutes=40))} (in 12 min)" in row
    with app.app_context():
        db.session.execute(
            MedicationAdministration.__table__.update()
            .where(MedicationAdministration.session_id == esk_id)
            .values(given_at=given - timedelta(minutes=19))
        )
        db.session.commit()
    page = client.get("/board/").text
    due = _clock(given - timedelta(minutes=19) + timedelta(minutes=40))
    assert f"Overdue: post-dose vitals, due {due} (7 min ago)" in page_text(_row(page, esk_id))
    assert f'board-row board-row--attention" id="session-{esk_id}"' in page


def test_the_forty_minute_check_is_recorded_with_sedation_and_dissociation(
    app, client, auth, esk_id
):
    """The vitals form offers the post-dose check; with the state it counts as done."""
    _dosed(app, esk_id, 41)
    auth.login("therapist2@demo.test")
    page = client.get("/board/").text
    assert form_data(page, f"/board/sessions/{esk_id}/vitals")["kind"] == "post_dose"
    refused = _post_form(client, f"/board/sessions/{esk_id}/vitals", **VITALS)
    assert refused.status_code == 400
    assert re.search(
        rf'id="s{esk_id}-vitals-sedation-error">Record the sedation level', refused.text
    )
    response = _post_form(client, f"/board/sessions/{esk_id}/vitals", **VITALS, **STATE)
    assert response.status_code == 302
    with app.app_context():
        (reading,) = db.session.scalars(
            select(SessionObservation).where(SessionObservation.session_id == esk_id)
        ).all()
        assert (reading.kind, reading.sedation, reading.dissociation) == ("post_dose", 4, "mild")
        assert reading.respiratory_concern is False
        done = _clock(reading.recorded_at)
    page = client.get("/board/").text
    row = page_text(_row(page, esk_id))
    assert f"Post-dose vitals done {done}" in row
    assert "Sedation 4 (Lethargic response to name)" in row
    assert "Dissociation: mild" in row and "Breathing: no concern" in row
    assert "Overdue: post-dose" not in row


def test_the_state_fields_carry_their_labels(client, auth, esk_id):
    """Sedation options read as MOAA/S labels; dissociation and breathing are real radios."""
    auth.login("therapist@demo.test")
    row = _row(client.get("/board/").text, esk_id)
    assert '<option value="5">5: Responds readily to name in normal tone</option>' in row
    assert '<option value="0">0: No response</option>' in row
    for label in ("None", "Mild", "Moderate", "Severe", "No concern", "Concern about breathing"):
        assert f"<span>{label}</span>" in row
    assert "<legend>Dissociation</legend>" in row and "<legend>Breathing</legend>" in row


def test_a_monitoring_check_records_the_state_alone(app, client, auth, esk_id):
    """A check needs something: refused empty, recorded with sedation and dissociation."""
    _dosed(app, esk_id, 60)
    auth.login("therapist@demo.test")
    empty = _post_form(client, f"/board/sessions/{esk_id}/checks")
    assert empty.status_code == 400
    assert "Record at least one of" in empty.text
    response = _post_form(
        client,
        f"/board/sessions/{esk_id}/checks",
        sedation="5",
        dissociation="none",
        respiratory_concern="yes",
        note="Breathing shallow; sat up",
    )
    assert response.status_code == 302
    with app.app_context():
        (reading,) = db.session.scalars(
            select(SessionObservation).where(SessionObservation.session_id == esk_id)
        ).all()
        assert (reading.kind, reading.sedation, reading.respiratory_concern) == ("check", 5, True)
    page = client.get("/board/").text
    assert "Breathing: concern" in page_text(_row(page, esk_id))
    assert f'board-row board-row--attention" id="session-{esk_id}"' in page


# --- The therapist's timeline ---------------------------------------------------------------


def test_timeline_shows_what_was_given_and_every_reading(client, auth, people):
    """The demo esketamine session 9 days ago: the dose, and readings with the new fields."""
    auth.login("therapist@demo.test")
    page = client.get(f"/therapist/patients/{people['patient@demo.test'].id}").text
    sessions = page.split('id="sessions-heading"', 1)[1].split("</section>", 1)[0]
    esketamine = page_text(sessions.split("Esketamine nasal spray", 1)[1].split("</li>\n", 1)[0])
    assert "Esketamine (Spravato) 56 mg intranasal at" in esketamine
    assert "by Dr. Tess Rivera, lot DEMO-24A17" in esketamine
    assert "post dose 142/88 80 97 4 mild no concern Resting comfortably" in esketamine
    assert "final 126/80 72 98 5 none no concern" in esketamine


def test_timeline_statements_do_not_grow_with_sessions(app, client, auth, people):
    """Administrations and readings of every listed session load in one query each."""
    auth.login("therapist@demo.test")
    url = f"/therapist/patients/{people['patient@demo.test'].id}"

    def statements() -> int:
        seen = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    statements()  # the first request after sign-in also updates the server-side session
    before = statements()
    with app.app_context():
        for _ in range(3):
            session = esketamine_today("patient@demo.test")
            for kind in ("pre_dose", "post_dose"):
                db.session.add(
                    SessionObservation(
                        session_id=session.id, clinic_id=session.clinic_id, kind=kind, **VITALS
                    )
                )
        db.session.commit()
    for session_id in _session_ids(app, people):
        _dosed(app, session_id, 5)
    assert statements() == before


def _session_ids(app, people) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(TreatmentSession.id).where(
                    TreatmentSession.patient_id == people["patient@demo.test"].id
                )
            )
        )
