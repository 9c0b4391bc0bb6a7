"""Between sessions: what a patient chose to be reminded by, where, and what was sent.

A reminder itself is not stored before it is due: it is planned from the sessions, the
template's reminder list and the measurement schedule each time it is needed (so a change of
booking or of the patient's choices takes effect at once). What is stored is each *delivery*:
one row per reminder key and channel, written before anything is sent, so that a retried job
or a second worker finds the row and sends nothing twice.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime, time

from sqlalchemy import (
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from kap.crypto import EncryptedText, encrypt_pending_after_insert
from kap.models.base import Model, UTCDateTime, utcnow


class ReminderKind(enum.StrEnum):
    """What a reminder is about. The words a patient sees live in services.reminders."""

    SESSION_DAY_BEFORE = "session_day_before"
    SESSION_SOON = "session_soon"  # two hours before
    FASTING = "fasting"  # "stop eating at 06:00", from the clinic's fasting hours
    NO_ALCOHOL = "no_alcohol"  # from the clinic's substance-free hours (24 by default)
    RIDE = "ride"  # "who is driving you home?" the evening before
    INTEGRATION = "integration"  # the day after
    CHECKIN_DUE = "checkin_due"  # a questionnaire of the measurement schedule is due


#: Every kind, in the order a day of reminders happens; a template's default list.
ALL_REMINDER_KINDS: tuple[str, ...] = tuple(kind.value for kind in ReminderKind)
ALL_REMINDER_KINDS_JSON = json.dumps(list(ALL_REMINDER_KINDS))


class ReminderChannel(enum.StrEnum):
    PUSH = "push"
    EMAIL = "email"
    CALENDAR = "calendar"


class DeliveryStatus(enum.StrEnum):
    CLAIMED = "claimed"  # a worker wrote the row and is sending
    SENT = "sent"
    FAILED = "failed"  # may be retried: the next claim moves it back to claimed
    SKIPPED = "skipped"  # nothing to send to (no subscription left, no address)


class ReminderPreference(Model):
    """A patient's own choices. No row means every channel off: reminders are opt-in.

    The calendar channel is not a flag here: it is on while the patient has a CalendarFeed
    (getting the private URL turns it on, revoking it turns it off), one source of truth.
    """

    __tablename__ = "reminder_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    push: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Local (clinic time zone) hours when nothing is sent; a reminder due then waits for
    #: ``quiet_end``. Both set or both empty; start after end spans midnight (22:00 to 07:00).
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PushSubscription(Model):
    """One device's Web Push subscription (the browser's endpoint and its keys)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: sha256 of the endpoint: the endpoint is long, the hash is what is unique and looked up.
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint: Mapped[str] = mapped_column(Text)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CalendarFeed(Model):
    """A patient's private calendar subscription. Revoking deletes the row: the URL is gone.

    The secret is looked up by its hash and kept encrypted so the patient can copy the
    same URL again; a calendar app fetches it without a cookie.
    """

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_ciphertext: Mapped[str] = mapped_column("token", Text, default="")
    token = EncryptedText("token_ciphertext", "token", lambda feed: feed.clinic_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderDelivery(Model):
    """A reminder sent (or being sent) on one channel. ``key`` names the reminder:
    kind, what it is about and when it is due, e.g. ``ride:session-12``."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (
        UniqueConstraint("key", "channel", name="uq_reminder_deliveries_key_channel"),
        ForeignKeyConstraint(
            ["patient_id", "clinic_id"],
            ["users.id", "users.clinic_id"],
            name="fk_reminder_deliveries_patient_same_clinic",
            ondelete="CASCADE",
        ),
        Index("ix_reminder_deliveries_patient_due", "patient_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(10))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_sessions.id", ondelete="SET NULL")
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.CLAIMED)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The kind of failure (an exception class or an HTTP status), never message text.
    error: Mapped[str] = mapped_column(String(80), default="")


encrypt_pending_after_insert(CalendarFeed)
