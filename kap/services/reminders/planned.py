"""One planned reminder: what every part of the reminder work passes around."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PlannedReminder:
    """A reminder the patient will get, before it is sent.

    ``key`` names it for good: kind, what it is about and, for a session, its booked time
    (``ride:s12:20261210T1400Z``: a moved session gets its reminders anew). The same reminder
    planned again has the same key, which is what makes sending it exactly once possible.
    ``text`` is the in-app wording, shown only after sign-in; a push or e-mail never
    carries it.
    """

    key: str
    kind: str  # a models.reminders.ReminderKind value
    patient_id: int
    clinic_id: int
    session_id: int | None
    #: When it is meant for (UTC), before quiet hours.
    scheduled_for: datetime
    #: When it goes out (UTC): ``scheduled_for``, or the end of the patient's quiet hours.
    send_at: datetime
    text: str
    #: The in-app path a notification or e-mail link opens (after sign-in).
    path: str
