"""Asking for the calendar link from many requests at once makes exactly one feed."""

from __future__ import annotations

from sqlalchemy import func, select

from kap.extensions import db
from kap.models import AuditEvent, User
from kap.models.reminders import CalendarFeed
from kap.services.reminders.calendar import ensure_feed
from tests.integration.attacks.helpers import race


def test_twenty_simultaneous_requests_for_the_link_make_one_feed(dev_server):
    """SQLite file, 20 threads released together: one feed row and one calendar.create row;
    every request answers the same URL, none fails."""
    app = dev_server.app
    with app.app_context():
        patient_id = db.session.scalar(select(User.id).where(User.email == "patient2@demo.test"))
        db.session.remove()

    def ask(_index: int) -> str:
        with app.test_request_context():
            try:
                return ensure_feed(db.session.get(User, patient_id))
            finally:
                db.session.remove()

    results = race(20, ask)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1, results
    with app.app_context():
        feeds = db.session.scalar(select(func.count()).where(CalendarFeed.user_id == patient_id))
        audited = db.session.scalar(
            select(func.count()).where(
                AuditEvent.action == "calendar.create", AuditEvent.patient_id == patient_id
            )
        )
        db.session.remove()
    assert (feeds, audited) == (1, 1)
