"""The in-app words of each reminder, read after sign-in (never in a push or an e-mail).

Relative words ("tonight", "tomorrow") are counted from when the reminder actually goes out,
after quiet hours, so a reminder that waited until morning does not say "tomorrow" about today.
"""

from __future__ import annotations

from datetime import datetime

from kap.models.reminders import ReminderKind

#: What a reminder that is no longer planned (its session was cancelled or moved, the
#: check-in answered) said, in general words, for the list of reminders already sent.
GENERAL_WORDS: dict[str, str] = {
    ReminderKind.SESSION_DAY_BEFORE: "Your session the next day.",
    ReminderKind.SESSION_SOON: "Your session in a couple of hours.",
    ReminderKind.FASTING: "When to stop eating before your session.",
    ReminderKind.NO_ALCOHOL: "No alcohol before your session.",
    ReminderKind.RIDE: "Who is driving you home after your session?",
    ReminderKind.INTEGRATION: "How are you today? A few words in your journal can help.",
    ReminderKind.CHECKIN_DUE: "A check-in was due.",
}


def clock(moment: datetime) -> str:
    """'09:00' (24-hour, like every time the app shows)."""
    return f"{moment:%H:%M}"


def day_words(target: datetime, sent: datetime) -> str:
    """When ``target`` is, seen from ``sent`` (both local): 'today', 'tonight', 'tomorrow',
    'on Thursday' within a week, else 'on Thu 10 Dec'."""
    days = (target.date() - sent.date()).days
    if days == 0:
        return "tonight" if target.hour >= 18 else "today"
    if days == 1:
        # 03:00 seen from 20:00 the evening before is "tonight" to anyone still awake.
        return "tonight" if target.hour < 5 and sent.hour >= 17 else "tomorrow"
    if 1 < days < 7:
        return f"on {target:%A}"
    return f"on {target:%a} {target.day} {target:%b}"


def session_day_possessive(start: datetime, sent: datetime) -> str:
    """ "tomorrow's", "today's" or "Thursday's" session."""
    words = day_words(start, sent)
    if words in ("today", "tonight"):
        return "today's"
    if words == "tomorrow":
        return "tomorrow's"
    return words.removeprefix("on ") + "'s"


def hours(count: int) -> str:
    """'1 hour', '6 hours'."""
    return f"{count} hour" if count == 1 else f"{count} hours"


def session_day_before(start: datetime, sent: datetime) -> str:
    """'Your session is tomorrow at 09:00.'"""
    return f"Your session is {day_words(start, sent)} at {clock(start)}."


def session_soon(start: datetime, sent: datetime) -> str:
    """'Your session starts today at 09:00. Your preparation checklist is ready.'"""
    return (
        f"Your session starts {day_words(start, sent)} at {clock(start)}. "
        "Your preparation checklist is ready."
    )


def fasting(stop: datetime, start: datetime, sent: datetime, fasting_hours: int) -> str:
    """'Stop eating at 03:00 tonight (6 hours before your 09:00 session).'"""
    return (
        f"Stop eating at {clock(stop)} {day_words(stop, sent)} "
        f"({hours(fasting_hours)} before your {clock(start)} session)."
    )


def no_alcohol(start: datetime) -> str:
    """'No alcohol from now until your session on Thursday at 09:00: …'"""
    return (
        f"No alcohol from now until your session on {start:%A} at {clock(start)}: "
        "alcohol and ketamine together can be dangerous."
    )


def ride(start: datetime, sent: datetime, driver: str) -> str:
    """'Who is driving you home after tomorrow's session?' — or, once answered, a check."""
    which = session_day_possessive(start, sent)
    if driver:
        return f"You said {driver} is driving you home after {which} session. Still right?"
    return f"Who is driving you home after {which} session? You may not drive until the next day."


def integration() -> str:
    """The day-after prompt."""
    return "How are you today? A few words in your journal can help."


def checkin_due(name: str) -> str:
    """'PHQ-9 is due. It takes a few minutes.'"""
    return f"{name} is due. It takes a few minutes."
