"""One device subscribing from many requests at once keeps exactly one subscription."""

from __future__ import annotations

from sqlalchemy import func, select

from kap.extensions import db
from kap.models import AuditEvent, User
from kap.models.reminders import PushSubscription
from kap.services.reminders.subscriptions import save_subscription
from tests.integration.attacks.helpers import race
from tests.pushreceiver import PushReceiver

ENDPOINT = "https://fcm.googleapis.com/fcm/send/raced-device"


def test_twenty_simultaneous_saves_of_one_endpoint_keep_one_row(dev_server):
    """SQLite file, 20 threads released together (a page re-sending its subscription from
    several tabs): one row, created once and audited once; every request gets its id."""
    app = dev_server.app
    keys = PushReceiver().subscribe()["keys"]
    with app.app_context():
        patient_id = db.session.scalar(select(User.id).where(User.email == "patient@demo.test"))
        db.session.remove()

    def save(_index: int) -> tuple[int, bool]:
        with app.app_context():
            try:
                owner = db.session.get(User, patient_id)
                subscription, created = save_subscription(
                    owner, endpoint=ENDPOINT, p256dh=keys["p256dh"], auth=keys["auth"]
                )
                return subscription.id, created
            finally:
                db.session.remove()

    results = race(20, save)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({subscription_id for subscription_id, _ in results}) == 1, results
    assert sum(created for _, created in results) == 1, results
    with app.app_context():
        rows = db.session.scalar(select(func.count()).where(PushSubscription.user_id == patient_id))
        audited = db.session.scalar(
            select(func.count()).where(AuditEvent.action == "push_subscription.create")
        )
        db.session.remove()
    assert (rows, audited) == (1, 1)
