"""Session day: the start window, staff check-in and day-of items (services, API and pages).

The demo patient has the Walkthrough today (no check-in) and IV sessions 4 and 7 days ahead
at 10:00 in Demo Clinic's zone (America/New_York), whose template asks for staff check-in.
Services take ``now=``, so each rule is tested at its edges without freezing the clock.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from kap.extensions import db
from kap.models import AuditEvent, SessionStatus, TreatmentSession, User
from kap.models.base import utcnow
from kap.services.errors import Conflict
from kap.services.sessions import flow as session_flow
from kap.services.sessions.start_window import day_of_opens_at, window_for
from tests.formscrape import form_data
from tests.helpers import user_by_email


def _scheduled(patient: User) -> list[TreatmentSession]:
    """The patient's scheduled sessions, soonest first: [Walkthrough, in 4 days, in 7 days]."""
    return list(
        db.session.scalars(
            select(TreatmentSession)
            .where(
                TreatmentSession.patient_id == patient.id,
                TreatmentSession.status == SessionStatus.SCHEDULED,
            )
            .order_by(TreatmentSession.scheduled_at)
        )
    )


def _tick_required(patient: User, session: TreatmentSession, now) -> None:
    for item in session.template_version.checklist_items:
        if item.required:
            session_flow.set_item_checked(patient, session.id, item.id, True, now=now)


def _check_in(session: TreatmentSession, at) -> None:
    """What the board's check-in action records (built elsewhere; this file only reads it)."""
    session.checked_in_at = at
    session.checked_in_by_id = user_by_email("therapist@demo.test").id
    db.session.commit()


def _audit_count(action: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


NEW_YORK = ZoneInfo("America/New_York")  # Demo Clinic's zone


def _day(moment) -> str:
    """'Thursday 10 December' in Demo Clinic's zone."""
    return moment.astimezone(NEW_YORK).strftime("%A %-d %B")


# --- services: the start ---------------------------------------------------------------------


def test_patient_cannot_start_next_weeks_session_whatever_else_is_missing(ctx, people):
    """Next week, unticked and not checked in: the answer is not_today, saying when it opens."""
    patient = user_by_email("patient@demo.test")
    next_week = _scheduled(patient)[2]
    before = _audit_count("session.phase")
    with pytest.raises(Conflict) as refused:
        session_flow.advance_phase(patient, next_week.id, "session")
    assert refused.value.code == "not_today"
    assert refused.value.message == (
        f"This session can start from 08:00 on {_day(next_week.scheduled_at)}."
    )
    db.session.refresh(next_week)
    assert next_week.status == "scheduled" and next_week.session_started_at is None
    assert _audit_count("session.phase") == before


def test_session_cannot_start_after_its_day(ctx, people):
    """The day after, the session cannot start any more, and the patient is told whom to ask."""
    patient = user_by_email("patient@demo.test")
    session = _scheduled(patient)[1]
    _check_in(session, session.scheduled_at)
    _tick_required(patient, session, session.scheduled_at)
    the_day_after = window_for(session).closes_at + timedelta(hours=13)
    with pytest.raises(Conflict) as refused:
        session_flow.advance_phase(patient, session.id, "session", now=the_day_after)
    assert refused.value.code == "not_today"
    assert f"booked for {_day(session.scheduled_at)}" in refused.value.message
    assert "Please contact the clinic." in refused.value.message


def test_check_in_comes_before_unticked_items_and_then_unlocks_the_start(ctx, people):
    """On the day: check_in_required first; once staff check in, the items; then it starts."""
    patient = user_by_email("patient@demo.test")
    session = _scheduled(patient)[1]
    assert session.template_version.requires_check_in
    on_the_day = session.scheduled_at - timedelta(minutes=30)
    with pytest.raises(Conflict) as refused:
        session_flow.advance_phase(patient, session.id, "session", now=on_the_day)
    assert refused.value.code == "check_in_required"
    assert refused.value.message.startswith("Staff check you in first")
    _check_in(session, on_the_day)
    with pytest.raises(Conflict) as unticked:
        session_flow.advance_phase(patient, session.id, "session", now=on_the_day)
    assert unticked.value.code == "conflict"
    assert "required preparation" in unticked.value.message
    _tick_required(patient, session, on_the_day)
    _, changed = session_flow.advance_phase(patient, session.id, "session", now=on_the_day)
    assert changed and session.status == "session"
    assert session.session_started_at == on_the_day


def test_device_time_inside_the_window_cannot_start_a_session_days_later(ctx, people):
    """An outbox replayed three days late, claiming the session's day, is refused."""
    patient = user_by_email("patient@demo.test")
    session = _scheduled(patient)[1]
    _check_in(session, session.scheduled_at)
    _tick_required(patient, session, session.scheduled_at)
    with pytest.raises(Conflict) as refused:
        session_flow.advance_phase(
            patient,
            session.id,
            "session",
            at=session.scheduled_at,
            now=session.scheduled_at + timedelta(days=3),
        )
    assert refused.value.code == "not_today"
    assert session.status == "scheduled"


def test_device_clock_set_to_next_week_cannot_start_next_weeks_session(ctx, people):
    """Today, a phone claiming it is next week's booked time starts nothing."""
    patient = user_by_email("patient@demo.test")
    session = _scheduled(patient)[2]
    with pytest.raises(Conflict) as refused:
        session_flow.advance_phase(patient, session.id, "session", at=session.scheduled_at)
    assert refused.value.code == "not_today"


def test_start_made_offline_before_midnight_and_synced_after_counts(ctx, people):
    """Started at 23:55 with no signal, synced at 00:05: started, at the device's time."""
    patient = user_by_email("patient@demo.test")
    session = _scheduled(patient)[1]
    _check_in(session, session.scheduled_at)
    _tick_required(patient, session, session.scheduled_at)
    closes = window_for(session).closes_at
    made = closes - timedelta(minutes=5)
    _, changed = session_flow.advance_phase(
        patient, session.id, "session", at=made, now=closes + timedelta(minutes=5)
    )
    assert changed and session.session_started_at == made


def _last_phase_detail() -> str:
    return db.session.scalar(
        select(AuditEvent.detail)
        .where(AuditEvent.action == "session.phase")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def test_start_from_a_phone_behind_the_check_in_is_not_recorded_before_it(ctx, people):
    """A late offline Start claiming 20 minutes before the check-in: the server's time counts,
    never a start before the check-in, and the audit row says the device time was ignored."""
    patient = user_by_email("patient@demo.test")
    session = _scheduled(patient)[1]
    checked_in = session.scheduled_at - timedelta(minutes=30)
    _check_in(session, checked_in)
    _tick_required(patient, session, checked_in)
    claimed = checked_in - timedelta(minutes=20)  # inside the start window, before check-in
    synced = session.scheduled_at - timedelta(minutes=10)
    session_flow.advance_phase(patient, session.id, "session", at=claimed, now=synced)
    assert session.session_started_at == synced
    assert session.session_started_at >= session.checked_in_at
    detail = _last_phase_detail()
    assert "phase=session device_time=ignored reason=before_check_in" in detail
    assert f"device_at={claimed.isoformat(timespec='seconds')}" in detail


def test_start_behind_the_check_in_synced_after_midnight_is_the_check_in_time(ctx, people):
    """Synced after the window closed (within the grace), the start is not refused: it is
    recorded at the check-in, the earliest it can have been."""
    patient = user_by_email("patient@demo.test")
    session = _scheduled(patient)[1]
    closes = window_for(session).closes_at
    checked_in = closes - timedelta(minutes=10)
    _check_in(session, checked_in)
    _tick_required(patient, session, checked_in)
    session_flow.advance_phase(
        patient,
        session.id,
        "session",
        at=checked_in - timedelta(minutes=15),
        now=closes + timedelta(minutes=20),
    )
    assert session.session_started_at == checked_in
    assert "reason=before_check_in" in _last_phase_detail()


def test_start_after_the_check_in_keeps_the_device_time(ctx, people):
    """A Start made offline after the check-in and synced later keeps the phone's time."""
    patient = user_by_email("patient@demo.test")
    session = _scheduled(patient)[1]
    checked_in = session.scheduled_at - timedelta(minutes=30)
    _check_in(session, checked_in)
    _tick_required(patient, session, checked_in)
    made = checked_in + timedelta(minutes=5)
    session_flow.advance_phase(
        patient, session.id, "session", at=made, now=made + timedelta(hours=2)
    )
    assert session.session_started_at == made
    assert _last_phase_detail() == "phase=session"


def test_a_retried_start_after_the_window_changes_nothing(ctx, people):
    """Re-sending 'session' once started is harmless, even after the day is over."""
    patient = user_by_email("patient@demo.test")
    walkthrough = _scheduled(patient)[0]
    _tick_required(patient, walkthrough, None)
    session_flow.advance_phase(patient, walkthrough.id, "session")
    _, changed = session_flow.advance_phase(
        patient, walkthrough.id, "session", now=utcnow() + timedelta(days=2)
    )
    assert not changed and walkthrough.status == "session"


# --- services: day-of items ------------------------------------------------------------------


def _day_of_item(session):
    return next(item for item in session.template_version.checklist_items if item.day_of)


def _other_item(session):
    return next(item for item in session.template_version.checklist_items if not item.day_of)


def test_day_of_item_cannot_be_ticked_before_the_day_before(ctx, people):
    """A week ahead, fasting cannot be ticked: too_early, naming the day it opens."""
    patient = user_by_email("patient@demo.test")
    session = _scheduled(patient)[2]
    item = _day_of_item(session)
    opens = day_of_opens_at(session)
    with pytest.raises(Conflict) as refused:
        session_flow.set_item_checked(
            patient, session.id, item.id, True, now=opens - timedelta(seconds=1)
        )
    assert refused.value.code == "too_early"
    assert refused.value.message == f"You can tick this from {_day(opens)}."
    assert session.ticks == []


def test_day_of_item_can_be_ticked_from_midnight_the_day_before_and_always_unticked(ctx, people):
    """From 00:00 the day before it ticks; unticking is allowed whenever."""
    patient = user_by_email("patient@demo.test")
    session = _scheduled(patient)[2]
    item = _day_of_item(session)
    opens = day_of_opens_at(session)
    assert session_flow.set_item_checked(patient, session.id, item.id, True, now=opens)
    assert [tick.item_id for tick in session.ticks] == [item.id]
    untick_early = opens - timedelta(days=3)
    assert not session_flow.set_item_checked(patient, session.id, item.id, False, now=untick_early)
    assert session.ticks == []


def test_other_items_can_be_ticked_any_time(ctx, people):
    """Eye mask and headphones are not about the day: tickable a week ahead."""
    patient = user_by_email("patient@demo.test")
    session = _scheduled(patient)[2]
    item = _other_item(session)
    assert session_flow.set_item_checked(patient, session.id, item.id, True)


def test_whole_checklist_save_keeps_the_rest_and_names_what_waits(ctx, people):
    """One save a week ahead: other items saved, day-of items named and left unticked."""
    patient = user_by_email("patient@demo.test")
    session = _scheduled(patient)[2]
    items = session.template_version.checklist_items
    saved = session_flow.set_checklist(patient, session.id, {item.id for item in items})
    day_of = [item for item in items if item.day_of]
    assert saved.not_yet == day_of
    assert saved.message.startswith("Not ticked yet: " + "; ".join(i.text for i in day_of))
    assert saved.message.endswith(f"You can tick these from {_day(day_of_opens_at(session))}.")
    ticked = {tick.item_id for tick in session.ticks}
    assert ticked == {item.id for item in items if not item.day_of}


def test_whole_checklist_save_audits_only_real_changes(ctx, people):
    """Saving the same ticks again writes no audit row; one change writes one."""
    patient = user_by_email("patient@demo.test")
    walkthrough = _scheduled(patient)[0]
    items = walkthrough.template_version.checklist_items
    before = _audit_count("checklist.update")
    session_flow.set_checklist(patient, walkthrough.id, {items[0].id, items[1].id})
    assert _audit_count("checklist.update") == before + 2
    session_flow.set_checklist(patient, walkthrough.id, {items[0].id, items[1].id})
    assert _audit_count("checklist.update") == before + 2
    session_flow.set_checklist(patient, walkthrough.id, {items[0].id})
    assert _audit_count("checklist.update") == before + 3
    assert {tick.item_id for tick in walkthrough.ticks} == {items[0].id}


# --- API -----------------------------------------------------------------------------------


def _ids(app) -> dict[str, int]:
    with app.app_context():
        walkthrough, soon, next_week = _scheduled(user_by_email("patient@demo.test"))
        return {
            "walkthrough": walkthrough.id,
            "soon": soon.id,
            "next_week": next_week.id,
            "day_of_item": _day_of_item(next_week).id,
        }


def test_api_start_outside_the_window_is_409_not_today(api_as, app, people):
    """POST phase for next week's session: 409 in the error format, code not_today."""
    api = api_as("patient@demo.test")
    session_id = _ids(app)["next_week"]
    answer = api.post(f"/api/v1/sessions/{session_id}/phase", json={"phase": "session"})
    assert answer.status_code == 409
    error = answer.json["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] == "not_today"
    assert error["message"].startswith("This session can start from 08:00 on ")
    assert api.get(f"/api/v1/sessions/{session_id}").json["status"] == "scheduled"


def test_api_start_with_a_device_time_from_next_week_is_409_not_today(api_as, app, people):
    """The phone's clock cannot open next week's session today."""
    api = api_as("patient@demo.test")
    session_id = _ids(app)["next_week"]
    booked = api.get(f"/api/v1/sessions/{session_id}").json["scheduled_at"]
    answer = api.post(
        f"/api/v1/sessions/{session_id}/phase",
        json={"phase": "session", "at": booked},
    )
    assert (answer.status_code, answer.json["error"]["code"]) == (409, "not_today")


def test_api_start_before_check_in_is_409_check_in_required(api_as, app, people):
    """A session booked this hour whose template asks for check-in: 409 check_in_required."""
    ids = _ids(app)
    with app.app_context():
        walkthrough = db.session.get(TreatmentSession, ids["walkthrough"])
        soon = db.session.get(TreatmentSession, ids["soon"])
        soon.scheduled_at = walkthrough.scheduled_at  # moved to today, inside its window
        db.session.commit()
    api = api_as("patient@demo.test")
    answer = api.post(f"/api/v1/sessions/{ids['soon']}/phase", json={"phase": "session"})
    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "check_in_required"
    assert "front desk" in answer.json["error"]["message"]


def test_api_ticking_a_day_of_item_too_early_is_409_too_early(api_as, app, people):
    """PUT checked true a week ahead: 409 too_early naming the day; unticking answers 200."""
    api = api_as("patient@demo.test")
    ids = _ids(app)
    url = f"/api/v1/sessions/{ids['next_week']}/checklist/{ids['day_of_item']}"
    refused = api.put(url, json={"checked": True})
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "too_early"
    assert refused.json["error"]["message"].startswith("You can tick this from ")
    unticked = api.put(url, json={"checked": False})
    assert unticked.status_code == 200 and unticked.json["item"]["checked"] is False


def test_api_detail_carries_the_start_window_check_in_and_day_of_items(api_as, app, people):
    """GET a session: start_window (UTC), requires_check_in, checked_in_at, tickable_from."""
    api = api_as("patient@demo.test")
    ids = _ids(app)
    detail = api.get(f"/api/v1/sessions/{ids['next_week']}").json
    with app.app_context():
        session = db.session.get(TreatmentSession, ids["next_week"])
        window = window_for(session)
        opens = day_of_opens_at(session)
    iso = lambda moment: moment.isoformat().replace("+00:00", "Z")  # noqa: E731
    assert detail["start_window"] == {
        "opens_at": iso(window.opens_at),
        "closes_at": iso(window.closes_at),
    }
    assert detail["requires_check_in"] is True and detail["checked_in_at"] is None
    day_of = [item for item in detail["checklist"] if item["day_of"]]
    assert day_of and all(item["tickable_from"] == iso(opens) for item in day_of)
    assert all(item["tickable_from"] is None for item in detail["checklist"] if not item["day_of"])


# --- pages (no JavaScript) -------------------------------------------------------------------


def test_prepare_page_outside_the_window_says_when_and_keeps_start_disabled(
    client, auth, app, people
):
    """Next week's page: when it can start, Start disabled for that reason, day-of items too."""
    auth.login("patient@demo.test")
    ids = _ids(app)
    page = client.get(f"/patient/sessions/{ids['next_week']}").text
    assert "This session can start from 08:00 on " in page
    assert 'data-start disabled aria-describedby="start-not-today start-missing"' in page
    # Not today: nothing to wait for yet (the waiting line is there, hidden, for the script).
    assert "data-check-in-waiting hidden><strong>Waiting for staff check-in" in page
    assert "data-check-in-later>On the day, staff check you in" in page
    item = ids["day_of_item"]
    assert (
        f'value="{item}" data-item-id="{item}" data-required="y" data-day-of="y" disabled' in page
    )
    assert f'id="when-{item}" data-not-yet>You can tick this from ' in page


def test_no_js_start_outside_the_window_is_refused_and_changes_nothing(client, auth, app, people):
    """The plain form post answers with the message on the page; the session stays scheduled."""
    auth.login("patient@demo.test")
    session_id = _ids(app)["next_week"]
    page = client.get(f"/patient/sessions/{session_id}").text
    response = client.post(f"/patient/sessions/{session_id}/start", data=form_data(page, "/start"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/patient/sessions/{session_id}"
    shown = client.get(f"/patient/sessions/{session_id}").text
    assert 'class="flash flash--error"' in shown and "This session can start from 08:00" in shown
    with app.app_context():
        assert db.session.get(TreatmentSession, session_id).status == "scheduled"


def test_no_js_checklist_save_says_which_items_wait_for_their_day(client, auth, app, people):
    """Ticking everything a week ahead saves the rest and names the day-of items."""
    auth.login("patient@demo.test")
    session_id = _ids(app)["next_week"]
    page = client.get(f"/patient/sessions/{session_id}").text
    with app.app_context():
        items = db.session.get(TreatmentSession, session_id).template_version.checklist_items
        everything = [(item.id, item.text, item.day_of) for item in items]
    fields = [("csrf_token", form_data(page, "/checklist")["csrf_token"])]
    fields += [("item", str(item_id)) for item_id, _, _ in everything]
    response = client.post(f"/patient/sessions/{session_id}/checklist", data=MultiDict(fields))
    assert response.status_code == 302
    shown = client.get(f"/patient/sessions/{session_id}").text
    assert "Checklist saved." in shown and "Not ticked yet: " in shown
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        assert {t.item_id for t in session.ticks} == {
            i for i, _, day_of in everything if not day_of
        }


def test_prepare_page_waits_for_check_in_then_shows_the_time(client, auth, app, people):
    """On the day: 'Waiting for staff check-in' and Start disabled; after: 'Checked in at'."""
    ids = _ids(app)
    with app.app_context():
        walkthrough = db.session.get(TreatmentSession, ids["walkthrough"])
        soon = db.session.get(TreatmentSession, ids["soon"])
        soon.scheduled_at = walkthrough.scheduled_at
        patient = user_by_email("patient@demo.test")
        _tick_required(patient, soon, None)
    auth.login("patient@demo.test")
    url = f"/patient/sessions/{ids['soon']}"
    page = client.get(url).text
    assert "Waiting for staff check-in" in page
    assert 'data-start disabled aria-describedby="start-check-in"' in page
    with app.app_context():
        soon = db.session.get(TreatmentSession, ids["soon"])
        _check_in(soon, utcnow())
        shown_time = soon.checked_in_at.astimezone(NEW_YORK).strftime("%H:%M")
    page = client.get(url).text
    assert f">{shown_time}</time>" in page and "Checked in at" in page
    assert "data-start disabled" not in page
    start = client.post(f"{url}/start", data=form_data(page, "/start"))
    assert start.headers["Location"] == f"{url}/mode"


def test_crisis_page_puts_the_clinics_phone_above_the_national_lines(client, auth, people):
    """'Call Demo Clinic: +1 212 555 0142' as a tel: link, before 988; kept for offline use."""
    auth.login("patient@demo.test")
    page = client.get("/patient/crisis-support").text
    link = 'href="tel:+12125550142">Call Demo Clinic: +1 212 555 0142</a>'
    assert link in page
    assert page.index(link) < page.index('href="tel:988"')
    assert '"clinic": {"name": "Demo Clinic", "phone": "+1 212 555 0142"' in page
