"""Booking clashes: a patient is never booked twice at once; a room only on purpose."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from kap.extensions import db
from kap.models import AuditEvent, SessionTemplate, TreatmentSession, User
from kap.services.sessions.booking_conflicts import BookingClash, expected_minutes
from kap.services.sessions.scheduling import (
    add_booster,
    cancel_session,
    reschedule_session,
    schedule_course,
)
from kap.timezones import to_local
from tests.formscrape import form_data
from tests.helpers import demo_template

IV = "IV infusion (40 minutes of music)"
WALKTHROUGH = "Walkthrough (3 minutes)"
ESKETAMINE_PREFIX = "Esketamine"
NEW_YORK = "America/New_York"
TUESDAY = date(2031, 3, 4)  # far from the demo's sessions, which sit around today


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _template(name: str) -> SessionTemplate:
    return demo_template(name)


@pytest.fixture
def admin(ctx, people) -> User:
    return _user("admin@demo.test")


@pytest.fixture
def robin(ctx, people) -> User:
    """patient2@demo.test."""
    return _user("patient2@demo.test")


@pytest.fixture
def pat(ctx, people) -> User:
    """patient@demo.test."""
    return _user("patient@demo.test")


def _booster(admin, patient, at: time, room: str = "", day: date = TUESDAY, **options):
    return add_booster(admin, patient.id, _template(IV).id, day, at, room, **options)


def _sessions_of(patient) -> int:
    return db.session.scalar(select(func.count()).where(TreatmentSession.patient_id == patient.id))


# --- the rule (services) ----------------------------------------------------------------------


def test_expected_length_is_music_and_downtime_or_observation_and_at_least_an_hour(ctx, people):
    """IV: playlist + downtime; esketamine: its two-hour observation; Walkthrough: an hour."""
    iv = _template(IV).current_version
    assert expected_minutes(iv) >= 40 + iv.downtime_minutes
    esketamine = db.session.scalar(
        select(SessionTemplate).where(SessionTemplate.name.startswith(ESKETAMINE_PREFIX))
    ).current_version
    assert expected_minutes(esketamine) >= 120
    assert expected_minutes(_template(WALKTHROUGH).current_version) == 60


def test_patient_cannot_be_booked_twice_at_once_even_when_booking_anyway(admin, robin):
    """An overlapping session of the same patient is refused, in another room, with any tick."""
    _booster(admin, robin, time(10, 0), "Room 1")
    before = _sessions_of(robin)
    for anyway in (False, True):
        with pytest.raises(BookingClash) as clash:
            _booster(admin, robin, time(10, 30), "Room 3", book_anyway=anyway)
        assert not clash.value.room_only
        assert clash.value.fields["day"] == [
            f"{robin.name} already has a session on Tuesday 4 March at 10:00 "
            f"(Room 1, {IV}). Choose another time."
        ]
    assert _sessions_of(robin) == before


def test_rescheduling_onto_another_session_of_the_patient_is_refused(admin, robin):
    """Moving a session over another of the same patient fails; the session stays put."""
    _booster(admin, robin, time(10, 0), "Room 1")
    other = _booster(admin, robin, time(10, 0), "Room 1", day=TUESDAY + timedelta(days=1))
    original = other.scheduled_at
    with pytest.raises(BookingClash) as clash:
        reschedule_session(admin, other, TUESDAY, time(11, 0))
    assert "already has a session on Tuesday 4 March at 10:00" in clash.value.fields["day"][0]
    db.session.rollback()
    assert db.session.get(TreatmentSession, other.id).scheduled_at == original
    reschedule_session(admin, other, TUESDAY + timedelta(days=1), time(10, 30))  # itself: fine


def test_a_course_whose_own_dates_overlap_is_refused(admin, robin):
    """Two custom dates an hour apart overlap each other (an IV session lasts longer)."""
    before = _sessions_of(robin)
    with pytest.raises(BookingClash) as clash:
        schedule_course(
            admin,
            robin.id,
            _template(IV).id,
            "custom",
            custom_times="2031-03-04 10:00\n2031-03-04 11:00\n2031-03-06 10:00",
        )
    assert (
        "Two of these sessions overlap: Tuesday 4 March at 10:00 and Tuesday 4 March at "
        in (clash.value.fields["custom_dates"][0])
    )
    assert _sessions_of(robin) == before


def test_room_clash_is_refused_then_booked_anyway_and_audited_so(admin, robin, pat):
    """Same room (any case, any spaces), another patient: refused, unless booked anyway."""
    _booster(admin, robin, time(10, 0), "Room 1")
    with pytest.raises(BookingClash) as clash:
        _booster(admin, pat, time(10, 30), "  room   1 ")
    assert clash.value.room_only
    assert list(clash.value.fields) == ["location_label"]
    message = clash.value.fields["location_label"][0]
    assert message.startswith(f"Room 1 is booked for {robin.name} on Tuesday 4 March at 10:00")
    db.session.rollback()
    session = _booster(admin, pat, time(10, 30), "  room   1 ", book_anyway=True)
    row = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert (row.action, row.subject_id, row.patient_id) == ("session.booster", session.id, pat.id)
    assert "room_double_booked=yes" in row.detail


def test_other_rooms_no_room_and_touching_times_do_not_clash(admin, robin, pat):
    """Different rooms, unlabelled sessions, and a session starting as another ends: fine."""
    first = _booster(admin, robin, time(10, 0), "Room 1")
    _booster(admin, pat, time(10, 0), "Room 2")
    _booster(admin, pat, time(10, 0), "", day=TUESDAY + timedelta(days=2))
    _booster(admin, robin, time(10, 0), "", day=TUESDAY + timedelta(days=2))
    minutes = expected_minutes(first.template_version)
    end = to_local(first.scheduled_at + timedelta(minutes=minutes), NEW_YORK)
    _booster(admin, pat, end.time(), "Room 1", day=end.date())
    with pytest.raises(BookingClash):
        _booster(admin, pat, (end - timedelta(minutes=1)).time(), "Room 1", day=end.date())


def test_rescheduling_into_a_busy_room_needs_book_anyway(admin, robin, pat):
    """A move into a booked room is refused beside the tick, then done with it, and audited."""
    _booster(admin, robin, time(10, 0), "Room 1")
    moving = _booster(admin, pat, time(10, 0), "Room 1", day=TUESDAY + timedelta(days=1))
    with pytest.raises(BookingClash) as clash:
        reschedule_session(admin, moving, TUESDAY, time(10, 30))
    assert clash.value.room_only and list(clash.value.fields) == ["book_anyway"]
    db.session.rollback()
    reschedule_session(admin, moving, TUESDAY, time(10, 30), book_anyway=True)
    row = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert row.action == "session.reschedule"
    assert row.detail == "from=2031-03-05 10:00; to=2031-03-04 10:30; room_double_booked=yes"


def test_cancelled_sessions_do_not_block(admin, robin, pat):
    """Cancelling a session frees its patient and its room."""
    session = _booster(admin, robin, time(10, 0), "Room 1")
    cancel_session(admin, session, "Moved elsewhere")
    _booster(admin, robin, time(10, 0), "Room 3")
    _booster(admin, pat, time(10, 0), "Room 1")


def test_clashes_are_found_across_a_daylight_saving_change(admin, robin, pat):
    """10:00 is 10:00 on both sides of the autumn change: the post-change Thursday clashes."""
    thursday = date(2030, 11, 7)  # New York leaves daylight time on Sunday 3 November 2030
    _booster(admin, robin, time(10, 0), "Room 5", day=thursday)
    october = datetime(2030, 10, 1, tzinfo=UTC)
    monday = date(2030, 10, 28)
    course = {"start_date": monday, "weekdays": [0, 3], "clock": time(10, 0), "now": october}
    with pytest.raises(BookingClash) as own:
        schedule_course(admin, robin.id, _template(IV).id, "six_over_three_weeks", **course)
    assert "Thursday 7 November at 10:00" in own.value.fields["start_date"][0]
    db.session.rollback()
    with pytest.raises(BookingClash) as room:
        schedule_course(
            admin,
            pat.id,
            _template(IV).id,
            "six_over_three_weeks",
            location_label="Room 5",
            **course,
        )
    assert "Room 5 is booked for" in room.value.fields["location_label"][0]
    assert "Thursday 7 November at 10:00" in room.value.fields["location_label"][0]
    db.session.rollback()
    # The same course at 13:00 clears the Thursday session on both sides of the change.
    made = schedule_course(
        admin,
        pat.id,
        _template(IV).id,
        "six_over_three_weeks",
        location_label="Room 5",
        **{**course, "clock": time(13, 0)},
    )
    assert len(made.sessions) == 6


# --- the pages ---------------------------------------------------------------------------------


def _demo_clash_target(app) -> tuple[int, str, str]:
    """Robin's first demo session (tomorrow, 10:00, Room 1): its id, local day and room."""
    with app.app_context():
        robin = _user("patient2@demo.test")
        session = db.session.scalar(
            select(TreatmentSession)
            .where(TreatmentSession.patient_id == robin.id)
            .order_by(TreatmentSession.scheduled_at)
            .limit(1)
        )
        return session.id, to_local(session.scheduled_at, NEW_YORK).date().isoformat(), "Room 1"


def test_patient_clash_shows_beside_the_date_and_keeps_what_was_typed(app, client, auth, people):
    """A booster over the patient's own session: 409, message by the date, fields kept."""
    auth.login("admin@demo.test")
    robin = people["patient2@demo.test"]
    _, day, _ = _demo_clash_target(app)
    page = client.get(f"/clinic/people/{robin.id}").text
    data = form_data(page, "/boosters")
    data.update({"booster-day": day, "booster-clock": "10:30", "booster-location_label": "Room 9"})
    response = client.post(f"/clinic/people/{robin.id}/boosters", data=data)
    assert response.status_code == 409
    html = response.text
    error = html.split('id="booster-day-error"')[1].split("</p>")[0]
    assert "already has a session on" in error and "at 10:00 (Room 1," in error
    assert 'value="10:30"' in html and 'value="Room 9"' in html
    assert "Book anyway" not in html  # a patient clash cannot be overridden


def test_room_clash_offers_book_anyway_only_after_it_was_reported(app, client, auth, people):
    """No tick at first; a room clash shows it beside the room; ticking it books and audits."""
    auth.login("admin@demo.test")
    pat = people["patient@demo.test"]
    _, day, room = _demo_clash_target(app)
    page = client.get(f"/clinic/people/{pat.id}").text
    assert "Book anyway" not in page
    data = form_data(page, "/boosters")
    data.update({"booster-day": day, "booster-clock": "11:00", "booster-location_label": room})
    refused = client.post(f"/clinic/people/{pat.id}/boosters", data=data)
    assert refused.status_code == 409
    error = refused.text.split('id="booster-location_label-error"')[1].split("</p>")[0]
    assert f"{room} is booked for Robin Lee on" in error
    assert "Book anyway (double-book Room 1 on purpose)" in refused.text
    again = form_data(refused.text, "/boosters")
    assert again["booster-clock"] == "11:00" and again["booster-location_label"] == room
    assert "booster-book_anyway" not in again  # offered, not ticked for them
    again["booster-book_anyway"] = "y"
    booked = client.post(f"/clinic/people/{pat.id}/boosters", data=again)
    assert booked.status_code == 302
    with app.app_context():
        row = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
        assert row.action == "session.booster" and "room_double_booked=yes" in row.detail


def test_course_with_overlapping_custom_dates_keeps_the_dates_typed(app, client, auth, people):
    """The custom-dates box shows the clash beside it, with every line still there."""
    auth.login("admin@demo.test")
    robin = people["patient2@demo.test"]
    data = form_data(client.get(f"/clinic/people/{robin.id}").text, "/courses")
    lines = "2031-03-04 10:00\n2031-03-04 10:45"
    data.update(pattern="custom", custom_dates=lines)
    response = client.post(f"/clinic/people/{robin.id}/courses", data=data)
    assert response.status_code == 409
    error = response.text.split('id="custom_dates-error"')[1].split("</p>")[0]
    assert "Two of these sessions overlap" in error
    assert form_data(response.text, "/courses")["custom_dates"].split() == lines.split()


def test_reschedule_clash_reopens_the_form_with_the_message(app, client, auth, people):
    """Moving a session onto another of the patient's re-opens its form, values kept."""
    auth.login("admin@demo.test")
    robin = people["patient2@demo.test"]
    first_id, day, _ = _demo_clash_target(app)
    with app.app_context():
        later = db.session.scalars(
            select(TreatmentSession.id)
            .where(TreatmentSession.patient_id == robin.id, TreatmentSession.id != first_id)
            .order_by(TreatmentSession.scheduled_at)
        ).first()
        original = db.session.get(TreatmentSession, later).scheduled_at
    page = client.get(f"/clinic/people/{robin.id}").text
    data = form_data(page, f"/sessions/{later}/reschedule")
    data.update(day=day, clock="10:15")
    response = client.post(f"/clinic/sessions/{later}/reschedule", data=data)
    assert response.status_code == 409
    form = response.text.split(f"/sessions/{later}/reschedule")[1].split("</form>")[0]
    assert "already has a session on" in form.split(f'id="day-{later}-error"')[1]
    assert f'value="{day}"' in form and 'value="10:15"' in form
    assert '<details class="session-actions" open>' in response.text
    with app.app_context():
        assert db.session.get(TreatmentSession, later).scheduled_at == original


def test_reschedule_into_a_busy_room_offers_the_tick_in_that_form(app, client, auth, people):
    """A move into another patient's room slot shows the tick beside it; ticked, it moves."""
    auth.login("admin@demo.test")
    pat = people["patient@demo.test"]
    with app.app_context():
        admin, robin = _user("admin@demo.test"), _user("patient2@demo.test")
        day = to_local(datetime.now(UTC), NEW_YORK).date() + timedelta(days=10)
        add_booster(admin, robin.id, _template(IV).id, day, time(10, 0), "Room 2")
        moving = db.session.scalars(
            select(TreatmentSession.id)
            .where(TreatmentSession.patient_id == pat.id, TreatmentSession.is_booster.is_(False))
            .order_by(TreatmentSession.scheduled_at.desc())
        ).first()  # the demo's session a week ahead, in Room 2
    page = client.get(f"/clinic/people/{pat.id}").text
    assert "Book anyway" not in page
    data = form_data(page, f"/sessions/{moving}/reschedule")
    data.update(day=day.isoformat(), clock="10:30")
    refused = client.post(f"/clinic/sessions/{moving}/reschedule", data=data)
    assert refused.status_code == 409
    form = refused.text.split(f"/sessions/{moving}/reschedule")[1].split("</form>")[0]
    assert "Room 2 is booked for Robin Lee" in form
    assert "Book anyway (double-book Room 2 on purpose)" in form
    again = form_data(refused.text, f"/sessions/{moving}/reschedule")
    assert (again["day"], again["clock"]) == (day.isoformat(), "10:30")
    again["book_anyway"] = "y"
    assert client.post(f"/clinic/sessions/{moving}/reschedule", data=again).status_code == 302
    with app.app_context():
        moved = db.session.get(TreatmentSession, moving)
        assert to_local(moved.scheduled_at, NEW_YORK).time() == time(10, 30)
