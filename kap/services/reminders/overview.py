"""What the patient sees of their reminders: choices, what is coming up on each channel, and
what was sent lately (the place a notification leads to, where its words are read).

The API (GET/PUT /api/v1/me/reminders) and the Reminders page both read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from kap.extensions import db
from kap.models import User
from kap.models.base import utcnow
from kap.models.reminders import (
    DeliveryStatus,
    ReminderChannel,
    ReminderDelivery,
    ReminderPreference,
)
from kap.services.reminders.calendar import has_feed
from kap.services.reminders.plan import planned_between, upcoming_reminders
from kap.services.reminders.planned import PlannedReminder
from kap.services.reminders.preferences import preferences_of
from kap.services.reminders.wording import GENERAL_WORDS

#: "Coming up" looks two weeks ahead: a course's next sessions, not months of noise.
UPCOMING_FOR = timedelta(days=14)
#: "Sent lately" looks back a week: long enough to open last week's notification.
SENT_FOR = timedelta(days=7)


@dataclass(frozen=True)
class ChannelReminder:
    """One planned reminder on one channel that is on (calendar: the feed's alarm)."""

    kind: str
    send_at: datetime
    channel: str


@dataclass(frozen=True)
class SentReminder:
    """A reminder sent lately, on every channel it went out on, in today's planned words
    (general words when it is no longer planned: a session cancelled or moved)."""

    key: str
    kind: str
    sent_at: datetime
    channels: tuple[str, ...]
    text: str
    path: str | None


@dataclass(frozen=True)
class ReminderOverview:
    """The patient's choices, what is coming up and what was sent."""

    preference: ReminderPreference
    calendar: bool
    upcoming: list[PlannedReminder]
    on_channels: list[ChannelReminder]
    sent: list[SentReminder]

    @property
    def channels(self) -> list[str]:
        """The channels that are on, in a fixed order."""
        return channels_on(self.preference, calendar=self.calendar)


def channels_on(preference: ReminderPreference, *, calendar: bool) -> list[str]:
    """push, email, calendar — those that are on."""
    flags = {
        ReminderChannel.PUSH: preference.push,
        ReminderChannel.EMAIL: preference.email,
        ReminderChannel.CALENDAR: calendar,
    }
    return [str(channel) for channel, on in flags.items() if on]


def per_channel(plans: list[PlannedReminder], channels: list[str]) -> list[ChannelReminder]:
    """One entry per planned reminder and channel that is on, by send time."""
    return [
        ChannelReminder(kind=plan.kind, send_at=plan.send_at, channel=channel)
        for plan in plans
        for channel in channels
    ]


def recently_sent(patient: User, now: datetime) -> list[SentReminder]:
    """Reminders sent in the last SENT_FOR, newest first, one per key."""
    rows = db.session.execute(
        select(
            ReminderDelivery.key,
            ReminderDelivery.kind,
            ReminderDelivery.channel,
            ReminderDelivery.sent_at,
        )
        .where(
            ReminderDelivery.patient_id == patient.id,
            ReminderDelivery.status == DeliveryStatus.SENT,
            ReminderDelivery.sent_at >= now - SENT_FOR,
        )
        .order_by(ReminderDelivery.sent_at.desc(), ReminderDelivery.id.desc())
    ).all()
    if not rows:
        return []
    planned = {
        plan.key: plan
        for plan in planned_between(patient, now - SENT_FOR - timedelta(days=1), now, now=now)
    }
    grouped: dict[str, list[str]] = {}
    first: dict[str, tuple[str, datetime]] = {}
    for row in rows:
        grouped.setdefault(row.key, []).append(row.channel)
        first.setdefault(row.key, (row.kind, row.sent_at))
    sent = []
    for key, channels in grouped.items():
        kind, sent_at = first[key]
        plan = planned.get(key)
        sent.append(
            SentReminder(
                key=key,
                kind=kind,
                sent_at=sent_at,
                channels=tuple(sorted(set(channels))),
                text=plan.text if plan else GENERAL_WORDS.get(kind, "A reminder."),
                path=plan.path if plan else None,
            )
        )
    return sent


def reminder_overview(patient: User, now: datetime | None = None) -> ReminderOverview:
    """Everything the Reminders page and GET /api/v1/me/reminders show."""
    now = now or utcnow()
    preference = preferences_of(patient)
    calendar = has_feed(patient)
    upcoming = [
        plan
        for plan in upcoming_reminders(patient, now, until=now + UPCOMING_FOR)
        if plan.send_at >= now
    ]
    return ReminderOverview(
        preference=preference,
        calendar=calendar,
        upcoming=upcoming,
        on_channels=per_channel(upcoming, channels_on(preference, calendar=calendar)),
        sent=recently_sent(patient, now),
    )
