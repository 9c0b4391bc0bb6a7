"""Scheduling courses, boosters, rescheduling and cancelling through the clinic admin pages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from kap.extensions import db
from kap.models import Course, SessionStatus, SessionTemplate, TreatmentSession
from kap.timezones import local_to_utc, to_local
from tests.formscrape import form_data
from tests.helpers import demo_template

NEW_YORK = "America/New_York"


def _next_monday() -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=(7 - today.weekday()) or 7)


def _person_url(people, email="patient2@demo.test") -> str:
    return f"/clinic/people/{people[email].id}"


def _schedule(client, people, email="patient2@demo.test", **fields):
    page = client.get(_person_url(people, email))
    data = form_data(page.text, "/courses")
    data.update(fields)
    return client.post(f"{_person_url(people, email)}/courses", data=data)


def _sessions(app, patient_id, **where):
    with app.app_context():
        query = select(TreatmentSession).where(TreatmentSession.patient_id == patient_id)
        for name, value in where.items():
            query = query.where(getattr(TreatmentSession, name) == value)
        return db.session.scalars(query.order_by(TreatmentSession.scheduled_at)).all()


def _template_id(app, name):
    with app.app_context():
        return demo_template(name).id


def test_admin_schedules_six_sessions_over_three_weeks(app, client, auth, people):
    """Six sessions on the chosen weekdays at the chosen local time, on the template's version."""
    auth.login("admin@demo.test")
    patient_id = people["patient2@demo.test"].id
    before = len(_sessions(app, patient_id))
    template_id = _template_id(app, "IV infusion (40 minutes of music)")
    response = _schedule(
        client,
        people,
        template_id=str(template_id),
        pattern="six_over_three_weeks",
        start_date=_next_monday().isoformat(),
        weekdays=["0", "3"],
        clock="15:30",  # the demo's sessions for this patient are at 10:00: no clash
        location_label="Room 4",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#sessions")
    assert len(_sessions(app, patient_id)) == before + 6
    with app.app_context():
        course = db.session.scalar(select(Course).order_by(Course.id.desc()).limit(1))
        sessions = list(course.sessions)
    assert len(sessions) == 6
    local = [to_local(s.scheduled_at, NEW_YORK) for s in sessions]
    assert {moment.time() for moment in local} == {time(15, 30)}
    assert {moment.weekday() for moment in local} == {0, 3}
    assert (local[-1].date() - local[0].date()).days < 21
    assert {s.location_label for s in sessions} == {"Room 4"}
    with app.app_context():
        template = db.session.get(SessionTemplate, template_id)
        assert {s.template_version_id for s in sessions} == {template.current_version.id}


def test_esketamine_course_from_checkbox_posts(app, client, auth, people):
    """Weekday checkboxes post one value each under one name; esketamine gives 12 sessions."""
    auth.login("admin@demo.test")
    page = client.get(_person_url(people))
    data = form_data(page.text, "/courses")
    for name in ("weekdays", "template_id", "pattern", "start_date", "clock"):
        data.pop(name, None)
    fields = [
        *list(data.items()),
        ("template_id", str(_template_id(app, "IV infusion (40 minutes of music)"))),
        ("pattern", "esketamine"),
        ("start_date", _next_monday().isoformat()),
        ("weekdays", "1"),
        ("weekdays", "4"),
        ("clock", "15:00"),  # clear of the patient's 10:00 demo sessions
    ]
    from werkzeug.datastructures import MultiDict

    response = client.post(f"{_person_url(people)}/courses", data=MultiDict(fields))
    assert response.status_code == 302
    with app.app_context():
        course = db.session.scalar(select(Course).order_by(Course.id.desc()).limit(1))
        assert course.pattern == "esketamine"
        assert len(course.sessions) == 12


def test_custom_course_takes_the_listed_dates(app, client, auth, people):
    """Custom dates become sessions at those local times, in order."""
    auth.login("admin@demo.test")
    monday = _next_monday()
    lines = f"{monday + timedelta(days=2)} 14:00\n{monday} 15:15\n"  # clear of 10:00 demo ones
    response = _schedule(client, people, pattern="custom", custom_dates=lines)
    assert response.status_code == 302
    with app.app_context():
        course = db.session.scalar(select(Course).order_by(Course.id.desc()).limit(1))
        local = [to_local(s.scheduled_at, NEW_YORK) for s in course.sessions]
        assert [(m.date(), m.time()) for m in local] == [
            (monday, time(15, 15)),
            (monday + timedelta(days=2), time(14, 0)),
        ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"weekdays": ["2"]}, "Choose exactly two weekdays."),
        ({"start_date": ""}, "Choose the first date."),
        ({"clock": ""}, "Choose the time of day."),
        ({"start_date": "2020-01-06"}, "cannot be scheduled in the past"),
        ({"pattern": "custom", "custom_dates": "next tuesday"}, "Line 1"),
        ({"template_id": "99999"}, "Not a valid choice"),
    ],
)
def test_bad_course_requests_explain_themselves(app, client, auth, people, fields, message):
    """Each mistake re-renders the page (400) with a message, and schedules nothing."""
    auth.login("admin@demo.test")
    patient_id = people["patient2@demo.test"].id
    before = len(_sessions(app, patient_id))
    base = {
        "pattern": "six_over_three_weeks",
        "start_date": _next_monday().isoformat(),
        "weekdays": ["0", "3"],
        "clock": "10:00",
    }
    response = _schedule(client, people, **{**base, **fields})
    assert response.status_code == 400
    assert message in response.text
    assert len(_sessions(app, patient_id)) == before


def test_reschedule_moves_a_session_in_local_time(app, client, auth, people):
    """A scheduled session moves to the new local date and time."""
    auth.login("admin@demo.test")
    session = _sessions(app, people["patient2@demo.test"].id)[0]
    page = client.get(_person_url(people))
    data = form_data(page.text, f"/sessions/{session.id}/reschedule")
    new_day = _next_monday() + timedelta(days=14)
    data.update(day=new_day.isoformat(), clock="16:45")
    response = client.post(f"/clinic/sessions/{session.id}/reschedule", data=data)
    assert response.status_code == 302
    with app.app_context():
        moved = db.session.get(TreatmentSession, session.id)
        assert moved.scheduled_at == local_to_utc(new_day, time(16, 45), NEW_YORK)


def test_cancelled_session_is_kept_with_its_reason_and_cannot_be_moved(app, client, auth, people):
    """Cancelling keeps the record; a cancelled session cannot be rescheduled."""
    auth.login("admin@demo.test")
    session = _sessions(app, people["patient2@demo.test"].id)[0]
    page = client.get(_person_url(people))
    data = form_data(page.text, f"/sessions/{session.id}/cancel")
    data["reason"] = "Patient unwell"
    assert client.post(f"/clinic/sessions/{session.id}/cancel", data=data).status_code == 302
    with app.app_context():
        cancelled = db.session.get(TreatmentSession, session.id)
        assert cancelled.status == SessionStatus.CANCELLED
        assert cancelled.cancel_reason == "Patient unwell"
        original = cancelled.scheduled_at
    token = form_data(page.text, f"/sessions/{session.id}/reschedule")["csrf_token"]
    follow = client.post(
        f"/clinic/sessions/{session.id}/reschedule",
        data={"csrf_token": token, "day": _next_monday().isoformat(), "clock": "10:00"},
        follow_redirects=True,
    )
    assert "can no longer be changed" in follow.text
    with app.app_context():
        assert db.session.get(TreatmentSession, session.id).scheduled_at == original


def test_booster_is_added_to_the_latest_course(app, client, auth, people):
    """A booster is a single extra session, marked as such, on the patient's latest course."""
    auth.login("admin@demo.test")
    page = client.get(_person_url(people))
    data = form_data(page.text, "/boosters")
    day = _next_monday() + timedelta(days=35)
    data.update({"booster-day": day.isoformat(), "booster-clock": "11:00"})
    assert client.post(f"{_person_url(people)}/boosters", data=data).status_code == 302
    boosters = _sessions(app, people["patient2@demo.test"].id, is_booster=True)
    assert len(boosters) == 1
    assert boosters[0].course_id is not None
    assert to_local(boosters[0].scheduled_at, NEW_YORK).date() == day


def test_admin_of_another_clinic_cannot_schedule_or_change_sessions(app, client, auth, people):
    """Other clinics' patients and sessions read as absent: 404, and nothing changes."""
    auth.login("admin@other.test")
    token = form_data(client.get("/clinic/people").text, "")["csrf_token"]
    session = _sessions(app, people["patient2@demo.test"].id)[0]
    assert client.get(_person_url(people)).status_code == 404
    assert (
        client.post(f"{_person_url(people)}/courses", data={"csrf_token": token}).status_code == 404
    )
    assert (
        client.post(f"/clinic/sessions/{session.id}/cancel", data={"csrf_token": token}).status_code
        == 404
    )
    assert _sessions(app, people["patient2@demo.test"].id)[0].status == SessionStatus.SCHEDULED


def test_patient_sees_their_next_and_later_sessions(client, auth, people):
    """The patient home shows today's Walkthrough session and later ones, in local time."""
    auth.login("patient@demo.test")
    html = client.get("/patient/").text
    next_card = html.split('aria-labelledby="next-heading"')[1].split("</section>")[0]
    assert "Walkthrough (3 minutes)" in next_card
    assert "Later sessions" in html
    assert "Past sessions" in html


def test_therapist_sees_the_course_of_their_patient_only(client, auth, people):
    """Therapists see their patients' sessions; another therapist's patient is 404."""
    auth.login("therapist@demo.test")
    page = client.get(f"/therapist/patients/{people['patient@demo.test'].id}")
    assert page.status_code == 200
    assert "Walkthrough (3 minutes)" in page.text
    assert client.get(f"/therapist/patients/{people['patient2@demo.test'].id}").status_code == 404


def _put_on_record(app, people, session_id: int, what: str) -> None:
    """Give the session a check-in, a pre-dose reading or a dose given by staff."""
    from kap.models import MedicationAdministration, SessionObservation

    therapist = people["therapist@demo.test"].id
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        moment = datetime.now(UTC)
        if what == "check_in":
            session.checked_in_at, session.checked_in_by_id = moment, therapist
        elif what == "reading":
            db.session.add(
                SessionObservation(
                    session_id=session.id,
                    clinic_id=session.clinic_id,
                    kind="pre_dose",
                    recorded_at=moment,
                    recorded_by_id=therapist,
                    systolic=172,
                    diastolic=104,
                )
            )
        else:
            db.session.add(
                MedicationAdministration(
                    session_id=session.id,
                    clinic_id=session.clinic_id,
                    medication="Ketamine",
                    route="iv",
                    dose=35,
                    unit="mg",
                    given_at=moment,
                    given_by_id=therapist,
                    recorded_at=moment,
                )
            )
        db.session.commit()


@pytest.mark.parametrize("what", ["check_in", "reading", "dose"])
def test_session_with_its_day_on_record_cannot_be_moved_or_cancelled(app, people, what):
    """A check-in, a reading or a dose ties the session to its day: reschedule and cancel are
    refused (409 session_on_record) and the session stays as it was."""
    from kap.models import User
    from kap.services.errors import Conflict
    from kap.services.sessions.scheduling import cancel_session, reschedule_session

    session = _sessions(app, people["patient2@demo.test"].id)[0]
    _put_on_record(app, people, session.id, what)
    with app.app_context():
        admin = db.session.get(User, people["admin@demo.test"].id)
        target = db.session.get(TreatmentSession, session.id)
        with pytest.raises(Conflict) as moved:
            reschedule_session(admin, target, _next_monday() + timedelta(days=21), time(9))
        assert moved.value.code == "session_on_record"
        with pytest.raises(Conflict) as cancelled:
            cancel_session(admin, target, "deferred")
        assert "book a new session" in cancelled.value.message
        db.session.rollback()
        kept = db.session.get(TreatmentSession, session.id)
        assert (kept.status, kept.scheduled_at) == (SessionStatus.SCHEDULED, session.scheduled_at)


def test_admin_sees_why_a_dosed_session_cannot_be_cancelled(app, client, auth, people):
    """The page offers no Change for a session with a dose on record and says why; a post
    from an older page gets 409 with the message beside that session, nothing cancelled."""
    auth.login("admin@demo.test")
    session = _sessions(app, people["patient2@demo.test"].id)[0]
    stale = client.get(_person_url(people))
    data = form_data(stale.text, f"/sessions/{session.id}/cancel")
    _put_on_record(app, people, session.id, "dose")
    page = client.get(_person_url(people))
    assert f"/sessions/{session.id}/cancel" not in page.text
    assert f'id="session-{session.id}-on-record"' in page.text
    response = client.post(f"/clinic/sessions/{session.id}/cancel", data=data)
    assert response.status_code == 409
    assert re.search(
        rf'id="session-{session.id}-refused"[^>]*>This session has a check-in, readings or a dose',
        response.text,
    )
    move = form_data(stale.text, f"/sessions/{session.id}/reschedule")
    moved = client.post(f"/clinic/sessions/{session.id}/reschedule", data=move)
    assert moved.status_code == 409
    assert f'id="session-{session.id}-refused"' in moved.text
    with app.app_context():
        kept = db.session.get(TreatmentSession, session.id)
        assert (kept.status, kept.scheduled_at) == (SessionStatus.SCHEDULED, session.scheduled_at)
