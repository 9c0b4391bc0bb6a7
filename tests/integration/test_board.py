"""The clinic session board: scope, roles, vitals, monitoring checks, discharge, Call staff."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kap.extensions import db
from kap.models import (
    Alert,
    AuditEvent,
    Clinic,
    SessionObservation,
    SessionStatus,
    TreatmentSession,
    User,
)
from kap.services.board import discharge_rules, vitals
from tests.formscrape import form_data

PATIENT_NAME = "Pat Jordan"  # patient@demo.test, cared for by therapist@demo.test only


def _now() -> datetime:
    return datetime.now(UTC)


def _start(app, session_id: int, minutes_ago: float) -> None:
    """Put the session in its downtime, dosed ``minutes_ago`` (as the patient's phone would)."""
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        session.status = SessionStatus.DOWNTIME
        session.session_started_at = _now() - timedelta(minutes=minutes_ago)
        session.downtime_started_at = _now() - timedelta(minutes=minutes_ago / 2)
        db.session.commit()


def _observe(app, session_id: int, kind: str, minutes_ago: float, **vitals) -> None:
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        db.session.add(
            SessionObservation(
                session_id=session.id,
                clinic_id=session.clinic_id,
                kind=kind,
                recorded_at=_now() - timedelta(minutes=minutes_ago),
                **vitals,
            )
        )
        db.session.commit()


def _observations(app, session_id: int) -> list[SessionObservation]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(SessionObservation).where(SessionObservation.session_id == session_id)
            )
        )
        for row in rows:
            _ = row.note  # notes are encrypted at rest: decrypt while the app's keys are at hand
        return rows


def _session(app, session_id: int) -> TreatmentSession:
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        db.session.expunge(session)
        return session


def _audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _post_form(client, action: str, **fields):
    """Post the board's real form whose action contains ``action`` (CSRF token included)."""
    data = form_data(client.get("/board/").text, action)
    data.update({name: str(value) for name, value in fields.items()})
    return client.post(action, data=data)


VITALS_OK = {"systolic": 124, "diastolic": 78, "heart_rate": 72, "spo2": 98}
#: Post-dose and final readings also record sedation, dissociation and breathing (REMS).
STATE_OK = {"sedation": 5, "dissociation": "none", "respiratory_concern": "no"}


# --- Who sees the board ----------------------------------------------------------------------


def test_every_therapist_of_the_clinic_sees_all_of_todays_sessions(client, auth, session_id):
    """therapist2 does not care for Pat Jordan, yet the floor board lists Pat's session."""
    auth.login("therapist2@demo.test")
    page = client.get("/board/")
    assert page.status_code == 200
    assert PATIENT_NAME in page.text
    assert f'id="session-{session_id}"' in page.text
    assert "Room 2" in page.text


def test_clinic_admin_sees_the_board(client, auth, session_id):
    """The clinic admin sees the same board."""
    auth.login("admin@demo.test")
    page = client.get("/board/")
    assert page.status_code == 200 and PATIENT_NAME in page.text


def test_board_lists_only_today_and_not_cancelled(app, client, auth, people, session_id):
    """Later sessions and cancelled ones are not on today's board."""
    with app.app_context():
        later = db.session.scalars(
            select(TreatmentSession).where(
                TreatmentSession.patient_id == people["patient2@demo.test"].id
            )
        ).all()
        assert later and all(s.scheduled_at > _now() + timedelta(hours=1) for s in later)
    auth.login("therapist@demo.test")
    assert "Robin Lee" not in client.get("/board/").text
    with app.app_context():
        db.session.get(TreatmentSession, session_id).status = SessionStatus.CANCELLED
        db.session.commit()
    assert f'id="session-{session_id}"' not in client.get("/board/").text


def test_a_session_dosed_yesterday_stays_until_discharged(app, client, auth, session_id):
    """A session that ran past midnight stays on the board until it is discharged."""
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        session.scheduled_at = _now() - timedelta(hours=30)
        db.session.commit()
    auth.login("therapist@demo.test")
    assert f'id="session-{session_id}"' not in client.get("/board/").text
    _start(app, session_id, minutes_ago=120)
    assert f'id="session-{session_id}"' in client.get("/board/").text


def test_other_clinic_does_not_see_the_session(client, auth, session_id):
    """Staff of another clinic do not see Pat on their board."""
    auth.login("therapist@other.test")
    page = client.get("/board/")
    assert page.status_code == 200
    assert PATIENT_NAME not in page.text
    assert f'id="session-{session_id}"' not in page.text


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/board/sessions/{id}/vitals"),
        ("post", "/board/sessions/{id}/checks"),
        ("post", "/board/sessions/{id}/discharge"),
        ("get", "/board/sessions/{id}/summary"),
    ],
)
def test_other_clinic_gets_404_for_the_session(app, client, auth, session_id, method, path):
    """Another clinic's staff get 404 for every board action on the session, and nothing moves."""
    _start(app, session_id, minutes_ago=30)
    _observe(app, session_id, "final", 1, systolic=120, diastolic=80, heart_rate=70)
    auth.login("admin@other.test")
    token = form_data(client.get("/board/").text, "signout")["csrf_token"]
    data = {"csrf_token": token, "kind": "check", **VITALS_OK}
    response = getattr(client, method)(path.format(id=session_id), data=data)
    assert response.status_code == 404
    assert len(_observations(app, session_id)) == 1
    assert _session(app, session_id).discharged_at is None


@pytest.mark.parametrize("email", [None, "patient@demo.test"])
@pytest.mark.parametrize("path", ["/board/", "/board/rows", "/board/sessions/{id}/summary"])
def test_patients_and_strangers_are_turned_away(client, auth, session_id, email, path):
    """Signed out: to sign-in. A patient: back to their own home."""
    if email:
        auth.login(email)
    response = client.get(path.format(id=session_id))
    assert response.status_code == 302
    expected = "/patient/" if email else "/signin"
    assert response.headers["Location"].startswith(expected)


# --- Vitals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"systolic": 300}, "systolic", "Systolic must be between 50 and 260."),
        ({"systolic": 40}, "systolic", "Systolic must be between 50 and 260."),
        ({"diastolic": 130, "systolic": 120}, "diastolic", "Diastolic must be lower than"),
        ({"heart_rate": 0}, "heart_rate", "Heart rate must be between 20 and 250."),
        ({"spo2": 101}, "spo2", "SpO2 must be between 50 and 100%."),
        ({"heart_rate": ""}, "heart_rate", "Enter the heart rate."),
        ({"systolic": "abc"}, "systolic", "Not a valid integer value."),
        ({"kind": "final"}, "kind", "A final check is taken after dosing"),
        ({"kind": "later"}, "kind", "Choose before dosing"),
    ],
)
def test_implausible_vitals_are_refused_beside_the_field(
    app, client, auth, session_id, changes, field, message
):
    """400, the message tied to the field, what was typed kept, nothing recorded."""
    auth.login("therapist@demo.test")
    values = {"kind": "pre_dose", **VITALS_OK, **changes}
    response = _post_form(client, f"/board/sessions/{session_id}/vitals", **values)
    assert response.status_code == 400
    error = re.search(rf'id="s{session_id}-vitals-{field}-error">([^<]*)<', response.text)
    if field == "kind":
        assert message in response.text
    else:
        assert error and message in error.group(1)
        assert f'value="{values[field]}"' in response.text  # kept
    assert f'id="s{session_id}-vitals-panel" data-key="session-{session_id}-vitals" open' in (
        response.text
    )
    assert _observations(app, session_id) == []


def test_vitals_are_recorded_and_out_of_range_values_flagged(app, client, auth, session_id):
    """A high systolic is saved and shown with a word and an icon, not colour alone."""
    _start(app, session_id, minutes_ago=3)
    auth.login("therapist2@demo.test")
    values = {**VITALS_OK, "systolic": 172, "spo2": 92, "note": "Restless, reassured"}
    response = _post_form(client, f"/board/sessions/{session_id}/vitals", kind="check", **values)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/board/#session-{session_id}")
    (saved,) = _observations(app, session_id)
    assert (saved.kind, saved.systolic, saved.spo2, saved.note) == (
        "check",
        172,
        92,
        "Restless, reassured",
    )
    page = client.get("/board/").text
    assert "Out of range" in page
    assert '<span class="vital vital--high">172 <span class="vital__flag">▲ High</span>' in page
    assert '<span class="vital vital--low">92% <span class="vital__flag">▼ Low</span>' in page
    assert '<span class="vital">78</span>' in page
    (event,) = _audit(app, "session.vitals")
    assert event.detail == "kind=check; out_of_range=systolic_high,spo2_low"
    assert "Restless" not in event.detail


def test_clinic_limits_override_the_defaults(app, client, auth, people, session_id):
    """A clinic that allows systolic up to 180 sees 172 unflagged."""
    with app.app_context():
        clinic = db.session.get(Clinic, people["admin@demo.test"].clinic_id)
        clinic.vitals_limits = {"systolic_max": 180, "bogus": 1, "spo2_min": "x"}
        db.session.commit()
        assert vitals.vitals_limits(clinic)["systolic_max"] == 180
        assert vitals.vitals_limits(clinic)["spo2_min"] == 94
    _observe(app, session_id, "pre_dose", 1, systolic=172, diastolic=80, heart_rate=70)
    auth.login("therapist@demo.test")
    page = client.get("/board/").text
    assert '<span class="vital">172</span>' in page
    assert "Out of range" not in page


def test_vitals_form_offers_the_likely_kind(app, client, auth, session_id):
    """Before dosing, before-dosing is preselected; after observation, the final check."""
    auth.login("therapist@demo.test")
    page = client.get("/board/").text
    assert f'checked id="s{session_id}-vitals-kind-0"' in page
    _start(app, session_id, minutes_ago=10)
    page = client.get("/board/").text
    assert f'checked id="s{session_id}-vitals-kind-3"' in page  # pre, post-dose, check, final


def test_posting_without_the_csrf_token_is_refused(app, client, auth, session_id):
    """Form posts need the CSRF token; nothing is recorded without it."""
    auth.login("therapist@demo.test")
    response = client.post(
        f"/board/sessions/{session_id}/vitals", data={"kind": "pre_dose", **VITALS_OK}
    )
    assert response.status_code == 400
    assert _observations(app, session_id) == []


# --- Monitoring checks ----------------------------------------------------------------------


def test_overdue_check_is_shown_and_a_logged_check_resets_the_clock(app, client, auth, session_id):
    """Dosed 20 minutes ago with no check: overdue. After a check: due 15 minutes later."""
    _start(app, session_id, minutes_ago=20)
    auth.login("therapist@demo.test")
    page = client.get("/board/").text
    assert "Check overdue" in page and "Overdue by 5 min" in page
    response = _post_form(client, f"/board/sessions/{session_id}/checks", note="Resting")
    assert response.status_code == 302
    (check,) = _observations(app, session_id)
    assert check.kind == "check" and check.note == "Resting" and check.systolic is None
    page = client.get("/board/").text
    assert "Check overdue" not in page
    assert "(in 15 min)" in page
    assert len(_audit(app, "session.check")) == 1


def test_a_check_before_dosing_is_refused(app, client, auth, session_id):
    """Before the session starts there is nothing to monitor yet: 409."""
    auth.login("therapist@demo.test")
    token = form_data(client.get("/board/").text, "/vitals")["csrf_token"]
    response = client.post(
        f"/board/sessions/{session_id}/checks", data={"csrf_token": token, "note": ""}
    )
    assert response.status_code == 409
    assert "record pre-dose vitals instead" in response.text
    assert _observations(app, session_id) == []


# --- Discharge ------------------------------------------------------------------------------


DRIVER = "Alex Jordan (partner)"


def _discharge(client, session_id: int, driver: str = DRIVER):
    """Discharge through the board's real forms: the row's form, then the confirmation page.

    Returns the refusal when the first step is refused, else the confirmation's answer.
    """
    action = f"/board/sessions/{session_id}/discharge"
    data = form_data(client.get("/board/").text, action)
    data["driver"] = driver
    checked = client.post(action, data=data)
    if checked.status_code != 200:
        return checked
    confirm = form_data(checked.text, action)
    confirm["seen_patient"] = "y"
    return client.post(action, data=confirm)


@pytest.mark.parametrize(
    "started_minutes_ago, observations, reasons",
    [
        (None, [], ["The session has not started", "Record a final vitals check"]),
        (2, [("final", 1)], ["Observation runs until"]),
        (10, [], ["Record a final vitals check"]),
        (10, [("check", 1)], ["Record a final vitals check"]),
        (10, [("final", 11)], ["Record a final vitals check"]),  # taken before dosing
        (2, [], ["Observation runs until", "Record a final vitals check"]),
    ],
)
def test_discharge_is_refused_until_observation_passed_and_final_vitals_recorded(
    app, client, auth, session_id, started_minutes_ago, observations, reasons
):
    """409 naming each missing condition, on the page beside the session; nothing changes."""
    if started_minutes_ago is not None:
        _start(app, session_id, minutes_ago=started_minutes_ago)
    for kind, minutes_ago in observations:
        _observe(app, session_id, kind, minutes_ago, systolic=120, diastolic=80, heart_rate=70)
    auth.login("therapist@demo.test")
    page = client.get("/board/").text
    assert f'disabled aria-describedby="s{session_id}-discharge-missing"' in page
    response = _discharge(client, session_id)
    assert response.status_code == 409
    refused = response.text.split('class="discharge__refused"', 1)[1].split("</div>", 1)[0]
    for reason in reasons:
        assert reason in refused
    assert len(re.findall("<li>", refused)) == len(reasons)
    assert _session(app, session_id).discharged_at is None


def test_discharge_after_observation_with_final_vitals(app, client, auth, people, session_id):
    """Observation over and a final check since dosing: discharged, moved to 'discharged today'."""
    _start(app, session_id, minutes_ago=6)
    auth.login("therapist2@demo.test")
    final = {"kind": "final", **VITALS_OK, **STATE_OK}
    response = _post_form(client, f"/board/sessions/{session_id}/vitals", **final)
    assert response.status_code == 302
    response = _discharge(client, session_id)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/board/#discharged")
    session = _session(app, session_id)
    assert session.discharged_at is not None
    assert session.discharged_by_id == people["therapist2@demo.test"].id
    page = client.get("/board/").text
    active, discharged = page.split('id="discharged"', 1)
    assert f'id="session-{session_id}"' not in active
    assert PATIENT_NAME in discharged and "by Dr. Sam Okafor" in discharged
    assert len(_audit(app, "session.discharge")) == 1


def test_a_discharged_session_is_closed(app, client, auth, session_id):
    """After discharge, further vitals and a second discharge are conflicts."""
    _start(app, session_id, minutes_ago=6)
    _observe(app, session_id, "final", 0.5, systolic=120, diastolic=80, heart_rate=70)
    auth.login("therapist@demo.test")
    assert _discharge(client, session_id).status_code == 302
    token = form_data(client.get("/board/").text, "signout")["csrf_token"]
    vitals = client.post(
        f"/board/sessions/{session_id}/vitals",
        data={"csrf_token": token, "kind": "check", **VITALS_OK},
    )
    assert vitals.status_code == 409 and "discharged" in vitals.text
    again = client.post(f"/board/sessions/{session_id}/discharge", data={"csrf_token": token})
    assert again.status_code == 409 and "Already discharged" in again.text


def test_discharge_rule_in_the_service(app, people, session_id):
    """The rule itself, with an explicit clock (kap/services/board/discharge_rules.py)."""
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        clinic = session.patient.clinic
        started = _now()
        session.session_started_at = started
        final = SessionObservation(
            kind="final",
            recorded_at=started + timedelta(minutes=1),
            systolic=120,
            diastolic=80,
            heart_rate=70,
        )
        at_four = started + timedelta(minutes=4)
        at_five = started + timedelta(minutes=5)
        assert discharge_rules.readiness(session, [final], clinic, at_four).blockers
        assert discharge_rules.readiness(session, [final], clinic, at_five).blockers == {}
        assert discharge_rules.readiness(session, [], clinic, at_five).blockers


# --- Call staff -----------------------------------------------------------------------------


def _call_staff(api_as, session_id: int) -> int:
    """The patient presses Call staff in session mode (through the API)."""
    response = api_as("patient@demo.test").post(
        f"/api/v1/sessions/{session_id}/call-staff", json={}
    )
    assert response.status_code == 201
    return response.json["alert"]["id"]


def test_call_staff_is_acknowledged_then_resolved_from_the_board(
    api_as, app, client, auth, people, session_id
):
    """Any clinic staff member acknowledges; it stays, acknowledged, until resolved with a note."""
    alert_id = _call_staff(api_as, session_id)
    auth.login("therapist2@demo.test")  # not in Pat's care team: the board still reaches them
    page = client.get("/board/").text
    call = page.split(f'id="call-{alert_id}"', 1)[1].split("</article>", 1)[0]
    assert "Room 2" in call and PATIENT_NAME in call and "Not yet acknowledged" in call
    assert "calls--active" in page

    response = _post_form(client, f"/board/alerts/{alert_id}/acknowledge")
    assert response.status_code == 302
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        assert alert.acknowledged_by_id == people["therapist2@demo.test"].id
        assert alert.resolved_at is None
    page = client.get("/board/").text
    call = page.split(f'id="call-{alert_id}"', 1)[1].split("</article>", 1)[0]
    assert "Acknowledged by Dr. Sam Okafor" in call
    assert "What was done" in call

    refused = _post_form(client, f"/board/alerts/{alert_id}/resolve", note="  ")
    assert refused.status_code == 400
    assert "Write a short note on what was done." in refused.text

    done = _post_form(client, f"/board/alerts/{alert_id}/resolve", note="Nausea; gave water")
    assert done.status_code == 302
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        assert alert.resolved_by_id == people["therapist2@demo.test"].id
        assert alert.resolution_note == "Nausea; gave water"
    assert f'id="call-{alert_id}"' not in client.get("/board/").text
    assert [e.subject_id for e in _audit(app, "alert.acknowledge")] == [alert_id]
    (resolved,) = _audit(app, "alert.resolve")
    assert "water" not in resolved.detail


def test_acknowledging_twice_keeps_the_first(api_as, app, client, auth, people, session_id):
    """A second acknowledgement changes nothing (two staff pressing at once)."""
    alert_id = _call_staff(api_as, session_id)
    auth.login("admin@demo.test")
    assert _post_form(client, f"/board/alerts/{alert_id}/acknowledge").status_code == 302
    token = form_data(client.get("/board/").text, "/resolve")["csrf_token"]
    again = client.post(f"/board/alerts/{alert_id}/acknowledge", data={"csrf_token": token})
    assert again.status_code == 302
    assert len(_audit(app, "alert.acknowledge")) == 1


def test_other_clinic_cannot_touch_the_call(api_as, app, client, auth, session_id):
    """Another clinic's staff neither see nor acknowledge the call: 404."""
    alert_id = _call_staff(api_as, session_id)
    auth.login("therapist@other.test")
    page = client.get("/board/")
    assert f'id="call-{alert_id}"' not in page.text
    token = form_data(page.text, "signout")["csrf_token"]
    for action in ("acknowledge", "resolve"):
        response = client.post(
            f"/board/alerts/{alert_id}/{action}", data={"csrf_token": token, "note": "x"}
        )
        assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Alert, alert_id).acknowledged_at is None


# --- The live partial -----------------------------------------------------------------------


def test_rows_partial_is_the_live_part_alone(api_as, app, client, auth, session_id):
    """/board/rows is a fragment (no page chrome) with the calls and rows, and is not audited."""
    alert_id = _call_staff(api_as, session_id)
    auth.login("therapist@demo.test")
    client.get("/board/")
    response = client.get("/board/rows")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    fragment = response.text
    assert "<html" not in fragment and "<nav" not in fragment
    assert fragment.lstrip().startswith('<section class="calls calls--active"')
    assert f'data-key="call-{alert_id}"' in fragment
    assert f'data-key="session-{session_id}"' in fragment
    assert len(_audit(app, "board.view")) == 1  # the page, not its refreshes


def test_board_page_works_without_javascript(client, auth, session_id):
    """A Refresh link, no meta refresh, no inline script, the script as a module."""
    auth.login("therapist@demo.test")
    page = client.get("/board/").text
    assert '<a class="button" href="/board/" data-board-refresh>Refresh</a>' in page
    assert 'http-equiv="refresh"' not in page
    scripts = re.findall(r"<script([^>]*)>", page)
    assert ' type="module" src="/static/js/pages/board.js"' in scripts
    assert all("src=" in attributes for attributes in scripts)  # nothing inline
    assert 'data-rows-url="/board/rows"' in page


# --- The printable summary ------------------------------------------------------------------


def test_summary_has_phases_vitals_checks_and_calls(api_as, app, client, auth, session_id):
    """The summary shows phase times, every reading (flagged), checks and calls; it is audited."""
    _start(app, session_id, minutes_ago=30)
    _observe(app, session_id, "pre_dose", 31, systolic=118, diastolic=76, heart_rate=64, spo2=99)
    _observe(app, session_id, "check", 15)
    _observe(app, session_id, "final", 1, systolic=165, diastolic=90, heart_rate=80)
    _call_staff(api_as, session_id)
    auth.login("admin@demo.test")
    response = client.get(f"/board/sessions/{session_id}/summary")
    assert response.status_code == 200
    page = response.text
    assert "Session summary: Pat Jordan" in page
    assert "Walkthrough (3 minutes)" in page and "Room 2" in page
    assert "Session mode started" in page and "Observation ended" in page
    assert page.count("<td>Before dosing</td>") == 1
    assert page.count("<td>Observation check</td>") == 1
    assert page.count("<td>Final check</td>") == 1
    assert '165 <span class="vital__flag">▲ High</span>' in page
    assert "Not acknowledged" in page
    assert "board.css" in page
    events = _audit(app, "session.summary.view")
    assert [e.subject_id for e in events] == [session_id]


def test_board_stylesheet_has_a_print_layout(app):
    """The summary prints cleanly: the stylesheet carries an @media print section."""
    from pathlib import Path

    css = (Path(app.static_folder) / "css" / "board.css").read_text()
    assert "@media print" in css


def test_summary_of_another_clinics_session_is_404(client, auth, session_id):
    """Clinic-scoped: 404 for other clinics (and for ids that do not exist)."""
    auth.login("therapist@other.test")
    assert client.get(f"/board/sessions/{session_id}/summary").status_code == 404
    assert client.get("/board/sessions/999999/summary").status_code == 404


def test_summary_lists_check_ins_for_the_care_team_and_admins(
    api_as, app, client, auth, session_id
):
    """Measures follow the care scope: the admin sees Pat's PHQ-9 history (an audited read)."""
    patient = api_as("patient@demo.test")
    answers = [1, 1, 1, 1, 1, 1, 1, 1, 0]
    created = patient.post("/api/v1/measures", json={"instrument": "phq9", "answers": answers})
    assert created.status_code == 201
    auth.login("admin@demo.test")
    page = client.get(f"/board/sessions/{session_id}/summary").text
    section = page.split('id="measures-heading"', 1)[1].split("</section>", 1)[0]
    assert "<td>PHQ-9</td><td>8</td><td>Mild</td>" in section
    assert len(_audit(app, "measures.read")) == 1


def test_summary_keeps_check_ins_from_staff_outside_the_care_team(app, client, auth, session_id):
    """therapist2 can file Pat's session, but does not see Pat's questionnaire answers."""
    auth.login("therapist2@demo.test")
    response = client.get(f"/board/sessions/{session_id}/summary")
    assert response.status_code == 200
    section = response.text.split('id="measures-heading"', 1)[1].split("</section>", 1)[0]
    assert "PHQ-9</td>" not in section
    assert "care team and clinic admins only" in section
    assert _audit(app, "measures.read") == []


def test_a_refused_form_for_a_session_off_the_board_still_says_why(app, client, auth, people):
    """Invalid vitals for a clinic session that is not on today's board: 400 with a message."""
    with app.app_context():
        past = db.session.scalar(
            select(TreatmentSession.id)
            .where(
                TreatmentSession.patient_id == people["patient@demo.test"].id,
                TreatmentSession.status == SessionStatus.COMPLETE,
            )
            .limit(1)
        )
    auth.login("therapist@demo.test")
    token = form_data(client.get("/board/").text, "signout")["csrf_token"]
    response = client.post(
        f"/board/sessions/{past}/vitals", data={"csrf_token": token, "kind": "check"}
    )
    assert response.status_code == 400
    assert "no longer on today&#39;s board" in response.text
    assert _observations(app, past) == []


def _late_session(app, people, *, checked_in: bool = False, dosed: bool = False) -> int:
    """A Walkthrough session for Robin at 22:00 New York on 10 June 2031, checked in at 22:05
    and/or dosed by staff at 22:10, the patient never pressing Start."""
    from kap.models import MedicationAdministration, SessionTemplate
    from kap.timezones import local_to_utc

    zone = "America/New_York"
    with app.app_context():
        template = db.session.scalar(
            select(SessionTemplate).where(SessionTemplate.name.like("Walkthrough%"))
        )
        at = local_to_utc(datetime(2031, 6, 10).date(), datetime(2031, 6, 10, 22).time(), zone)
        session = TreatmentSession(
            clinic_id=people["patient2@demo.test"].clinic_id,
            patient_id=people["patient2@demo.test"].id,
            template_version_id=template.current_version.id,
            scheduled_at=at,
        )
        db.session.add(session)
        db.session.flush()
        if checked_in:
            session.checked_in_at = at + timedelta(minutes=5)
            session.checked_in_by_id = people["therapist@demo.test"].id
        if dosed:
            db.session.add(
                MedicationAdministration(
                    session_id=session.id,
                    clinic_id=session.clinic_id,
                    medication="Ketamine",
                    route="iv",
                    dose=35,
                    unit="mg",
                    given_at=at + timedelta(minutes=10),
                    given_by_id=people["therapist@demo.test"].id,
                    recorded_at=at + timedelta(minutes=10),
                )
            )
        db.session.commit()
        return session.id


def _on_board_at(app, people, local_moment: datetime, session_id: int) -> bool:
    from freezegun import freeze_time

    from kap.services.board.today import board_for
    from kap.timezones import local_to_utc

    moment = local_to_utc(local_moment.date(), local_moment.time(), "America/New_York")
    with app.app_context(), freeze_time(moment):
        board = board_for(db.session.get(User, people["therapist@demo.test"].id))
        return session_id in {row.session.id for row in board.active + board.discharged}


@pytest.mark.parametrize("checked_in, dosed", [(False, True), (True, False)])
def test_a_session_dosed_or_checked_in_late_stays_past_local_midnight(
    app, people, checked_in, dosed
):
    """Dosed by staff (or checked in) at 22:00 without Start: still on the board at 00:30 and
    23:00 the next day, gone once the carry-over has passed."""
    session_id = _late_session(app, people, checked_in=checked_in, dosed=dosed)
    assert _on_board_at(app, people, datetime(2031, 6, 10, 23, 30), session_id)
    assert _on_board_at(app, people, datetime(2031, 6, 11, 0, 30), session_id)
    assert _on_board_at(app, people, datetime(2031, 6, 11, 21, 0), session_id)
    assert not _on_board_at(app, people, datetime(2031, 6, 12, 0, 30), session_id)


def test_a_late_session_never_checked_in_or_dosed_leaves_at_local_midnight(app, people):
    """Booked for 22:00 and nothing happened: off the board at 00:30 the next day."""
    session_id = _late_session(app, people)
    assert _on_board_at(app, people, datetime(2031, 6, 10, 23, 30), session_id)
    assert not _on_board_at(app, people, datetime(2031, 6, 11, 0, 30), session_id)
