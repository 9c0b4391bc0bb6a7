"""The job runner for real: Huey's consumer in threads of this process (as `make run` runs
it), on a SQLite file (and on Redis and PostgreSQL when they are there), with a frozen clock
for "now". E-mail goes to an aiosmtpd sink on a free port.

The consumer's scheduler enqueues periodic tasks once a minute; here it is told to look every
second (a subclass of Huey's own Scheduler with a shorter period), so the every-minute tick
runs several times within a test without waiting minutes.
"""

from __future__ import annotations

import os
import secrets
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from huey.consumer import Scheduler
from huey.signals import SIGNAL_COMPLETE

from kap.demo.content import IV_TEMPLATE
from kap.dev.mail_sink import MailSink
from kap.extensions import db
from kap.jobs.consumers import EmbeddedConsumer
from kap.jobs.queue import make_huey
from kap.jobs.tasks import SEND_DUE_LOCK, register_tasks
from kap.models import ReminderDelivery
from kap.services.sessions.scheduling import schedule_course
from tests.helpers import demo_template, user_by_email
from tests.reminder_helpers import CLINICAL_TEXT, choose, deliveries
from tests.servers import free_port

NEW_YORK = ZoneInfo("America/New_York")
REDIS_URL = os.environ.get("KAP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class FrozenClock:
    """The tick's "now": set by the test, read by the task."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class EverySecond(Scheduler):  # type: ignore[misc]
    periodic_task_seconds = 1


class FastConsumer(EmbeddedConsumer):
    scheduler_class = EverySecond


class Runner:
    """A Huey queue with the app's tasks, its consumer in threads, and a count of reminder
    ticks."""

    def __init__(self, app, url: str, clock: FrozenClock, *, periodic: bool) -> None:
        self.huey = make_huey(url, name=f"kap-test-{secrets.token_hex(4)}")
        self.tasks = register_tasks(self.huey, app, clock=clock)
        self.ticks = 0
        self._ticked = threading.Condition()

        @self.huey.signal(SIGNAL_COMPLETE)
        def count(signal, task, *args):
            if task.name != "send_due_reminders":
                return  # the prompt-track round runs every five minutes of the real clock
            with self._ticked:
                self.ticks += 1
                self._ticked.notify_all()

        self.consumer = FastConsumer(self.huey, workers=2, worker_type="thread", periodic=periodic)

    def wait_for_ticks(self, count: int, seconds: float = 30) -> None:
        with self._ticked:
            assert self._ticked.wait_for(lambda: self.ticks >= count, seconds), self.ticks

    def run_once(self) -> None:
        """Enqueue one tick and wait until it has run (Huey keeps no result of a periodic
        task, so the test reads what it did from the sink and the delivery rows)."""
        seen = self.ticks
        self.tasks.send_due_reminders()
        self.wait_for_ticks(seen + 1)


@pytest.fixture
def sink(app):
    with MailSink() as running:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=running.port, SMTP_STARTTLS=False)
        yield running


@pytest.fixture(params=["sqlite", "redis", "postgresql"])
def queue_url(request, tmp_path):
    """Each store the queue runs on; Redis and PostgreSQL only where the tests have them."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    if request.param == "redis":
        import redis

        try:
            redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
        except redis.RedisError:
            pytest.skip(f"needs Redis at {REDIS_URL}")
        return REDIS_URL
    url = os.environ.get("KAP_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("needs KAP_TEST_DATABASE_URL on PostgreSQL")
    return url


def _session_tomorrow_at_ten(people) -> datetime:
    """A session for the demo patient on 5 March 2031 at 10:00 New York time (the UTC start)."""
    admin = user_by_email("admin@demo.test")
    schedule_course(
        admin,
        people["patient@demo.test"].id,
        demo_template(IV_TEMPLATE).id,
        "custom",
        custom_times="2031-03-05 10:00",
    )
    return datetime(2031, 3, 5, 10, 0, tzinfo=NEW_YORK).astimezone(UTC)


def test_the_tick_at_six_the_evening_before_emails_the_day_before_reminder(
    app, ctx, people, sink, tmp_path
):
    """End to end: the demo patient opts in to e-mail; a session is booked for tomorrow;
    the embedded runner's every-minute tick sends the day-before reminder at 18:00 local,
    not a minute before, and once however often it runs; the e-mail carries no clinical
    text. (The frozen date is years ahead, so the demo patient's check-ins are due too:
    they go out at the first tick, once each.)"""
    _session_tomorrow_at_ten(people)
    choose(people["patient@demo.test"], email=True)
    clock = FrozenClock(datetime(2031, 3, 4, 17, 59, tzinfo=NEW_YORK).astimezone(UTC))
    runner = Runner(app, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", clock, periodic=True)
    db.session.remove()
    runner.consumer.start()
    try:
        runner.wait_for_ticks(2)
        before_six = sink.messages
        clock.now = datetime(2031, 3, 4, 18, 0, tzinfo=NEW_YORK).astimezone(UTC)
        sink.wait_for(len(before_six) + 1)
        runner.wait_for_ticks(runner.ticks + 3)  # three more ticks at 18:00 send nothing more
    finally:
        runner.consumer.stop(graceful=True)
    rows = deliveries()
    day_before = [row for row in rows if row[0].startswith("session_day_before:")]
    assert [(channel, status, attempts) for _, channel, status, attempts, _ in day_before] == [
        ("email", "sent", 1)
    ]
    assert len(sink.messages) == len(before_six) + 1 == len(rows)
    assert {row[2] for row in rows} == {"sent"}
    session_id = db.session.scalar(
        db.select(ReminderDelivery.session_id).where(ReminderDelivery.kind == "session_day_before")
    )
    [mail] = sink.messages[len(before_six) :]
    assert mail.to == "patient@demo.test"
    assert mail.subject == "A reminder from Demo Clinic"
    assert mail.body.strip() == (
        "You have a reminder from Demo Clinic. Open KAP Companion to read it: "
        f"http://127.0.0.1:5000/patient/sessions/{session_id}"
    )
    for mail in sink.messages:
        for words in ("ketamine", "infusion", "10:00", "phq", CLINICAL_TEXT.lower()):
            assert words not in mail.subject.lower()
            assert words not in mail.body.lower().split("read it:")[0]


def test_a_failed_tick_is_retried_and_sends_once(app, ctx, people, sink, queue_url):
    """The mail server is down for the first tick, back for the second; a third finds
    nothing left to do. One e-mail per reminder, on every store the queue runs on."""
    _session_tomorrow_at_ten(people)
    choose(people["patient@demo.test"], email=True)
    clock = FrozenClock(datetime(2031, 3, 4, 18, 0, tzinfo=NEW_YORK).astimezone(UTC))
    runner = Runner(app, queue_url, clock, periodic=False)
    app.config["SMTP_PORT"] = free_port()
    db.session.remove()
    runner.consumer.start()
    try:
        runner.run_once()
        after_first = deliveries()
        app.config["SMTP_PORT"] = sink.port
        runner.run_once()
        runner.run_once()
    finally:
        runner.consumer.stop(graceful=True)
        runner.huey.flush()
    assert after_first and {row[2:] for row in after_first} == {("failed", 1, "mail_not_sent")}
    rows = deliveries()
    assert [row[:2] for row in rows] == [row[:2] for row in after_first]
    assert {row[2:] for row in rows} == {("sent", 2, "")}
    assert len(sink.messages) == len(rows)
    assert len({mail.body for mail in sink.messages}) == len(rows)


def test_a_tick_another_worker_is_on_does_nothing(app, ctx, people, sink, tmp_path):
    _session_tomorrow_at_ten(people)
    choose(people["patient@demo.test"], email=True)
    clock = FrozenClock(datetime(2031, 3, 4, 18, 0, tzinfo=NEW_YORK).astimezone(UTC))
    runner = Runner(app, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", clock, periodic=False)
    with runner.huey.lock_task(SEND_DUE_LOCK):
        assert runner.tasks.send_due_reminders.call_local() == {"locked": 1}
    assert sink.messages == [] and deliveries() == []
    assert runner.tasks.send_due_reminders.call_local().get("sent") >= 1


def test_one_patient_whose_reminders_cannot_be_planned_holds_up_no_one_else(ctx, people, sink):
    """The other clinic's time zone is broken (a bad import, say): its patient's planning
    fails on every tick, and the demo patient's reminder still goes out."""
    from kap.models import Clinic
    from kap.services.reminders.deliver import send_due

    _session_tomorrow_at_ten(people)
    choose(people["patient@demo.test"], email=True)
    choose(people["patient@other.test"], email=True)
    other = db.session.get(Clinic, people["patient@other.test"].clinic_id)
    other.timezone = "Mars/Olympus_Mons"
    db.session.commit()
    report = send_due(datetime(2031, 3, 4, 18, 0, tzinfo=NEW_YORK).astimezone(UTC))
    assert report.counts["error"] == 1
    assert report.counts["sent"] >= 1
    assert [row[0].split(":")[0] for row in deliveries() if row[0].startswith("session")] == [
        "session_day_before"
    ]
    assert len(sink.messages) == report.counts["sent"]


def test_the_queue_url_chooses_the_store(tmp_path):
    from huey import RedisHuey, SqliteHuey

    assert isinstance(make_huey(f"sqlite:///{tmp_path / 'q' / 'jobs.sqlite3'}"), SqliteHuey)
    assert (tmp_path / "q").is_dir()
    assert isinstance(make_huey("redis://127.0.0.1:1/0"), RedisHuey)
    for wrong in ("mysql://db/kap", "sqlite://", "jobs.sqlite3"):
        with pytest.raises(RuntimeError, match="KAP_JOBS_URL"):
            make_huey(wrong)
