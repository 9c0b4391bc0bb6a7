"""Production's job workers as separate processes: two `flask jobs worker` processes on one
queue (one running tasks in threads, one in forked processes), both enqueueing the
every-minute tick, send the demo patient's due reminders once.

The demo patient has chosen e-mail and the session booked this hour has reminders due
within the late grace (kap/demo/reminders.py), so the first ticks have something to send.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from kap.dev.mail_sink import MailSink
from tests.integration.attacks.conftest import SECRET_KEYS
from tests.integration.attacks.helpers import seeded_app
from tests.reminder_helpers import choose
from tests.servers import ROOT, server_env

DATA_KEYS = "test1:" + "dGVzdC1rZXktMzItYnl0ZXMtbG9uZy0wMTIzNDU2Nzg="


@pytest.fixture
def database_url(tmp_path):
    """The demo data in a database of the test's own; the demo patient has chosen e-mail
    and no quiet hours."""
    from kap.extensions import db
    from kap.models import ReminderPreference, User

    for app in seeded_app(tmp_path):
        with app.app_context():
            patient = db.session.scalar(db.select(User).where(User.email == "patient@demo.test"))
            choose(patient, email=True)
            # No quiet hours: the demo's (22:00-07:00 in New York) held every reminder back
            # for nine hours of each UTC day, and the test waited in vain. Quiet hours have
            # their own tests (tests/unit/test_reminder_planning.py).
            patient_preference = db.session.get(ReminderPreference, patient.id)
            patient_preference.quiet_start = patient_preference.quiet_end = None
            db.session.commit()
            db.session.remove()
        yield app.config["SQLALCHEMY_DATABASE_URI"]


def _worker(env: dict[str, str], *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker", *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _deliveries(database_url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT key, channel, status FROM reminder_deliveries ORDER BY key, channel")
            )
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def test_two_worker_processes_send_each_due_reminder_once(tmp_path, database_url):
    with MailSink() as sink:
        env = server_env(
            tmp_path,
            database_url,
            **SECRET_KEYS,
            KAP_DATA_KEYS=DATA_KEYS,
            KAP_SMTP_HOST="127.0.0.1",
            KAP_SMTP_PORT=str(sink.port),
            KAP_SMTP_STARTTLS="0",
            KAP_JOBS_URL=f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
        )
        workers = [_worker(env, "--workers", "2"), _worker(env, "--processes")]
        try:
            first = sink.wait_for(1, seconds=60)
            # Each worker enqueues a tick as it starts: give both time to run theirs.
            time.sleep(5)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            outputs = [worker.communicate(timeout=30)[0] for worker in workers]
        assert [worker.returncode for worker in workers] == [0, 0], outputs
        rows = _deliveries(database_url)
        assert first and rows
        assert {status for _, _, status in rows} == {"sent"}, rows
        assert len(sink.messages) == len(rows)
        for mail in sink.messages:
            assert mail.to == "patient@demo.test"
            assert mail.subject == "A reminder from Demo Clinic"
