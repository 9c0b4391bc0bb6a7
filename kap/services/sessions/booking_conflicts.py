"""Booking clashes: one patient cannot be in two sessions at once, and a room holds one.

A session holds its patient and its room from ``scheduled_at`` for its expected length
(``expected_minutes``): the template version's playlist plus its downtime, or its
observation time if that is longer, and never less than an hour. Cancelled sessions hold
nothing, nor do discharged ones (the patient has left and the room is free). Rooms are the
sessions' ``location_label``, compared trimmed and without regard to case; a session with no
label has no room and clashes with no room.

A clash with the same patient is always refused: nobody can be dosed twice at once. A room
clash is refused unless the admin books anyway (a clinic may double-book a room on purpose).
Times are compared as UTC instants, so a daylight-saving change between two bookings never
hides or invents a clash; messages show the clinic's local date and clock time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from kap.extensions import db
from kap.models import SessionStatus, TemplateVersion, TreatmentSession
from kap.services.errors import Conflict
from kap.services.sessions.course_dates import WEEKDAY_NAMES
from kap.services.sessions.playlist import playlist_length
from kap.services.write_lock import hold_write_lock
from kap.timezones import to_local

MINIMUM_MINUTES = 60
#: A session is taken to last at most a day: a template whose playlist runs longer is a
#: mistake, and the cap keeps the search for neighbours to a bounded window.
MAXIMUM_MINUTES = 24 * 60
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MAX_MESSAGES = 3


def expected_minutes(version: TemplateVersion) -> int:
    """How long a session of ``version`` holds its patient and room, in whole minutes.

    The playlist (with its cross-fades) plus downtime, or the observation time if longer;
    at least an hour (check-in, dosing and the way out take time even for a short session)
    and at most a day.
    """
    playlist = playlist_length(
        [t.duration_seconds for t in version.tracks], version.crossfade_seconds
    )
    guided = -(-int(playlist) // 60) + version.downtime_minutes  # playlist rounded up
    return min(MAXIMUM_MINUTES, max(MINIMUM_MINUTES, guided, version.observation_minutes))


def room_key(label: str | None) -> str:
    """The room a label names, for comparing ('' for none)."""
    return " ".join((label or "").split()).casefold()


@dataclass(frozen=True)
class Booking:
    """A session about to be booked (or moved): who, when, where, for how long."""

    patient_id: int
    start: datetime
    minutes: int
    room: str = ""
    session_id: int | None = None  # the session being moved: it never clashes with itself

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


def spoken_moment(moment: datetime, timezone: str) -> str:
    """'Thursday 10 December at 10:00' in the clinic's time zone (the weekday tells the
    year apart within a course)."""
    local = to_local(moment, timezone)
    return (
        f"{WEEKDAY_NAMES[local.weekday()]} {local.day} {MONTHS[local.month - 1]} at {local:%H:%M}"
    )


class BookingClash(Conflict):
    """A booking overlaps another session of the patient, or one in the same room.

    ``fields`` holds the messages by the form field they belong beside; ``room_only`` says
    whether only room clashes were found (then the admin may book anyway).
    """

    code = "booking_clash"

    def __init__(self, message: str, fields: dict[str, list[str]], room_only: bool) -> None:
        super().__init__(message, fields)
        self.room_only = room_only


#: PostgreSQL advisory lock class for bookings (the second key is the clinic's id).
_BOOKING_LOCK = 727_274_002


def _serialise_bookings(clinic_id: int) -> None:
    """One booking of a clinic at a time until its transaction ends, so two admins cannot
    both find a slot free and both take it: PostgreSQL's advisory lock for this clinic's
    bookings; on SQLite the write lock, taken before the neighbours are read (pysqlite would
    otherwise read them outside any transaction; kap/services/write_lock.py)."""
    hold_write_lock(_BOOKING_LOCK, clinic_id)


def _neighbours(clinic_id: int, bookings: Sequence[Booking]) -> list[TreatmentSession]:
    """Sessions that could overlap any of ``bookings``: the patient's, or any with a room,
    starting within a day before one of them and before its end. One statement (plus the
    eager loads of versions and patients), however long the course."""
    windows = [
        and_(
            TreatmentSession.scheduled_at < b.end,
            TreatmentSession.scheduled_at > b.start - timedelta(minutes=MAXIMUM_MINUTES),
        )
        for b in bookings
    ]
    patient_ids = {b.patient_id for b in bookings}
    moved = [b.session_id for b in bookings if b.session_id is not None]
    query = (
        select(TreatmentSession)
        .where(
            TreatmentSession.clinic_id == clinic_id,
            TreatmentSession.status != SessionStatus.CANCELLED,
            TreatmentSession.discharged_at.is_(None),
            or_(
                TreatmentSession.patient_id.in_(patient_ids),
                TreatmentSession.location_label != "",
            ),
            or_(*windows),
        )
        .options(
            selectinload(TreatmentSession.template_version).selectinload(TemplateVersion.tracks),
            selectinload(TreatmentSession.template_version).joinedload(TemplateVersion.template),
            selectinload(TreatmentSession.patient),
        )
        .order_by(TreatmentSession.scheduled_at)
    )
    if moved:
        query = query.where(TreatmentSession.id.not_in(moved))
    return list(db.session.scalars(query))


def _overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals: a session ending at 11:00 leaves room for one at 11:00."""
    return a_start < b_end and b_start < a_end


def _limited(messages: list[str]) -> list[str]:
    unique = list(dict.fromkeys(messages))
    if len(unique) > MAX_MESSAGES:
        return [*unique[:MAX_MESSAGES], f"…and {len(unique) - MAX_MESSAGES} more clashes."]
    return unique


def check_bookings(
    clinic_id: int,
    timezone: str,
    bookings: Sequence[Booking],
    *,
    patient_name: str,
    time_field: str,
    room_field: str,
    book_anyway: bool = False,
) -> bool:
    """Raise BookingClash when a booking overlaps a session of the same patient (always) or
    of the same room (unless ``book_anyway``); also when two of ``bookings`` overlap each
    other. Returns whether a room is knowingly double-booked (for the audit row).

    ``time_field`` and ``room_field`` name the form fields the messages belong beside.
    """
    _serialise_bookings(clinic_id)
    patient_messages: list[str] = []
    room_messages: list[str] = []
    ordered = sorted(bookings, key=lambda b: b.start)
    for earlier, later in pairwise(ordered):
        if _overlaps(earlier.start, earlier.end, later.start, later.end):
            patient_messages.append(
                f"Two of these sessions overlap: {spoken_moment(earlier.start, timezone)} and "
                f"{spoken_moment(later.start, timezone)} (each lasts about {earlier.minutes} "
                "minutes). Choose other times."
            )
    for other in _neighbours(clinic_id, bookings):
        other_start = other.scheduled_at
        other_end = other_start + timedelta(minutes=expected_minutes(other.template_version))
        other_room = room_key(other.location_label)
        other_template = other.template_version.template.name
        for booking in bookings:
            if not _overlaps(booking.start, booking.end, other_start, other_end):
                continue
            when = spoken_moment(other_start, timezone)
            if other.patient_id == booking.patient_id:
                where = f"{other.location_label.strip()}, " if other_room else ""
                patient_messages.append(
                    f"{patient_name} already has a session on {when} "
                    f"({where}{other_template}). Choose another time."
                )
            elif booking.room and other_room == booking.room:
                other_name = other.patient.name if other.patient else "another patient"
                room_messages.append(
                    f"{other.location_label.strip()} is booked for {other_name} on {when} "
                    f"({other_template}). Choose another time or room, or book anyway."
                )
    if patient_messages or (room_messages and not book_anyway):
        fields: dict[str, list[str]] = {}
        if patient_messages:
            fields[time_field] = _limited(patient_messages)
        if room_messages:
            fields[room_field] = _limited(room_messages)
        first = (patient_messages or room_messages)[0]
        raise BookingClash(first, fields, room_only=not patient_messages)
    return bool(room_messages)
