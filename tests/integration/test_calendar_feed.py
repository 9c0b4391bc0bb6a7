"""The private calendar feed: the secret URL, what the .ics says (and does not), revoking it."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import urllib.request
from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select
from werkzeug.serving import make_server

from kap.config import TestConfig
from kap.extensions import db
from kap.models import AuditEvent, SessionStatus, TreatmentSession, User
from kap.models.reminders import CalendarFeed
from kap.services.reminders.calendar import (
    ensure_feed,
    feed_calendar,
    has_feed,
    revoke_feed,
    token_hash,
)
from kap.services.reminders.plan import upcoming_reminders
from kap.services.sessions.booking_conflicts import expected_minutes
from kap.services.sessions.scheduling import cancel_session, reschedule_session
from kap.web.logs import redact

#: Words that must never reach a calendar (synced to work accounts, shown on lock screens).
CLINICAL_WORDS = re.compile(
    r"ketamine|infusion|\bIV\b|dose|dosing|psycho|therap|treatment|fasting|alcohol|"
    r"intention|walkthrough|lozenge|intramuscular|medication",
    re.IGNORECASE,
)


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _token(url: str) -> str:
    match = re.fullmatch(r"http://localhost/calendar/([A-Za-z0-9_-]+)\.ics", url)
    assert match, url
    return match.group(1)


def _parse(body: bytes) -> Calendar:
    return Calendar.from_ical(body)


def _sessions_of(patient_id: int) -> list[TreatmentSession]:
    return list(
        db.session.scalars(
            select(TreatmentSession)
            .where(TreatmentSession.patient_id == patient_id)
            .order_by(TreatmentSession.scheduled_at, TreatmentSession.id)
        )
    )


@pytest.fixture
def feed(app, people):
    """The demo patient's feed URL, made in a request context (URLs are absolute)."""
    with app.test_request_context():
        return ensure_feed(_user("patient@demo.test"))


def test_feed_lists_booked_sessions_in_utc_with_nothing_clinical(app, client, feed):
    """Each booked session in the window is one event: stable UID, UTC start, the template's
    length, a neutral title and a link into the app; the document names nothing clinical."""
    response = client.get(feed.removeprefix("http://localhost"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = _parse(response.data)
    assert calendar["X-WR-CALNAME"] == "Demo Clinic"
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in response.data
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in response.data
    events = {str(event["UID"]): event for event in calendar.walk("VEVENT")}
    now = datetime.now(UTC)
    with app.app_context():
        patient = _user("patient@demo.test")
        expected = [
            s
            for s in _sessions_of(patient.id)
            if s.status != SessionStatus.CANCELLED
            and now - timedelta(days=7) <= s.scheduled_at < now + timedelta(days=180)
        ]
        assert expected, "the demo patient has sessions in the window"
        assert set(events) == {f"session-{s.id}@localhost" for s in expected}
        for session in expected:
            event = events[f"session-{session.id}@localhost"]
            start = event.decoded("DTSTART")
            assert start.utcoffset() == timedelta(0) and event["DTSTART"].to_ical().endswith(b"Z")
            assert start == session.scheduled_at
            minutes = expected_minutes(session.template_version)
            assert event.decoded("DTEND") - start == timedelta(minutes=minutes)
            assert str(event["SUMMARY"]) == "Appointment at Demo Clinic"
            assert str(event["DESCRIPTION"]) == (
                f"Open KAP Companion to prepare: http://localhost/patient/sessions/{session.id}"
            )
            assert event.get("STATUS") == "CONFIRMED"
            template_name = session.template_version.template.name
            assert template_name.encode() not in response.data
    assert not CLINICAL_WORDS.search(response.data.decode()), CLINICAL_WORDS.findall(
        response.data.decode()
    )


def _alarm_times(event) -> list[datetime]:
    """The event's alarm times; each must be an absolute UTC trigger saying VALUE=DATE-TIME."""
    times = []
    for alarm in event.walk("VALARM"):
        assert str(alarm["ACTION"]) == "DISPLAY"
        assert str(alarm["DESCRIPTION"]) == "Reminder from Demo Clinic"
        assert alarm["TRIGGER"].params["VALUE"] == "DATE-TIME"
        assert alarm["TRIGGER"].to_ical().endswith(b"Z")
        times.append(alarm.decoded("TRIGGER"))
    return sorted(times)


def test_alarms_ring_when_the_planned_reminders_go_out(app, client, feed):
    """Each booked session's alarms are exactly its planned reminders still ahead (absolute
    UTC triggers), each saying only 'Reminder from <clinic>'."""
    now = datetime.now(UTC)
    calendar = _parse(client.get(feed.removeprefix("http://localhost")).data)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    with app.app_context():
        patient = _user("patient@demo.test")
        planned = upcoming_reminders(patient, now, until=now + timedelta(days=180))
        ahead = [
            s
            for s in _sessions_of(patient.id)
            if s.status == SessionStatus.SCHEDULED and s.scheduled_at > now + timedelta(days=1)
        ]
        assert ahead
        for session in ahead:
            expected = sorted(
                p.send_at for p in planned if p.session_id == session.id and p.send_at >= now
            )
            assert expected, session.id
            assert _alarm_times(events[f"session-{session.id}@localhost"]) == expected


def test_alarms_follow_the_template_kinds_across_the_clock_change(app, feed):
    """A template sending only the ride reminder: one alarm, at 19:00 New York time the
    evening before — 00:00Z after the clocks went back on 1 November 2026 (not 23:00Z)."""
    now = datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    with app.test_request_context():
        patient = _user("patient@demo.test")
        admin = _user("admin@demo.test")
        session = [s for s in _sessions_of(patient.id) if s.status == SessionStatus.SCHEDULED][-1]
        session_id = session.id
        reschedule_session(admin, session, date(2026, 11, 3), time(9, 0), now=now)
        session.template_version.reminder_kinds = ["ride"]
        db.session.commit()
        body = feed_calendar(_token(feed), now=now)
    event = next(
        e for e in _parse(body).walk("VEVENT") if str(e["UID"]) == f"session-{session_id}@localhost"
    )
    assert event["DTSTART"].to_ical() == b"20261103T140000Z"
    assert _alarm_times(event) == [datetime(2026, 11, 3, 0, 0, tzinfo=UTC)]


def test_feed_needs_no_cookie_and_sets_none(app, feed):
    """A calendar app fetches with no cookie at all; the answer sets none and is not cached."""
    bare = app.test_client(use_cookies=False)
    response = bare.get(feed.removeprefix("http://localhost"))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "private, no-store"


def test_secret_is_stored_as_hash_and_encrypted(app, feed):
    """The database holds sha256(secret) for lookup and the secret only as ciphertext."""
    token = _token(feed)
    assert len(token) >= 43  # 32 random bytes
    with app.app_context():
        row = db.session.scalar(select(CalendarFeed))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() == token_hash(token)
        assert token not in row.token_ciphertext
        assert row.token == token  # the patient can copy the same URL again


def test_same_url_until_revoked_then_404_and_a_new_one(app, client, feed):
    """ensure_feed gives the same URL again; revoking makes it 404 at once; a new one differs."""
    path = feed.removeprefix("http://localhost")
    with app.test_request_context():
        patient = _user("patient@demo.test")
        assert ensure_feed(patient) == feed
        assert has_feed(patient)
        assert revoke_feed(patient) is True
        assert not has_feed(patient)
        assert revoke_feed(patient) is False
    assert client.get(path).status_code == 404
    with app.test_request_context():
        again = ensure_feed(_user("patient@demo.test"))
    assert again != feed
    assert client.get(path).status_code == 404
    assert client.get(again.removeprefix("http://localhost")).status_code == 200


def test_creating_and_revoking_are_audited_without_the_secret(app, feed):
    """calendar.create and calendar.revoke rows name the patient; no row holds the secret."""
    with app.test_request_context():
        patient = _user("patient@demo.test")
        revoke_feed(patient)
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.in_(["calendar.create", "calendar.revoke"]))
            .order_by(AuditEvent.id)
        ).all()
        assert [(r.action, r.actor_id, r.patient_id) for r in rows] == [
            ("calendar.create", patient.id, patient.id),
            ("calendar.revoke", patient.id, patient.id),
        ]
        token = _token(feed)
        assert all(token not in (r.detail or "") for r in rows)


def test_a_token_opens_only_its_own_patients_sessions(app, client, people, feed):
    """Another patient's feed shows only their sessions; a made-up or altered secret is 404."""
    with app.test_request_context():
        other = _user("patient2@demo.test")
        other_feed = ensure_feed(other)
        other_ids = {s.id for s in _sessions_of(other.id)}
        mine = {s.id for s in _sessions_of(_user("patient@demo.test").id)}
    body = client.get(other_feed.removeprefix("http://localhost")).data
    uids = {int(re.search(r"\d+", str(e["UID"])).group()) for e in _parse(body).walk("VEVENT")}
    assert uids <= other_ids and not uids & mine
    token = _token(feed)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for guess in (altered, "x" * 43, token.upper(), "a" * 200):
        assert client.get(f"/calendar/{guess}.ics").status_code == 404


def test_feed_of_a_deactivated_patient_answers_404(app, client, feed):
    """A deactivated account's feed serves nothing."""
    with app.app_context():
        _user("patient@demo.test").active = False
        db.session.commit()
    assert client.get(feed.removeprefix("http://localhost")).status_code == 404


def test_cancelled_session_stays_a_week_marked_cancelled_without_alarms(app, client, feed):
    """A session cancelled recently keeps its UID with STATUS:CANCELLED so calendars drop it;
    one cancelled more than 7 days ago is gone from the feed."""
    path = feed.removeprefix("http://localhost")
    with app.app_context():
        patient = _user("patient@demo.test")
        admin = _user("admin@demo.test")
        upcoming = [
            s
            for s in _sessions_of(patient.id)
            if s.status == SessionStatus.SCHEDULED and s.scheduled_at > datetime.now(UTC)
        ]
        recent, old = upcoming[-1], upcoming[-2]
        recent_id, old_id = recent.id, old.id
        cancel_session(admin, recent)
        cancel_session(admin, db.session.get(TreatmentSession, old_id))
        db.session.get(TreatmentSession, old_id).cancelled_at = datetime.now(UTC) - timedelta(
            days=8
        )
        db.session.commit()
    events = {str(e["UID"]): e for e in _parse(client.get(path).data).walk("VEVENT")}
    cancelled = events[f"session-{recent_id}@localhost"]
    assert cancelled["STATUS"] == "CANCELLED"
    assert not cancelled.walk("VALARM")
    assert f"session-{old_id}@localhost" not in events


def test_times_are_right_across_the_autumn_clock_change(app, feed):
    """09:00 in New York is 13:00Z before the clocks go back (1 November 2026) and 14:00Z
    after: the feed writes the stored instant, never a re-derived local time."""
    now = datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    with app.test_request_context():
        patient = _user("patient@demo.test")
        admin = _user("admin@demo.test")
        booked = [s for s in _sessions_of(patient.id) if s.status == SessionStatus.SCHEDULED]
        before, after = booked[-1], booked[-2]
        ids = before.id, after.id
        reschedule_session(admin, before, date(2026, 10, 30), time(9, 0), now=now)
        reschedule_session(admin, after, date(2026, 11, 2), time(9, 0), now=now)
        body = feed_calendar(_token(feed), now=now)
    events = {str(e["UID"]): e for e in _parse(body).walk("VEVENT")}
    starts = [events[f"session-{i}@localhost"]["DTSTART"].to_ical() for i in ids]
    assert starts == [b"20261030T130000Z", b"20261102T140000Z"]


def test_feed_is_rate_limited_per_client(app, client, feed):
    """A client polling far faster than any calendar app is refused with 429."""
    path = feed.removeprefix("http://localhost")
    answers = [client.get(path).status_code for _ in range(31)]
    assert answers[:30] == [200] * 30
    assert answers[30] == 429
    refused = client.get(path)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60


def test_fetch_is_logged_without_the_secret(app, client, feed, caplog):
    """The app log says a feed was served or refused, never its secret; the request-log
    filter redacts the secret from a request line."""
    token = _token(feed)
    with caplog.at_level(logging.INFO):
        client.get(f"/calendar/{token}.ics")
        client.get("/calendar/not-a-feed.ics")
    messages = [record.getMessage() for record in caplog.records]
    assert any("calendar feed: served" in m for m in messages)
    assert any("calendar feed: unknown or revoked" in m for m in messages)
    assert all(token not in m for m in messages)
    line = f'127.0.0.1 - - "GET /calendar/{token}.ics HTTP/1.1" 200 -'
    assert redact(line) == '127.0.0.1 - - "GET /calendar/[redacted].ics HTTP/1.1" 200 -'


def test_development_server_request_log_hides_the_feed_secret(app, feed, caplog):
    """`make run`'s werkzeug request log shows /calendar/[redacted].ics, never the secret."""
    token = _token(feed)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            url = f"http://127.0.0.1:{server.server_port}/calendar/{token}.ics"
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
                assert b"BEGIN:VCALENDAR" in response.read()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("GET /calendar/[redacted].ics HTTP/1.1" in line for line in lines), lines
    assert not any(token in r.getMessage() for r in caplog.records)


@pytest.fixture
def counters_down(monkeypatch):
    """The rate-limit counters live in a Redis that does not answer (before the app is made)."""
    monkeypatch.setattr(TestConfig, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:9/0")


def test_feed_answers_503_when_the_counters_cannot_be_reached(counters_down, app, client, people):
    """With the rate-limit storage down the feed says 'try again' (503), not a server error."""
    with app.test_request_context():
        url = ensure_feed(_user("patient@demo.test"))
    response = client.get(url.removeprefix("http://localhost"))
    assert response.status_code == 503
