"""Thirty workers released together on the same due reminders: one e-mail per reminder.

The app has a database of its own with a connection per thread (``seeded_app``: a fresh
PostgreSQL database when KAP_TEST_DATABASE_URL names PostgreSQL, else a SQLite file; the
in-memory default shares one connection, which would serialise the race away).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from flask import Flask

from kap.dev.mail_sink import MailSink
from kap.extensions import db
from kap.models import User
from kap.services.reminders.deliver import deliver_due
from tests.helpers import Person
from tests.integration.attacks.helpers import race, seeded_app
from tests.reminder_helpers import NOW, choose, deliveries, planned

WORKERS = 30


@pytest.fixture(scope="module")
def race_app(tmp_path_factory) -> Iterator[Flask]:
    """The app on its own database, demo data seeded."""
    yield from seeded_app(tmp_path_factory.mktemp("reminder-races"))


def test_thirty_workers_at_once_send_each_reminder_once(race_app):
    with MailSink() as sink, race_app.app_context():
        race_app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_STARTTLS=False)
        user = db.session.scalar(db.select(User).where(User.email == "patient@demo.test"))
        patient = Person(user.id, user.email, user.role, user.clinic_id)
        choose(patient, email=True)
        reminders = [planned(patient, "fasting:s1"), planned(patient, "ride:s1")]
        db.session.remove()

        def tick(_: int) -> dict[str, int]:
            with race_app.app_context():
                return deliver_due(reminders, NOW).counts

        results = race(WORKERS, tick)
        errors = [result for result in results if isinstance(result, Exception)]
        assert errors == []
        outcomes = Counter()
        for result in results:
            outcomes.update(result)
        assert outcomes == {"sent": 2, "already_claimed": 2 * WORKERS - 2}
        mails = sink.wait_for(2)
        assert len(mails) == 2
        assert deliveries() == [
            ("fasting:s1", "email", "sent", 1, ""),
            ("ride:s1", "email", "sent", 1, ""),
        ]
