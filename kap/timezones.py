"""Clinic-local time: times are stored in UTC and shown and entered in the clinic's zone.

Each local date and clock time is converted on its own, so a course that crosses a
daylight-saving change keeps its 10:00 appointments at 10:00, and a day is as long as it
really is (23 or 25 hours on a change).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_to_utc(day: date, clock: time, timezone: str) -> datetime:
    """The UTC instant of a local date and clock time in ``timezone``."""
    return datetime.combine(day, clock, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def to_local(moment: datetime, timezone: str) -> datetime:
    """``moment`` in ``timezone``."""
    return moment.astimezone(ZoneInfo(timezone))


def local_text(moment: datetime, timezone: str) -> str:
    """'2026-12-10 10:00' on the clinic's clock (for audit details)."""
    return f"{to_local(moment, timezone):%Y-%m-%d %H:%M}"


def start_of_local_day(day: date, timezone: str) -> datetime:
    """The first instant of ``day`` in ``timezone``, in UTC.

    Where a zone skips midnight (a daylight-saving change at 00:00), the day begins at the
    change: ``fold=0`` reads the skipped 00:00 with the offset before it, which is that instant.
    """
    return local_to_utc(day, time(0), timezone)


def local_day_of(moment: datetime, timezone: str) -> date:
    """The clinic's calendar day that ``moment`` falls on."""
    return to_local(moment, timezone).date()


def local_day_bounds(moment: datetime, timezone: str) -> tuple[datetime, datetime]:
    """The calendar day in ``timezone`` that ``moment`` falls on, as the UTC instants it
    starts and ends: one local midnight to the next, 23 or 25 hours apart on the days the
    clocks change."""
    day = local_day_of(moment, timezone)
    return start_of_local_day(day, timezone), start_of_local_day(day + timedelta(days=1), timezone)
