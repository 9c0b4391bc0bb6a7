"""Parallel bookings: two admins can never both find a slot free and both take it."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import func, select

from kap.extensions import db
from kap.models import SessionTemplate, TreatmentSession, User
from kap.services.sessions.booking_conflicts import BookingClash
from kap.services.sessions.scheduling import add_booster
from tests.integration.attacks.helpers import race

FAR_DAY = date(2032, 5, 11)  # far from the demo's sessions


def test_ten_parallel_bookings_of_one_patient_at_one_time_book_exactly_one(dev_server):
    """SQLite file, ten threads released together: one booking wins, nine see the clash."""
    app = dev_server.app
    with app.app_context():
        patient_id = db.session.scalar(select(User.id).where(User.email == "patient2@demo.test"))
        template_id = db.session.scalar(
            select(SessionTemplate.id).where(SessionTemplate.name.like("IV infusion%"))
        )
        db.session.remove()

    def book(_index: int) -> str:
        with app.app_context():
            try:
                admin = db.session.scalar(select(User).where(User.email == "admin@demo.test"))
                add_booster(admin, patient_id, template_id, FAR_DAY, time(10, 0))
                return "booked"
            except BookingClash:
                return "clash"
            finally:
                db.session.remove()

    results = race(10, book)
    assert results.count("booked") == 1, results
    assert results.count("clash") == 9, results
    with app.app_context():
        booked = db.session.scalar(
            select(func.count()).where(
                TreatmentSession.patient_id == patient_id,
                func.date(TreatmentSession.scheduled_at) == FAR_DAY.isoformat(),
            )
        )
        db.session.remove()
    assert booked == 1
