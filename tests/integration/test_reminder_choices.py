"""The patient's reminder choices: the service (audited, both quiet times or none), the API
GET/PUT /api/v1/me/reminders, and the Reminders page (form errors lose nothing; coming up and
sent lately). Runs on SQLite and, with KAP_TEST_DATABASE_URL, on PostgreSQL.

The demo patient chose e-mail with quiet hours 22:00 to 07:00 (as kap/demo/reminders.py seeds,
written again by ``demo_choices``) and has a session booked this hour; patient2 has chosen
nothing.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from urllib.parse import urlsplit

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from kap.extensions import db
from kap.models import AuditEvent
from kap.models.base import utcnow
from kap.models.reminders import (
    CalendarFeed,
    DeliveryStatus,
    ReminderDelivery,
    ReminderPreference,
)
from kap.services.errors import Invalid, NotFound
from kap.services.reminders.overview import reminder_overview
from kap.services.reminders.plan import planned_between
from kap.services.reminders.preferences import preferences_of, save_preferences
from tests.helpers import csrf_from, user_by_email

PATH = "/api/v1/me/reminders"


@pytest.fixture(autouse=True)
def demo_choices(app, people):
    """The demo patient's choices as the demo seeds them (e-mail, quiet 22:00 to 07:00),
    written here so the tests do not depend on how the seed commits."""
    with app.app_context():
        patient = user_by_email("patient@demo.test")
        preference = db.session.get(ReminderPreference, patient.id)
        if preference is None:
            preference = ReminderPreference(user_id=patient.id)
            db.session.add(preference)
        preference.push, preference.email = False, True
        preference.quiet_start, preference.quiet_end = time(22), time(7)
        db.session.commit()


def _stored(email: str) -> ReminderPreference | None:
    db.session.expire_all()
    return db.session.get(ReminderPreference, user_by_email(email).id)


def _audit_count(action: str = "reminders.update") -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


# The service ------------------------------------------------------------------------------


def test_no_saved_choices_means_everything_off_and_nothing_written(ctx, people):
    patient = user_by_email("patient2@demo.test")
    preference = preferences_of(patient)
    assert (preference.push, preference.email, preference.quiet_start) == (False, False, None)
    db.session.commit()
    assert _stored("patient2@demo.test") is None


def test_saving_stores_the_choices_and_audits_them_without_content(ctx, people):
    patient = user_by_email("patient2@demo.test")
    save_preferences(patient, push=True, email=False, quiet_start=time(22), quiet_end=time(7))
    stored = _stored("patient2@demo.test")
    assert (stored.push, stored.email, stored.quiet_start, stored.quiet_end) == (
        True,
        False,
        time(22),
        time(7),
    )
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "reminders.update").order_by(AuditEvent.id)
    )
    assert (event.actor_id, event.patient_id, event.subject_type) == (
        patient.id,
        patient.id,
        "reminder_preferences",
    )
    assert event.detail == "push on, e-mail off, quiet hours 22:00-07:00"
    save_preferences(patient, push=False, email=True, quiet_start=None, quiet_end=None)
    stored = _stored("patient2@demo.test")
    assert (stored.push, stored.email, stored.quiet_start) == (False, True, None)
    assert db.session.scalar(select(func.count()).select_from(ReminderPreference)) == 2


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"quiet_start": time(22)}, "quiet_end", "Give both times"),
        ({"quiet_end": time(7)}, "quiet_start", "Give both times"),
        ({"quiet_start": time(7), "quiet_end": time(7)}, "quiet_end", "different times"),
        ({"push": "yes"}, "push", "on or off"),
        ({"quiet_start": "22:00", "quiet_end": time(7)}, "quiet_start", "time of day"),
    ],
)
def test_bad_choices_are_refused_by_field_and_change_nothing(ctx, people, changes, field, message):
    patient = user_by_email("patient@demo.test")
    before = _stored("patient@demo.test")
    kept = (before.push, before.email, before.quiet_start, before.quiet_end)
    audited = _audit_count()
    values = {"push": True, "email": True, "quiet_start": None, "quiet_end": None, **changes}
    with pytest.raises(Invalid) as raised:
        save_preferences(patient, **values)
    assert message in raised.value.fields[field][0]
    after = _stored("patient@demo.test")
    assert (after.push, after.email, after.quiet_start, after.quiet_end) == kept
    assert _audit_count() == audited


def test_only_patients_have_reminder_choices(ctx, people):
    with pytest.raises(NotFound):
        save_preferences(
            user_by_email("therapist@demo.test"),
            push=True,
            email=True,
            quiet_start=None,
            quiet_end=None,
        )


# The API ----------------------------------------------------------------------------------


def test_get_answers_the_choices_and_upcoming_per_channel(api_as, people):
    answer = api_as("patient@demo.test").get(PATH).json
    assert answer["channels"] == {"push": False, "email": True, "calendar": False}
    assert answer["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert answer["upcoming"], "the demo session booked this hour has reminders ahead"
    assert {item["channel"] for item in answer["upcoming"]} == {"email"}
    times = [item["send_at"] for item in answer["upcoming"]]
    assert times == sorted(times)
    assert all(item["send_at"].endswith("Z") for item in answer["upcoming"])


def test_nothing_is_upcoming_on_no_channel(api_as, people):
    answer = api_as("patient2@demo.test").get(PATH).json
    assert answer == {
        "channels": {"push": False, "email": False, "calendar": False},
        "quiet_hours": None,
        "upcoming": [],
    }


def test_put_changes_what_is_sent_and_on_which_channels(api_as, app, people):
    api = api_as("patient@demo.test")
    answer = api.put(PATH, json={"channels": {"push": True, "email": True}}).json
    planned = [item for item in answer["upcoming"] if item["channel"] == "push"]
    assert planned and len(planned) == len(answer["upcoming"]) // 2
    assert answer["quiet_hours"] == {"start": "22:00", "end": "07:00"}  # left out: unchanged
    cleared = api.put(PATH, json={"quiet_hours": None}).json
    assert cleared["quiet_hours"] is None
    assert cleared["channels"] == {"push": True, "email": True, "calendar": False}
    with app.app_context():
        stored = _stored("patient@demo.test")
        assert (stored.push, stored.email, stored.quiet_start) == (True, True, None)


def test_calendar_entries_are_the_feeds_alarms_while_a_feed_exists(api_as, app, people):
    patient = people["patient@demo.test"]
    with app.app_context():
        db.session.add(
            CalendarFeed(
                user_id=patient.id, clinic_id=patient.clinic_id, token_hash="0" * 64, token="t"
            )
        )
        db.session.commit()
    answer = api_as("patient@demo.test").get(PATH).json
    assert answer["channels"]["calendar"] is True
    channels = [item["channel"] for item in answer["upcoming"]]
    assert channels.count("calendar") == channels.count("email") > 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "24:00", "end": "07:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "7pm", "end": "07:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "07:00", "end": "07:00"}}, "quiet_hours"),
        ({"quiet_hours": "22:00-07:00"}, "quiet_hours"),
        ({"channels": {"push": "yes"}}, "channels"),
        ({"channels": {"email": 1}}, "channels"),
        ({"channels": {"calendar": "on"}}, "channels"),
        # a valid calendar choice does not make an invalid PUT half-happen
        ({"channels": {"calendar": True}, "quiet_hours": {"start": "22:00"}}, "quiet_hours"),
    ],
)
def test_bad_puts_answer_400_naming_the_field_and_change_nothing(api_as, app, people, body, field):
    api = api_as("patient@demo.test")
    before = api.get(PATH).json
    answer = api.put(PATH, json=body)
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "invalid"
    assert field in answer.json["error"]["fields"]
    assert api.get(PATH).json == before


def test_put_turns_the_calendar_feed_on_and_off(api_as, app, people):
    """channels.calendar true makes the private URL; false revokes it (the old URL 404s)."""
    api = api_as("patient@demo.test")
    turned_on = api.put(PATH, json={"channels": {"calendar": True}})
    assert turned_on.status_code == 200 and turned_on.json["channels"]["calendar"] is True
    url = api.get("/api/v1/me/calendar").json["url"]
    feed_path = urlsplit(url).path
    assert api.client.get(feed_path).status_code == 200
    again = api.put(PATH, json={"channels": {"calendar": True}})  # the same URL stays
    assert again.status_code == 200 and api.get("/api/v1/me/calendar").json["url"] == url
    turned_off = api.put(PATH, json={"channels": {"calendar": False}})
    assert turned_off.status_code == 200 and turned_off.json["channels"]["calendar"] is False
    assert api.client.get(feed_path).status_code == 404


def test_put_without_csrf_or_json_is_refused(api_as, people):
    api = api_as("patient@demo.test")
    assert api.client.put(PATH, json={"channels": {"push": True}}).status_code == 400
    assert api.put(PATH, data="push=1").status_code == 400
    assert api.get(PATH).json["channels"]["push"] is False


@pytest.mark.parametrize("email", ["therapist@demo.test", "admin@demo.test"])
def test_clinicians_have_no_reminders_api(api_as, people, email):
    api = api_as(email)
    assert api.get(PATH).status_code == 403
    assert api.put(PATH, json={"channels": {"push": True}}).status_code == 403


# The page ---------------------------------------------------------------------------------


def test_the_page_shows_the_choices_the_promise_and_what_is_coming_up(page_as, app, people):
    page = page_as("patient@demo.test").get("/patient/reminders")
    assert page.status_code == 200
    html = page.text
    assert '<label class="field__label" for="quiet_start">Quiet from</label>' in html
    assert 'name="email" type="checkbox" value="y"' in html and "checked" in html
    assert "Notifications and e-mails never say what the reminder is about" in html
    assert 'value="22:00"' in html and 'value="07:00"' in html
    assert 'href="/patient/reminders" aria-current="page">Reminders</a>' in html
    with app.app_context():
        upcoming = reminder_overview(user_by_email("patient@demo.test")).upcoming
    assert upcoming and all(escape(item.text) in html for item in upcoming)


def _post(client, **fields):
    token = csrf_from(client.get("/patient/reminders").text)
    return client.post("/patient/reminders", data={"csrf_token": token, **fields})


def test_saving_the_form_redirects_and_stores(page_as, app, people):
    client = page_as("patient2@demo.test")
    response = _post(client, push="y", quiet_start="21:30", quiet_end="06:45")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/patient/reminders")
    assert "Saved." in client.get("/patient/reminders").text
    with app.app_context():
        stored = _stored("patient2@demo.test")
        assert (stored.push, stored.email, stored.quiet_start, stored.quiet_end) == (
            True,
            False,
            time(21, 30),
            time(6, 45),
        )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"quiet_start": "22:00"}, "Give both times"),
        ({"quiet_start": "22:00", "quiet_end": "22:00"}, "different times"),
        ({"quiet_start": "late", "quiet_end": "07:00"}, "A time of day, like 22:00."),
    ],
)
def test_junk_re_renders_with_the_message_and_keeps_what_was_typed(
    page_as, app, people, fields, message
):
    client = page_as("patient2@demo.test")
    response = _post(client, push="y", email="y", **fields)
    assert response.status_code == 400
    assert message in response.text
    assert 'class="field__error"' in response.text
    for value in fields.values():
        assert f'value="{value}"' in response.text
    assert len(re.findall(r"<input [^>]*checked[^>]*type=\"checkbox\"", response.text)) == 2
    with app.app_context():
        assert _stored("patient2@demo.test") is None


def test_a_form_without_its_csrf_token_saves_nothing(page_as, app, people):
    client = page_as("patient2@demo.test")
    assert client.post("/patient/reminders", data={"push": "y"}).status_code == 400
    with app.app_context():
        assert _stored("patient2@demo.test") is None


def test_sent_lately_shows_todays_words_once_per_reminder(page_as, app, people):
    """Sent on two channels: one line, in the words planned now; an unplanned key (its session
    moved) in general words; a failed one and one older than a week are not listed."""
    with app.app_context():
        patient = user_by_email("patient@demo.test")
        now = utcnow()
        # e.g. the day before the session booked this hour: 18:00 yesterday
        chosen = planned_between(patient, now - timedelta(days=6), now, now=now)[0]

        def sent(key, kind, channel, at, status=DeliveryStatus.SENT):
            return ReminderDelivery(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                key=key,
                kind=kind,
                channel=channel,
                due_at=at,
                status=status,
                sent_at=at,
            )

        db.session.add_all(
            [
                sent(chosen.key, chosen.kind, "email", chosen.send_at),
                sent(chosen.key, chosen.kind, "push", chosen.send_at),
                sent("ride:s999999:20261201T1400Z", "ride", "email", now - timedelta(days=2)),
                sent(
                    "fasting:s1:x",
                    "fasting",
                    "email",
                    now - timedelta(days=2),
                    DeliveryStatus.FAILED,
                ),
                sent("no_alcohol:s1:y", "no_alcohol", "email", now - timedelta(days=8)),
            ]
        )
        db.session.commit()
    html = page_as("patient@demo.test").get("/patient/reminders").text
    sent_part = html.split('id="sent-heading"', 1)[1]
    assert sent_part.count(escape(chosen.text)) == 1
    assert f'href="{chosen.path}"' in sent_part
    assert "Who is driving you home after your session?" in sent_part
    assert "When to stop eating" not in sent_part
    assert "No alcohol before your session." not in sent_part
