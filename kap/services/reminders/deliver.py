"""Delivering due reminders by push and e-mail, each exactly once per key and channel.

Exactly once rests on the database, not on the job queue's lock: before sending, a worker
claims the reminder on a channel by inserting its ReminderDelivery row in a short transaction
of its own. UNIQUE(key, channel) lets exactly one insert win; every other worker (a second
tick, a retried job, another process) gets an IntegrityError and sends nothing. A delivery
that failed is claimed again by an UPDATE that only matches a failed row with attempts left,
so again only one worker can win it. A worker that dies between claiming and marking leaves
the row ``claimed``: that reminder is never sent twice, at the cost of perhaps not at all.

The core (``deliver_due``) takes PlannedReminder values, so it does not depend on how they
are planned; ``send_due`` gathers them for every patient who turned a channel on. The
calendar channel is not sent from here: a calendar app raises its own alarms from the feed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from kap.extensions import db
from kap.models import Clinic, User
from kap.models.reminders import (
    DeliveryStatus,
    ReminderChannel,
    ReminderDelivery,
    ReminderPreference,
)
from kap.services.mail import mail_configured, send_mail
from kap.services.reminders.plan import patients_to_remind, upcoming_reminders
from kap.services.reminders.planned import PlannedReminder
from kap.services.reminders.push_sender import PushMessage, notification_tag, send_push
from kap.services.reminders.timing import LATE_GRACE

log = logging.getLogger(__name__)

#: How many times a delivery is tried in all (each tick retries a failed one, within
#: LATE_GRACE): enough to ride out a mail server's restart, few enough not to hammer it.
MAX_ATTEMPTS = 5
#: The least time a push service keeps a message for an offline phone (seconds).
MIN_PUSH_TTL_SECONDS = 60


@dataclass
class DeliveryReport:
    """What one tick did, counted per outcome (never who or what)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def merge(self, other: DeliveryReport) -> None:
        for outcome, count in other.counts.items():
            self.counts[outcome] = self.counts.get(outcome, 0) + count


def send_due(now: datetime) -> DeliveryReport:
    """Deliver every reminder due at ``now`` to every patient with a channel on.

    One patient's failure (a record the planner cannot read, a sender error) is logged by its
    kind and does not hold up anyone else's reminders; the next tick tries that patient again.
    """
    report = DeliveryReport()
    patient_ids = db.session.scalars(patients_to_remind().with_only_columns(User.id)).all()
    for patient_id in patient_ids:
        try:
            patient = db.session.get(User, patient_id)
            if patient is None:
                continue
            due = upcoming_reminders(patient, now, until=now + timedelta(microseconds=1))
            report.merge(deliver_due(due, now))
        except Exception as error:  # isolation: the other patients still get theirs
            db.session.rollback()
            log.error("reminders for one patient failed: %s", type(error).__name__)
            report.add("error")
    return report


def deliver_due(reminders: Iterable[PlannedReminder], now: datetime) -> DeliveryReport:
    """Send each reminder that is due (``send_at`` at most ``now``, and no older than
    LATE_GRACE) on each channel its patient has on; skip any another worker has claimed."""
    report = DeliveryReport()
    for reminder in reminders:
        if not now - LATE_GRACE <= reminder.send_at <= now:
            continue
        if not _may_be_reminded(db.session.get(User, reminder.patient_id), reminder):
            continue
        for channel in channels_on(db.session.get(ReminderPreference, reminder.patient_id)):
            report.add(_deliver_on(reminder, channel, now))
    return report


def _may_be_reminded(patient: User | None, reminder: PlannedReminder) -> bool:
    """An active, not deleted patient of the reminder's clinic: a deactivated account, or one
    whose data was deleted, gets nothing more."""
    return (
        patient is not None
        and patient.is_patient
        and patient.active
        and patient.deleted_at is None
        and patient.clinic_id == reminder.clinic_id
    )


def channels_on(preference: ReminderPreference | None) -> list[ReminderChannel]:
    """The channels sent from here that the patient turned on (none without a choice)."""
    if preference is None:
        return []
    on = [(ReminderChannel.PUSH, preference.push), (ReminderChannel.EMAIL, preference.email)]
    return [channel for channel, chosen in on if chosen]


def _deliver_on(reminder: PlannedReminder, channel: ReminderChannel, now: datetime) -> str:
    if not claim(reminder, channel, now):
        return "already_claimed"
    try:
        status, error = _send(reminder, channel, now)
    except Exception as exc:  # marked failed (and retried by a later tick), then re-raised
        db.session.rollback()
        _mark(reminder.key, channel, DeliveryStatus.FAILED, type(exc).__name__, now)
        raise
    _mark(reminder.key, channel, status, error, now)
    return status.value


def claim(reminder: PlannedReminder, channel: ReminderChannel, now: datetime) -> bool:
    """True when this worker, and no other, may send ``reminder`` on ``channel`` now.

    Commits its own short transaction: the claim must be visible to every other worker
    before anything is sent.
    """
    db.session.add(
        ReminderDelivery(
            clinic_id=reminder.clinic_id,
            patient_id=reminder.patient_id,
            key=reminder.key,
            kind=reminder.kind,
            channel=channel.value,
            session_id=reminder.session_id,
            due_at=reminder.send_at,
            status=DeliveryStatus.CLAIMED.value,
            attempts=1,
            claimed_at=now,
        )
    )
    try:
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
    reclaimed = db.session.execute(
        update(ReminderDelivery)
        .where(
            ReminderDelivery.key == reminder.key,
            ReminderDelivery.channel == channel.value,
            ReminderDelivery.status == DeliveryStatus.FAILED.value,
            ReminderDelivery.attempts < MAX_ATTEMPTS,
        )
        .values(
            status=DeliveryStatus.CLAIMED.value,
            attempts=ReminderDelivery.attempts + 1,
            claimed_at=now,
            error="",
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(reclaimed.rowcount == 1)  # type: ignore[attr-defined]


def _send(
    reminder: PlannedReminder, channel: ReminderChannel, now: datetime
) -> tuple[DeliveryStatus, str]:
    """Send on one channel; the delivery's new status and the kind of failure, if any."""
    clinic = db.session.get(Clinic, reminder.clinic_id)
    clinic_name = clinic.name if clinic is not None else "your clinic"
    if channel is ReminderChannel.EMAIL:
        return _send_email(reminder, clinic_name)
    remaining = reminder.send_at + LATE_GRACE - now
    ttl = max(MIN_PUSH_TTL_SECONDS, int(remaining.total_seconds()))
    result = send_push(
        reminder.patient_id,
        PushMessage(clinic_name, reminder.path, ttl, notification_tag(reminder.key)),
        now,
    )
    db.session.commit()  # deleted subscriptions and last_sent_at, whatever the outcome
    if result.sent:
        return DeliveryStatus.SENT, ""
    if result.failed:
        return DeliveryStatus.FAILED, result.error
    return DeliveryStatus.SKIPPED, "no_subscription" if not result.error else result.error


def reminder_email(clinic_name: str, path: str) -> tuple[str, str]:
    """The subject and body of a reminder e-mail: who it is from and a link, never the text."""
    link = current_app.config["BASE_URL"].rstrip("/") + path
    return (
        f"A reminder from {clinic_name}",
        f"You have a reminder from {clinic_name}. Open KAP Companion to read it: {link}\n",
    )


def _send_email(reminder: PlannedReminder, clinic_name: str) -> tuple[DeliveryStatus, str]:
    if not mail_configured():
        return DeliveryStatus.SKIPPED, "mail_not_configured"
    patient = db.session.get(User, reminder.patient_id)
    if patient is None or not patient.email:
        return DeliveryStatus.SKIPPED, "no_address"
    subject, body = reminder_email(clinic_name, reminder.path)
    if send_mail(patient.email, subject, body):
        return DeliveryStatus.SENT, ""
    return DeliveryStatus.FAILED, "mail_not_sent"


def _mark(
    key: str, channel: ReminderChannel, status: DeliveryStatus, error: str, now: datetime
) -> None:
    """Record how the claimed delivery went, in its own transaction."""
    db.session.execute(
        update(ReminderDelivery)
        .where(ReminderDelivery.key == key, ReminderDelivery.channel == channel.value)
        .values(
            status=status.value,
            error=error[:80],
            sent_at=now if status is DeliveryStatus.SENT else None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if status is DeliveryStatus.FAILED:
        log.warning("reminder delivery failed on %s: %s", channel.value, error)
