"""What the reminder delivery tests share: a planned reminder, a patient's choices, a
subscription, and the delivery rows (tests/integration/test_reminder_*.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from kap.extensions import db
from kap.models.reminders import PushSubscription, ReminderDelivery, ReminderPreference
from kap.services.reminders.planned import PlannedReminder

#: Words a reminder shows in the app; a push or e-mail must never carry them.
CLINICAL_TEXT = "Stop eating at 06:00 before your ketamine session"

#: A Thursday evening in New York (the demo clinic's zone), in UTC.
NOW = datetime(2026, 12, 3, 23, 0, tzinfo=UTC)


def planned(patient: Any, key: str = "fasting:s1", *, send_at: datetime = NOW, **extra: Any):
    """A reminder of ``patient`` (a tests.helpers.Person) due at ``send_at``."""
    fields: dict[str, Any] = {
        "key": key,
        "kind": key.split(":", 1)[0],
        "patient_id": patient.id,
        "clinic_id": patient.clinic_id,
        "session_id": None,
        "scheduled_for": send_at,
        "send_at": send_at,
        "text": CLINICAL_TEXT,
        "path": "/patient/reminders",
    }
    return PlannedReminder(**{**fields, **extra})


def choose(patient: Any, *, push: bool = False, email: bool = False) -> None:
    """Save the patient's channel choices (committed: workers read them in their sessions)."""
    preference = db.session.get(ReminderPreference, patient.id)
    if preference is None:
        preference = ReminderPreference(user_id=patient.id)
        db.session.add(preference)
    preference.push, preference.email = push, email
    db.session.commit()


def subscribe(patient: Any, subscription: dict[str, Any]) -> None:
    """Store a browser's push subscription for the patient."""
    endpoint = subscription["endpoint"]
    db.session.add(
        PushSubscription(
            user_id=patient.id,
            endpoint_hash=hashlib.sha256(endpoint.encode()).hexdigest(),
            endpoint=endpoint,
            p256dh=subscription["keys"]["p256dh"],
            auth=subscription["keys"]["auth"],
        )
    )
    db.session.commit()


def deliveries() -> list[tuple[str, str, str, int, str]]:
    """Every delivery row as (key, channel, status, attempts, error), in a stable order."""
    db.session.expire_all()
    rows = db.session.scalars(
        db.select(ReminderDelivery).order_by(ReminderDelivery.key, ReminderDelivery.channel)
    )
    return [(r.key, r.channel, r.status, r.attempts, r.error) for r in rows]
