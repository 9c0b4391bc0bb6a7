"""Demo reminder choices: patient@demo.test has e-mail reminders on, with quiet hours at night,
so `make run` sends their next reminders into the dev mail sink at once (their session this
hour, a check-in that is due). The other patients have chosen nothing (reminders are opt-in).

Idempotent (a patient with choices is left alone) and quiet: written directly, no audit rows.
"""

from __future__ import annotations

from datetime import time

from kap.extensions import db
from kap.models import ReminderPreference, User

#: patient@demo.test's quiet hours: nothing between 22:00 and 07:00 (clinic time).
DEMO_QUIET_HOURS = (time(22, 0), time(7, 0))


def seed_demo_reminders(users: dict[str, User]) -> None:
    """Give the demo patient their reminder choices unless they have some."""
    patient = users["patient@demo.test"]
    if db.session.get(ReminderPreference, patient.id) is not None:
        return
    start, end = DEMO_QUIET_HOURS
    db.session.add(
        ReminderPreference(
            user_id=patient.id, email=True, push=False, quiet_start=start, quiet_end=end
        )
    )
    db.session.commit()
