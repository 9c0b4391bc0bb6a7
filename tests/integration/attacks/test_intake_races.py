"""Intake decisions under real concurrency: thirty clinicians press Record decision at once.

Threads released together by a barrier call the real service against an app on its own
database (a SQLite file, or a fresh PostgreSQL database when KAP_TEST_DATABASE_URL names
PostgreSQL). The submission is locked before its status is read, so one decision is recorded
and every other caller is told it was already decided.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from kap.extensions import db
from kap.models import Alert, AuditEvent, IntakeSubmission
from kap.services.errors import Conflict
from kap.services.screening import intake as screening
from tests.helpers import user_by_email
from tests.integration.attacks.helpers import race, seeded_app
from tests.integration.test_intake import answers

CALLERS = 30


@pytest.fixture(scope="module")
def race_app(tmp_path_factory) -> Iterator:
    """The app on its own database, demo data seeded."""
    yield from seeded_app(tmp_path_factory.mktemp("intake-races"))


def _decide(app, intake_id: int, index: int):
    """One clinician's decision in its own app context; a Conflict is returned, not raised."""
    who = "admin@demo.test" if index % 2 else "therapist@demo.test"
    decision = "cleared" if index % 2 else "not_cleared"
    with app.app_context():
        try:
            return screening.decide(user_by_email(who), intake_id, decision, f"Note {index}.").id
        except Conflict as refused:
            db.session.rollback()
            return refused
        finally:
            db.session.remove()


def test_thirty_parallel_decisions_record_one(race_app):
    """One decision, one audit event, one closed alert; the other 29 are told it was decided."""
    with race_app.app_context():
        submission = screening.submit(user_by_email("patient@demo.test"), answers(heart=1))
        intake_id = submission.id
        db.session.remove()
    results = race(CALLERS, lambda i: _decide(race_app, intake_id, i))
    recorded = [r for r in results if r == intake_id]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(recorded) == 1, results
    assert len(refused) == CALLERS - 1 and {r.code for r in refused} == {"intake_decided"}
    with race_app.app_context():
        row = db.session.get(IntakeSubmission, intake_id)
        events = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "intake.decide", AuditEvent.subject_id == intake_id
            )
        ).all()
        assert len(events) == 1
        assert events[0].detail == f"decision={row.status}"
        assert row.decided_at is not None and row.decision_note.startswith("Note ")
        alerts = db.session.scalars(
            select(Alert).where(Alert.client_id == f"intake-{intake_id}")
        ).all()
        assert len(alerts) == 1 and alerts[0].resolved_at is not None
        db.session.remove()
