"""Reminders: the patient's channels, quiet hours and what is coming up on each channel."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool

from kap.api.schemas.common import RequestModel, ResponseModel, Says, Timestamp
from kap.models.reminders import ALL_REMINDER_KINDS, ReminderChannel

#: A local clock time as <input type="time"> sends it: 24-hour HH:MM.
CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
Clock = Annotated[str, Field(pattern=CLOCK_PATTERN, examples=["22:00"])]
KindName = Literal[ALL_REMINDER_KINDS]  # type: ignore[valid-type]
ChannelName = Literal[tuple(channel.value for channel in ReminderChannel)]  # type: ignore[valid-type]


class Channels(ResponseModel):
    """Which channels are on. Push and e-mail never say what a reminder is about; calendar is
    on while the patient has a private calendar feed (GET/DELETE /api/v1/me/calendar)."""

    push: bool
    email: bool
    calendar: bool


class QuietHours(ResponseModel):
    """Local clinic time when nothing is sent; start after end spans midnight."""

    start: Clock
    end: Clock


class UpcomingReminder(ResponseModel):
    """One planned reminder on one channel that is on (calendar: the feed's alarm)."""

    kind: KindName
    send_at: Timestamp
    channel: ChannelName


class Reminders(ResponseModel):
    """The patient's choices and the next 14 days of reminders, per channel, by send time."""

    channels: Channels
    quiet_hours: QuietHours | None
    upcoming: list[UpcomingReminder]


class ChannelChoices(RequestModel):
    """Channels to turn on (true) or off (false); one left out stays as it is."""

    push: StrictBool | None = None
    email: StrictBool | None = None
    calendar: StrictBool | None = None


class QuietHoursChoice(RequestModel):
    """Both times, 24-hour HH:MM in the clinic's time zone."""

    start: Clock
    end: Clock


class ReminderChoices(RequestModel):
    """New choices. Left out: unchanged; ``quiet_hours: null``: no quiet hours."""

    channels: Annotated[
        ChannelChoices | None,
        Says(
            "channels holds push, email and calendar, each true or false.",
            "true or false for each of push, email, calendar.",
        ),
    ] = None
    quiet_hours: Annotated[
        QuietHoursChoice | None,
        Says(
            "quiet_hours is {start, end} as 24-hour times like 22:00, or null.",
            'Both times as HH:MM, e.g. {"start": "22:00", "end": "07:00"}, or null.',
        ),
    ] = None
