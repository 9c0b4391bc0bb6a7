"""The words and shape of a patient's private calendar (.ics), from sessions already chosen.

Pure: it takes the sessions, their lengths, their alarm times and the links, and returns
bytes; ``kap.services.reminders.calendar`` decides which sessions and which alarms.

Privacy is the rule here. A calendar is synced to work accounts, shared with partners and
shown on lock screens, so nothing in it says what the appointment is for: the summary is
"Appointment at <clinic>", the description only points into the app (which needs sign-in),
and the alarms say "Reminder from <clinic>". The template's name, the medication and the
preparation rules stay inside the app.

Times are written in UTC (``...Z``): every calendar app shows them in its own zone, and a
daylight-saving change never moves an appointment (the session is stored as an instant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event

PRODID = "-//KAP Companion//Private appointments//EN"
#: How often a calendar app should fetch the feed again (a hint; apps choose their own).
REFRESH = timedelta(hours=1)  # X-PUBLISHED-TTL below says the same


@dataclass(frozen=True)
class FeedEvent:
    """One appointment as the calendar shows it."""

    session_id: int
    start: datetime  # UTC
    minutes: int
    room: str
    cancelled: bool
    prepare_url: str  # absolute; opens the session's page after sign-in
    last_modified: datetime | None
    #: When the alarms ring (UTC): the times the patient's reminders of this session go out.
    alarms: Sequence[datetime] = ()


def summary_for(clinic_name: str) -> str:
    """The event's title: where, never what for."""
    return f"Appointment at {clinic_name}"


def alarm_text_for(clinic_name: str) -> str:
    """What an alarm shows (on a lock screen, too)."""
    return f"Reminder from {clinic_name}"


def description_for(prepare_url: str) -> str:
    """The event's notes: a pointer into the app, which shows the detail after sign-in."""
    return f"Open KAP Companion to prepare: {prepare_url}"


def _utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (stored times are UTC; naive ones are taken so)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _alarm(moment: datetime, clinic_name: str) -> Alarm:
    """An alarm at an absolute time: the reminder's own time, whatever the event's zone."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", alarm_text_for(clinic_name))
    # An absolute trigger must say VALUE=DATE-TIME (RFC 5545 §3.8.6.3).
    alarm.add("trigger", _utc(moment), parameters={"VALUE": "DATE-TIME"})
    return alarm


def _event(item: FeedEvent, clinic_name: str, host: str, stamp: datetime) -> Event:
    start = _utc(item.start)
    event = Event()
    # Stable across fetches: the calendar app updates (or removes) the same event.
    event.add("uid", f"session-{item.session_id}@{host}")
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=item.minutes))
    event.add("summary", summary_for(clinic_name))
    if item.room:
        event.add("location", item.room)
    event.add("description", description_for(item.prepare_url))
    event.add("url", item.prepare_url)
    if item.last_modified is not None:
        event.add("last-modified", _utc(item.last_modified).replace(microsecond=0))
    if item.cancelled:
        event.add("status", "CANCELLED")
        return event  # no alarms for an appointment that will not happen
    event.add("status", "CONFIRMED")
    for trigger in item.alarms:
        event.add_component(_alarm(trigger, clinic_name))
    return event


def build_calendar(
    clinic_name: str, host: str, events: Sequence[FeedEvent], now: datetime
) -> bytes:
    """The whole .ics document."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", clinic_name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")  # the same hint, in Outlook's (text) property
    stamp = _utc(now).replace(microsecond=0)
    for item in events:
        calendar.add_component(_event(item, clinic_name, host, stamp))
    document: bytes = calendar.to_ical()  # icalendar is not typed
    return document
