"""Delivering due reminders by e-mail and push, exactly once, saying nothing clinical.

Real parts only: e-mail goes over SMTP to an aiosmtpd sink on a free port, push goes through
pywebpush to tests/pushreceiver.py (which checks the VAPID JWT and decrypts the payload).
The reminders are PlannedReminder values built here, so these tests pin the sender down
whatever the planner decides; tests/integration/test_reminder_jobs.py runs the whole tick.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from kap.dev.mail_sink import MailSink
from kap.extensions import db
from kap.models.reminders import PushSubscription, ReminderPreference
from kap.services.reminders.deliver import MAX_ATTEMPTS, deliver_due
from kap.services.reminders.push_sender import notification_tag
from kap.services.reminders.timing import LATE_GRACE
from tests.pushreceiver import PushReceiver
from tests.reminder_helpers import CLINICAL_TEXT, NOW, choose, deliveries, planned, subscribe
from tests.servers import free_port

pytestmark = pytest.mark.usefixtures("demo_people_only")


@pytest.fixture
def sink(app):
    """A real SMTP server on a free port, and the app's mail settings pointing at it."""
    with MailSink() as running:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=running.port, SMTP_STARTTLS=False)
        yield running


@pytest.fixture
def receiver(app):
    """A local push service the app may call (plain http on 127.0.0.1 only here)."""
    app.config["PUSH_ALLOWED_HOSTS"] += ",http://127.0.0.1"
    with PushReceiver() as running:
        yield running


def test_the_email_says_who_it_is_from_and_links_to_the_app_never_the_text(ctx, patient, sink):
    choose(patient, email=True)
    report = deliver_due([planned(patient)], NOW)
    [mail] = sink.wait_for(1)
    assert mail.to == patient.email
    assert mail.subject == "A reminder from Demo Clinic"
    assert mail.body.strip() == (
        "You have a reminder from Demo Clinic. Open KAP Companion to read it: "
        "http://127.0.0.1:5000/patient/reminders"
    )
    assert CLINICAL_TEXT not in mail.subject + mail.body
    assert report.counts == {"sent": 1}
    assert deliveries() == [("fasting:s1", "email", "sent", 1, "")]


def test_a_second_tick_sends_nothing_again(ctx, patient, sink):
    choose(patient, email=True)
    deliver_due([planned(patient)], NOW)
    again = deliver_due([planned(patient)], NOW + timedelta(minutes=1))
    assert again.counts == {"already_claimed": 1}
    assert len(sink.wait_for(1)) == 1
    assert deliveries() == [("fasting:s1", "email", "sent", 1, "")]


def test_mail_server_down_then_a_retry_sends_once(ctx, app, patient, sink):
    choose(patient, email=True)
    app.config["SMTP_PORT"] = free_port()  # nothing listens there
    assert deliver_due([planned(patient)], NOW).counts == {"failed": 1}
    assert sink.messages == []
    assert deliveries() == [("fasting:s1", "email", "failed", 1, "mail_not_sent")]

    app.config["SMTP_PORT"] = sink.port
    assert deliver_due([planned(patient)], NOW + timedelta(minutes=1)).counts == {"sent": 1}
    assert deliver_due([planned(patient)], NOW + timedelta(minutes=2)).counts == {
        "already_claimed": 1
    }
    assert len(sink.wait_for(1)) == 1
    assert deliveries() == [("fasting:s1", "email", "sent", 2, "")]


def test_a_delivery_that_keeps_failing_is_given_up_after_the_last_attempt(ctx, app, patient):
    choose(patient, email=True)
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_STARTTLS=False)
    for minute in range(MAX_ATTEMPTS + 2):
        deliver_due([planned(patient)], NOW + timedelta(minutes=minute))
    assert deliveries() == [("fasting:s1", "email", "failed", MAX_ATTEMPTS, "mail_not_sent")]


def test_quiet_hours_defer_to_the_send_time(ctx, patient, sink):
    """The planner moves a reminder due in quiet hours to their end (``send_at``): nothing
    goes out at the hour it was meant for, and it goes out once quiet hours are over."""
    choose(patient, email=True)
    deferred = planned(patient, scheduled_for=NOW, send_at=NOW + timedelta(hours=8))
    assert deliver_due([deferred], NOW).counts == {}
    assert deliveries() == []
    assert deliver_due([deferred], NOW + timedelta(hours=8)).counts == {"sent": 1}
    assert len(sink.wait_for(1)) == 1


def test_a_reminder_missed_for_longer_than_the_grace_is_never_sent(ctx, patient, sink):
    choose(patient, email=True)
    late = planned(patient, send_at=NOW - LATE_GRACE - timedelta(minutes=1))
    just_in_time = planned(patient, "ride:s1", send_at=NOW - LATE_GRACE)
    assert deliver_due([late, just_in_time], NOW).counts == {"sent": 1}
    assert [row[0] for row in deliveries()] == ["ride:s1"]


@pytest.mark.parametrize("choice", [None, {"push": False, "email": False}])
def test_a_patient_who_chose_no_channel_gets_nothing(ctx, patient, sink, receiver, choice):
    subscribe(patient, receiver.subscribe("phone"))
    if choice is None:  # the demo patient has chosen e-mail: back to never having chosen
        db.session.execute(db.delete(ReminderPreference))
        db.session.commit()
    else:
        choose(patient, **choice)
    assert deliver_due([planned(patient)], NOW).counts == {}
    assert deliveries() == []
    assert sink.messages == [] and receiver.messages == []


def test_only_the_channels_chosen_are_used(ctx, patient, sink, receiver):
    subscribe(patient, receiver.subscribe("phone"))
    choose(patient, push=True, email=False)
    deliver_due([planned(patient)], NOW)
    assert len(receiver.wait_for(1)) == 1
    assert sink.messages == []
    assert deliveries() == [("fasting:s1", "push", "sent", 1, "")]


def test_an_inactive_patient_gets_nothing(ctx, patient, sink):
    from kap.models import User

    choose(patient, email=True)
    db.session.get(User, patient.id).active = False
    db.session.commit()
    assert deliver_due([planned(patient)], NOW).counts == {}
    assert sink.messages == []


def test_push_round_trip_signed_encrypted_and_without_clinical_text(ctx, patient, receiver):
    subscribe(patient, receiver.subscribe("phone"))
    subscribe(patient, receiver.subscribe("tablet"))
    choose(patient, push=True)
    assert deliver_due([planned(patient)], NOW).counts == {"sent": 1}
    messages = sorted(receiver.wait_for(2), key=lambda message: message.name)
    assert [message.name for message in messages] == ["phone", "tablet"]
    for message in messages:
        assert message.json() == {
            "title": "Demo Clinic",
            "body": "You have a reminder",
            "path": "/patient/reminders",
            "tag": notification_tag("fasting:s1"),  # opaque: "fasting" is not in it
        }
        assert "fasting" not in message.json()["tag"]
        assert CLINICAL_TEXT.encode() not in message.payload
        assert message.urgency == "normal"
        assert 0 < message.ttl <= LATE_GRACE.total_seconds()
        assert message.claims["aud"] == receiver.origin
    assert deliveries() == [("fasting:s1", "push", "sent", 1, "")]


def test_a_subscription_the_push_service_says_is_gone_is_deleted(ctx, patient, receiver):
    subscribe(patient, receiver.subscribe("old-phone"))
    subscribe(patient, receiver.subscribe("phone"))
    receiver.mark_gone("old-phone")
    choose(patient, push=True)
    assert deliver_due([planned(patient)], NOW).counts == {"sent": 1}
    assert [m.name for m in receiver.wait_for(1)] == ["phone"]
    endpoints = db.session.scalars(db.select(PushSubscription.endpoint)).all()
    assert [endpoint.rsplit("/", 1)[1] for endpoint in endpoints] == ["phone"]


def test_with_every_subscription_gone_the_delivery_is_skipped(ctx, patient, receiver):
    subscribe(patient, receiver.subscribe("old-phone"))
    receiver.mark_gone("old-phone")
    choose(patient, push=True)
    assert deliver_due([planned(patient)], NOW).counts == {"skipped": 1}
    assert db.session.scalar(db.select(db.func.count(PushSubscription.id))) == 0
    assert deliveries() == [("fasting:s1", "push", "skipped", 1, "no_subscription")]


def test_an_endpoint_outside_the_allow_list_is_never_called(ctx, patient):
    """A patient could register http://127.0.0.1:…/ (or an internal host) as their endpoint:
    with the default allow-list the server never calls it."""
    with PushReceiver() as receiver:
        subscribe(patient, receiver.subscribe("internal"))
        choose(patient, push=True)
        assert deliver_due([planned(patient)], NOW).counts == {"skipped": 1}
        assert receiver.messages == [] and receiver.refusals == []
