"""A clinic's calendar day in UTC (kap/timezones.py ``local_day_bounds``): as long as it really
is, 23 or 25 hours on the days the clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kap.timezones import local_day_bounds


@pytest.mark.parametrize(
    ("moment", "zone", "starts", "hours"),
    [
        # An ordinary day in London (UTC in winter).
        (datetime(2026, 12, 4, 12, tzinfo=UTC), "Europe/London", datetime(2026, 12, 4), 24),
        # Los Angeles springs forward on 8 March 2026: midnight is 08:00 UTC, the next 07:00.
        (
            datetime(2026, 3, 8, 10, tzinfo=UTC),
            "America/Los_Angeles",
            datetime(2026, 3, 8, 8),
            23,
        ),
        # ...and falls back on 1 November 2026: midnight is 07:00 UTC, the next 08:00.
        (
            datetime(2026, 11, 1, 20, tzinfo=UTC),
            "America/Los_Angeles",
            datetime(2026, 11, 1, 7),
            25,
        ),
        # Late on Saturday in Los Angeles is already Sunday in UTC: the day is Saturday.
        (
            datetime(2026, 3, 8, 7, 59, tzinfo=UTC),
            "America/Los_Angeles",
            datetime(2026, 3, 7, 8),
            24,
        ),
        # Havana skips midnight itself (00:00 becomes 01:00 on 8 March 2026): the day
        # begins at the change, 05:00 UTC, and ends at the next midnight, 04:00 UTC.
        (datetime(2026, 3, 8, 12, tzinfo=UTC), "America/Havana", datetime(2026, 3, 8, 5), 23),
    ],
)
def test_a_day_runs_from_one_local_midnight_to_the_next(moment, zone, starts, hours):
    start, end = local_day_bounds(moment, zone)
    assert start == starts.replace(tzinfo=UTC)
    assert end - start == timedelta(hours=hours)
    assert start <= moment < end
