"""A patient's private calendar feed: the secret URL, revoking it, and the .ics it serves.

The URL carries a 32-byte random secret and is the only key a calendar app has (it fetches
without a cookie), so:

- the database keeps the secret's sha256 for lookup (a fetch is matched by hash, so a copy
  of the table is not a list of working URLs, and a guess is one indexed look-up of a
  256-bit value) and the secret itself encrypted, so the patient can copy the same URL again;
- one feed per patient; revoking deletes the row, so the old URL answers 404 at once and a
  new one can be made;
- a feed serves nothing for a deactivated or deleted account.

The calendar channel of the patient's reminder choices is "a feed exists" (no flag), so
``has_feed`` is what the Reminders API reports. Creating and revoking are audited; a fetch is
not (a calendar app polls every few minutes) — the route logs it without the token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import url_for
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from kap.extensions import db
from kap.models import SessionStatus, TemplateVersion, TreatmentSession, User
from kap.models.base import utcnow
from kap.models.reminders import CalendarFeed
from kap.services import audit
from kap.services.reminders.calendar_ics import FeedEvent, build_calendar
from kap.services.reminders.plan import upcoming_reminders
from kap.services.sessions.booking_conflicts import expected_minutes
from kap.services.unit_of_work import rollback_lost_race, use_case

#: The secret's size in bytes (token_urlsafe makes 43 URL-safe characters of it).
TOKEN_BYTES = 32
#: Anything longer is not one of ours; it is refused before it is hashed.
MAX_TOKEN_LENGTH = 100
#: The feed shows sessions from a week ago (so a calendar does not drop what just happened)
#: to half a year ahead.
DAYS_BEHIND = 7
DAYS_AHEAD = 180
#: A cancelled session stays in the feed, marked cancelled, this long after it was
#: cancelled, so calendar apps that already have it take it off (or strike it through).
CANCELLED_KEPT_DAYS = 7


def token_hash(token: str) -> str:
    """The stored, looked-up form of a feed secret."""
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(token: str) -> str:
    """The absolute URL a calendar app subscribes to."""
    return url_for("main.calendar_feed", token=token, _external=True)


def _feed_of(user: User) -> CalendarFeed | None:
    return db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))


def has_feed(user: User) -> bool:
    """Whether the patient's calendar channel is on (a feed exists)."""
    return _feed_of(user) is not None


def feed_url_of(user: User) -> str | None:
    """The patient's current feed URL, or None when there is none (a read: creates nothing)."""
    feed = _feed_of(user)
    return feed_url(feed.token) if feed is not None else None


@use_case
def ensure_feed(user: User) -> str:
    """The patient's feed URL, made (and audited) if there is none yet."""
    feed = _feed_of(user)
    if feed is not None:
        return feed_url(feed.token)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed = CalendarFeed(user_id=user.id, clinic_id=user.clinic_id, token_hash=token_hash(token))
    feed.token = token
    db.session.add(feed)
    try:
        db.session.flush()
    except IntegrityError:  # two requests made one at once: the other one's feed wins
        rollback_lost_race()
        return ensure_feed(user)
    audit.record(
        "calendar.create",
        actor=user,
        subject_type="calendar_feed",
        subject_id=feed.id,
        patient_id=user.id,
    )
    return feed_url(token)


@use_case
def revoke_feed(user: User) -> bool:
    """Delete the patient's feed: its URL answers 404 from now on. False if there was none."""
    feed = _feed_of(user)
    if feed is None:
        return False
    feed_id = feed.id
    db.session.delete(feed)
    db.session.flush()
    audit.record(
        "calendar.revoke",
        actor=user,
        subject_type="calendar_feed",
        subject_id=feed_id,
        patient_id=user.id,
    )
    return True


def _owner_of(token: str) -> User | None:
    """The active patient whose feed ``token`` opens, or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(
        select(User)
        .join(CalendarFeed, CalendarFeed.user_id == User.id)
        .where(
            CalendarFeed.token_hash == token_hash(token),
            CalendarFeed.clinic_id == User.clinic_id,
            User.active.is_(True),
            User.deleted_at.is_(None),
        )
    )


def _feed_sessions(patient: User, now: datetime) -> list[TreatmentSession]:
    """The sessions the feed shows: booked ones in the window, and recently cancelled ones."""
    since = now - timedelta(days=DAYS_BEHIND)
    return list(
        db.session.scalars(
            select(TreatmentSession)
            .where(
                TreatmentSession.patient_id == patient.id,
                TreatmentSession.clinic_id == patient.clinic_id,
                TreatmentSession.scheduled_at >= since,
                TreatmentSession.scheduled_at < now + timedelta(days=DAYS_AHEAD),
                or_(
                    TreatmentSession.status != SessionStatus.CANCELLED,
                    and_(
                        TreatmentSession.cancelled_at.is_not(None),
                        TreatmentSession.cancelled_at >= now - timedelta(days=CANCELLED_KEPT_DAYS),
                    ),
                ),
            )
            .options(
                selectinload(TreatmentSession.template_version).selectinload(TemplateVersion.tracks)
            )
            .order_by(TreatmentSession.scheduled_at, TreatmentSession.id)
        )
    )


def _alarms_by_session(patient: User, now: datetime) -> dict[int, list[datetime]]:
    """When each session's reminders go out (the planner's send_at: template kinds and quiet
    hours applied), to ring as the event's alarms. Reminders about no session (a
    questionnaire due) have no event to ring on and are left to the other channels; ones
    already due are left out (an app syncing late would ring them all at once)."""
    alarms: dict[int, list[datetime]] = defaultdict(list)
    for reminder in upcoming_reminders(patient, now, until=now + timedelta(days=DAYS_AHEAD)):
        if reminder.session_id is not None and reminder.send_at >= now:
            alarms[reminder.session_id].append(reminder.send_at)
    return alarms


def _prepare_url(session_id: int) -> str:
    """The session's page in the app (it asks for sign-in first)."""
    return url_for("patient.prepare", session_id=session_id, _external=True)


def feed_calendar(token: str, now: datetime | None = None) -> bytes | None:
    """The .ics for the feed ``token`` opens; None for an unknown or revoked one."""
    patient = _owner_of(token)
    if patient is None:
        return None
    now = now or utcnow()
    alarms = _alarms_by_session(patient, now)
    host = urlsplit(feed_url(token)).hostname or "localhost"
    events = [
        FeedEvent(
            session_id=session.id,
            start=session.scheduled_at,
            minutes=expected_minutes(session.template_version),
            room=(session.location_label or "").strip(),
            cancelled=session.status == SessionStatus.CANCELLED,
            prepare_url=_prepare_url(session.id),
            last_modified=session.updated_at,
            alarms=alarms.get(session.id, ()),
        )
        for session in _feed_sessions(patient, now)
    ]
    return build_calendar(patient.clinic.name, host, events, now)
