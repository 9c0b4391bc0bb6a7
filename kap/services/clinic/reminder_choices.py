"""Which reminders a template's sessions send: the editor's words for each kind, and the rule.

A template version keeps its list (TemplateVersion.reminder_kinds), so changing it in the
editor makes a new version when sessions use the old one, like every other part of a
template: a booked session keeps the reminders it was booked with. Every kind is on for a
new template; a patient still receives nothing until they opt in to a channel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kap.models.reminders import ALL_REMINDER_KINDS, ReminderKind


@dataclass(frozen=True)
class ReminderChoice:
    kind: str
    label: str
    hint: str


#: The editor's checkboxes, in the order a course's reminders happen (clinic-local times).
REMINDER_CHOICES = (
    ReminderChoice(
        ReminderKind.SESSION_DAY_BEFORE, "The day before", "At 18:00: the session is tomorrow."
    ),
    ReminderChoice(ReminderKind.SESSION_SOON, "Two hours before", "The session starts soon."),
    ReminderChoice(
        ReminderKind.FASTING,
        "When to stop eating",
        "From the clinic's fasting hours (the evening before when the stop time is early).",
    ),
    ReminderChoice(
        ReminderKind.NO_ALCOHOL,
        "No alcohol from now",
        "From the clinic's substance-free hours before the session.",
    ),
    ReminderChoice(
        ReminderKind.RIDE,
        "Who is driving you home?",
        "At 19:00 the evening before; the patient's answer shows on the board.",
    ),
    ReminderChoice(ReminderKind.INTEGRATION, "The day after", "At 10:00: an integration prompt."),
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
