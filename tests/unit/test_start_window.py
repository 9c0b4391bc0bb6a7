"""The start window and day-of rules on the clinic's calendar: edges, DST, device clocks.

Pure rules (kap.services.sessions.start_window) on unsaved objects: no database, explicit times.
Demo Clinic's zone, America/New_York, is the zone of most cases: in 2026 its clocks spring
forward on Sunday 8 March (02:00 → 03:00) and fall back on Sunday 1 November (02:00 → 01:00).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kap.models import Clinic, SessionStatus, TreatmentSession
from kap.services.sessions import start_window
from kap.services.sessions.start_window import (
    CLOCK_SKEW,
    LATE_SYNC_GRACE,
    DeviceTime,
    bound_device_time,
    day_of_opens_at,
    kept_offline_today,
    not_today_message,
    phase_time,
    start_moment,
    too_early_message,
    window_for,
)

NEW_YORK = "America/New_York"
SECOND = timedelta(seconds=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def booked(at_utc: datetime, zone: str = NEW_YORK, minutes: int = 120):
    """A session booked at ``at_utc`` in a clinic in ``zone`` with a ``minutes`` window."""
    clinic = Clinic(timezone=zone, start_window_minutes=minutes)
    return TreatmentSession(scheduled_at=at_utc), clinic


# Thursday 10 December 2026, 10:00 in New York (EST, UTC-5).
THURSDAY_TEN = utc(2026, 12, 10, 15, 0)


def test_window_opens_the_clinics_minutes_before_and_closes_at_local_midnight():
    """10:00 booked, 120 minutes: open from 08:00 until 00:00 the next local day."""
    window = window_for(*booked(THURSDAY_TEN))
    assert window.opens_at == utc(2026, 12, 10, 13, 0)  # 08:00 EST
    assert window.closes_at == utc(2026, 12, 11, 5, 0)  # Friday 00:00 EST


@pytest.mark.parametrize(
    ("minutes", "opens"),
    [(0, utc(2026, 12, 10, 15, 0)), (30, utc(2026, 12, 10, 14, 30)), (720, utc(2026, 12, 10, 5))],
)
def test_window_follows_the_clinics_setting_but_never_opens_the_day_before(minutes, opens):
    """0 minutes opens at the booked time; 720 minutes before 10:00 would be 22:00 the day
    before, so the window opens at the local day's start instead."""
    assert window_for(*booked(THURSDAY_TEN, minutes=minutes)).opens_at == opens


def test_an_early_session_opens_at_local_midnight():
    """A 01:00 session's window opens at 00:00 that day, not 23:00 the day before."""
    window = window_for(*booked(utc(2026, 12, 10, 6, 0)))  # 01:00 EST
    assert window.opens_at == utc(2026, 12, 10, 5, 0)


def test_window_edges_are_inclusive_at_the_opening_and_exclusive_at_midnight():
    """08:00:00 may start, 07:59:59 may not; 23:59:59 may, 00:00:00 the next day may not."""
    window = window_for(*booked(THURSDAY_TEN))
    assert start_moment(window, window.opens_at - SECOND, None) is None
    assert start_moment(window, window.opens_at, None) == window.opens_at
    assert start_moment(window, window.closes_at - SECOND, None) == window.closes_at - SECOND
    assert start_moment(window, window.closes_at, None) is None


def test_fall_back_day_is_25_hours_long_and_the_window_counts_real_minutes():
    """Sunday 1 November: a session at the second 01:30 (EST) opens 120 real minutes
    earlier, at 00:30 EDT; the day ends at 00:00 EST on Monday, 25 hours after it began."""
    window = window_for(*booked(utc(2026, 11, 1, 6, 30)))  # 01:30 EST, after the change
    assert window.opens_at == utc(2026, 11, 1, 4, 30)  # 00:30 EDT
    assert window.local(window.opens_at).strftime("%H:%M %Z") == "00:30 EDT"
    assert window.closes_at == utc(2026, 11, 2, 5, 0)  # Monday 00:00 EST
    assert window.closes_at - start_window.start_of_local_day(
        window.local(window.opens_at).date(), NEW_YORK
    ) == timedelta(hours=25)


def test_first_half_past_one_on_the_fall_back_day_opens_at_midnight():
    """The first 01:30 (EDT) is 120 minutes after 23:30 on Saturday: clamped to 00:00 EDT."""
    window = window_for(*booked(utc(2026, 11, 1, 5, 30)))  # 01:30 EDT, before the change
    assert window.opens_at == utc(2026, 11, 1, 4, 0)
    assert "00:00 on Sunday 1 November" in not_today_message(window, utc(2026, 10, 31, 12))


def test_spring_forward_day_is_23_hours_long():
    """Sunday 8 March: 03:30 EDT booked opens at 00:30 EST (two real hours, three on the
    clock); the day ends at 00:00 EDT on Monday."""
    window = window_for(*booked(utc(2026, 3, 8, 7, 30)))  # 03:30 EDT
    assert window.opens_at == utc(2026, 3, 8, 5, 30)  # 00:30 EST
    assert window.closes_at == utc(2026, 3, 9, 4, 0)  # Monday 00:00 EDT
    assert "from 00:30 on Sunday 8 March" in not_today_message(window, utc(2026, 3, 7, 12))


def test_a_day_that_skips_midnight_starts_at_the_change():
    """Santiago skips 00:00 on 6 September 2026 (to 01:00): that day starts at 01:00 -03."""
    window = window_for(*booked(utc(2026, 9, 6, 4, 30), zone="America/Santiago"))
    assert window.opens_at == utc(2026, 9, 6, 4, 0)
    assert window.local(window.opens_at).strftime("%H:%M") == "01:00"


# --- which clock counts ----------------------------------------------------------------------


def test_a_start_made_offline_at_23_55_and_synced_at_00_05_counts():
    """The device time is believed: in the window, not ahead of the server, synced soon after."""
    window = window_for(*booked(THURSDAY_TEN))
    made = window.closes_at - timedelta(minutes=5)
    assert start_moment(window, window.closes_at + timedelta(minutes=5), made) == made


def test_a_start_synced_the_next_morning_still_counts_but_not_a_day_later():
    """Within 12 hours of the window's end the device time counts; after that it does not."""
    window = window_for(*booked(THURSDAY_TEN))
    made = THURSDAY_TEN + timedelta(hours=4)
    last_chance = window.closes_at + LATE_SYNC_GRACE - SECOND
    assert start_moment(window, last_chance, made) == made
    assert start_moment(window, window.closes_at + LATE_SYNC_GRACE, made) is None


def test_a_device_time_inside_the_window_cannot_start_it_days_later():
    """A phone claiming Thursday when the server reads Sunday starts nothing."""
    window = window_for(*booked(THURSDAY_TEN))
    assert start_moment(window, THURSDAY_TEN + timedelta(days=3), THURSDAY_TEN) is None


def test_a_device_clock_set_ahead_cannot_open_next_weeks_session():
    """Today the server says no, whatever time the phone claims it is next week."""
    window = window_for(*booked(THURSDAY_TEN))
    today = THURSDAY_TEN - timedelta(days=7)
    assert start_moment(window, today, THURSDAY_TEN) is None
    assert start_moment(window, window.opens_at - CLOCK_SKEW - SECOND, window.opens_at) is None


def test_a_device_clock_a_little_fast_is_tolerated():
    """Up to 5 minutes ahead of the server, the phone's time is believed (and recorded)."""
    window = window_for(*booked(THURSDAY_TEN))
    now = window.opens_at - timedelta(minutes=3)
    device = window.opens_at + timedelta(minutes=1)
    assert start_moment(window, now, device) == device


def test_a_device_time_outside_the_window_gives_way_to_the_servers():
    """A phone a day slow, pressed inside the window: the server's time is recorded."""
    window = window_for(*booked(THURSDAY_TEN))
    now = THURSDAY_TEN + timedelta(minutes=2)
    assert start_moment(window, now, now - timedelta(days=1)) == now


# --- device clocks after the start -----------------------------------------------------------


def test_after_the_start_a_device_time_up_to_the_skew_ahead_is_believed_not_more():
    """5 minutes ahead of the server: the phone's time; a second more: the server's, and why."""
    now = THURSDAY_TEN
    assert bound_device_time(now + CLOCK_SKEW, now, None, "x") == DeviceTime(now + CLOCK_SKEW)
    too_far = now + CLOCK_SKEW + SECOND
    assert bound_device_time(too_far, now, None, "x") == DeviceTime(now, "ahead_of_server", too_far)


def test_after_the_start_a_late_sync_keeps_its_time_within_the_grace_only():
    """Synced 12 hours after it happened: believed; a second older: the server's time."""
    now = THURSDAY_TEN
    assert bound_device_time(now - LATE_SYNC_GRACE, now, None, "x").moment == now - LATE_SYNC_GRACE
    old = bound_device_time(now - LATE_SYNC_GRACE - SECOND, now, None, "x")
    assert (old.moment, old.ignored) == (now, "older_than_late_sync_grace")


def test_after_the_start_a_device_time_before_what_came_first_is_not_believed():
    """Before the previous phase (or the window's opening): the server's time, and the audit
    detail names the reason and what the phone claimed."""
    now = THURSDAY_TEN
    claimed = now - timedelta(minutes=2)
    timed = bound_device_time(claimed, now, now - timedelta(minutes=1), "previous_phase")
    assert timed.moment == now
    assert timed.audit_detail == (
        " device_time=ignored reason=before_previous_phase device_at=2026-12-10T14:58:00+00:00"
    )
    assert bound_device_time(None, now, now, "previous_phase") == DeviceTime(now)


def test_a_phase_is_never_recorded_before_the_previous_one():
    """The previous phase came from a phone 4 minutes fast: the server's time gives way to it."""
    now = THURSDAY_TEN
    previous = now + timedelta(minutes=4)
    assert phase_time(None, now, previous).moment == previous
    assert phase_time(now + timedelta(days=3), now, previous).moment == previous


# --- words ---------------------------------------------------------------------------------


def test_messages_say_when_it_can_start_or_that_the_day_is_over():
    """Before: the local opening time and day. After: the day it was booked for."""
    window = window_for(*booked(THURSDAY_TEN))
    assert (
        not_today_message(window, THURSDAY_TEN - timedelta(days=3))
        == "This session can start from 08:00 on Thursday 10 December."
    )
    assert not_today_message(window, THURSDAY_TEN) == ""
    assert not_today_message(window, window.closes_at) == (
        "This session was booked for Thursday 10 December; it can no longer be started. "
        "Please contact the clinic."
    )


def test_day_of_items_open_at_midnight_on_the_day_before():
    """Thursday's session: fasting and the ride can be ticked from Wednesday 00:00 local."""
    session, clinic = booked(THURSDAY_TEN)
    assert day_of_opens_at(session, clinic) == utc(2026, 12, 9, 5, 0)
    assert too_early_message(session, clinic) == "You can tick this from Wednesday 9 December."


def test_day_of_items_open_on_the_day_before_across_a_clock_change():
    """Monday 2 November's session opens its day-of items at 00:00 EDT on Sunday 1 November."""
    session, clinic = booked(utc(2026, 11, 2, 15, 0))  # Monday 10:00 EST
    assert day_of_opens_at(session, clinic) == utc(2026, 11, 1, 4, 0)


@pytest.mark.parametrize(
    ("now", "kept"),
    [
        (utc(2026, 12, 10, 4, 59, 59), False),  # Wednesday 23:59:59 EST
        (utc(2026, 12, 10, 5, 0), True),  # Thursday 00:00
        (utc(2026, 12, 11, 4, 59, 59), True),  # Thursday 23:59:59, after the session time
        (utc(2026, 12, 11, 5, 0), False),  # Friday
    ],
)
def test_the_home_page_keeps_a_session_offline_on_its_local_day(now, kept):
    """The clinic's day, not UTC's: at 04:59 UTC on Thursday it is still Wednesday in New York."""
    session, clinic = booked(THURSDAY_TEN)
    session.status = SessionStatus.SCHEDULED
    assert kept_offline_today(session, now, clinic) is kept


def test_the_home_page_keeps_the_session_offline_on_a_25_hour_day():
    """Sunday 1 November is 25 hours long: 04:30 UTC Monday is still Sunday 23:30 EST."""
    session, clinic = booked(utc(2026, 11, 1, 15, 0))  # Sunday 10:00 EST
    session.status = SessionStatus.SCHEDULED
    assert kept_offline_today(session, utc(2026, 11, 1, 4, 0), clinic)  # 00:00 EDT
    assert kept_offline_today(session, utc(2026, 11, 2, 4, 30), clinic)  # 23:30 EST
    assert not kept_offline_today(session, utc(2026, 11, 2, 5, 0), clinic)  # Monday


@pytest.mark.parametrize(
    "status", [SessionStatus.SESSION, SessionStatus.DOWNTIME, SessionStatus.INTEGRATION]
)
def test_a_session_under_way_stays_kept_offline_past_its_day(status):
    """A session started late on Thursday and still running after midnight stays on the phone."""
    session, clinic = booked(THURSDAY_TEN)
    session.status = status
    assert kept_offline_today(session, utc(2026, 12, 11, 6, 0), clinic)
