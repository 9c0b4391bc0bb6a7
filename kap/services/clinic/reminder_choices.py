"""Which reminders a template's sessions send: the editor's words for each kind, and the rule.

A template version keeps its list (TemplateVersion.reminder_kinds), so changing it in the
editor makes a new version when sessions use the old one, like every other part of a
template: a booked session keeps the reminders it was booked with. Every kind is on for a
new template; a patient still receives nothing until they opt in to a channel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from kap.models.reminders import ALL_REMINDER_KINDS, ReminderKind
from kap.services.reminders.timing import (
    DAY_BEFORE_AT,
    FASTING_EARLY_STOP_BEFORE,
    FASTING_EVENING_AT,
    FASTING_LEAD,
    INTEGRATION_AT,
    RIDE_AT,
    SOON_BEFORE,
)


@dataclass(frozen=True)
class ReminderChoice:
    kind: str
    label: str
    hint: str


def _hours(delta: timedelta) -> str:
    hours = round(delta.total_seconds() / 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"


#: The editor's checkboxes, in the order a course's reminders happen (clinic-local times,
#: from the planner's own rules in kap/services/reminders/timing.py).
REMINDER_CHOICES = (
    ReminderChoice(
        ReminderKind.SESSION_DAY_BEFORE,
        "The day before",
        f"At {DAY_BEFORE_AT:%H:%M}: the session is tomorrow.",
    ),
    ReminderChoice(
        ReminderKind.SESSION_SOON, f"{_hours(SOON_BEFORE)} before", "The session starts soon."
    ),
    ReminderChoice(
        ReminderKind.FASTING,
        "When to stop eating",
        "From the clinic's fasting hours: at "
        f"{FASTING_EVENING_AT:%H:%M} the evening before when eating stops before "
        f"{FASTING_EARLY_STOP_BEFORE:%H:%M}, else {_hours(FASTING_LEAD)} before it stops.",
    ),
    ReminderChoice(
        ReminderKind.NO_ALCOHOL,
        "No alcohol from now",
        "From the clinic's substance-free hours before the session.",
    ),
    ReminderChoice(
        ReminderKind.RIDE,
        "Who is driving you home?",
        f"At {RIDE_AT:%H:%M} the evening before; the patient's answer shows on the board.",
    ),
    ReminderChoice(
        ReminderKind.INTEGRATION,
        "The day after",
        f"At {INTEGRATION_AT:%H:%M}: an integration prompt.",
    ),
    ReminderChoice(
        ReminderKind.CHECKIN_DUE,
        "A questionnaire is due",
        "When one of this template's questionnaires comes due.",
    ),
)


def clean_reminder_kinds(codes: Iterable[str]) -> tuple[list[str], list[str]]:
    """(the known kinds among ``codes``, once each, in ALL_REMINDER_KINDS order; the unknown
    ones). An empty list is allowed: that template sends no reminders."""
    chosen = set(codes)
    return (
        [kind for kind in ALL_REMINDER_KINDS if kind in chosen],
        sorted(chosen - set(ALL_REMINDER_KINDS)),
    )
