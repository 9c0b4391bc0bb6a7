"""Course patterns, custom dates and local clock times across daylight-saving changes."""

import itertools
from datetime import date, time

import pytest

from kap.services.errors import Invalid
from kap.services.sessions.course_dates import parse_custom_times, pattern_dates
from kap.timezones import local_to_utc, to_local

MONDAY = date(2026, 11, 23)


def test_six_over_three_weeks_uses_the_two_weekdays():
    """Six sessions on Mondays and Thursdays span three weeks."""
    dates = pattern_dates("six_over_three_weeks", MONDAY, [0, 3])
    assert [d.isoformat() for d in dates] == [
        "2026-11-23",
        "2026-11-26",
        "2026-11-30",
        "2026-12-03",
        "2026-12-07",
        "2026-12-10",
    ]


def test_course_starts_on_the_first_chosen_weekday_on_or_after_the_start():
    """Starting on a Tuesday with Mon/Thu, the first session is that Thursday."""
    dates = pattern_dates("six_over_three_weeks", date(2026, 11, 24), [0, 3])
    assert dates[0] == date(2026, 11, 26)
    assert len(dates) == 6


def test_esketamine_is_twice_weekly_for_four_weeks_then_weekly_for_four():
    """Esketamine: 8 sessions on both weekdays, then 4 weekly on the first weekday."""
    dates = pattern_dates("esketamine", MONDAY, [3, 0])
    assert len(dates) == 12
    induction, weekly = dates[:8], dates[8:]
    assert {d.weekday() for d in induction} == {0, 3}
    assert (induction[-1] - induction[0]).days < 28
    assert all(d.weekday() == 0 for d in weekly)
    assert [(b - a).days for a, b in itertools.pairwise(weekly)] == [7, 7, 7]
    assert weekly[0] > induction[-1]


@pytest.mark.parametrize("weekdays", [[], [0], [0, 2, 4], [0, 9]])
def test_patterns_need_exactly_two_weekdays(weekdays):
    """One, three, none or an impossible weekday is refused with a field message."""
    with pytest.raises(Invalid) as error:
        pattern_dates("six_over_three_weeks", MONDAY, weekdays)
    assert "weekdays" in error.value.fields


def test_unknown_pattern_is_refused():
    """Only the known patterns are accepted."""
    with pytest.raises(Invalid):
        pattern_dates("monthly", MONDAY, [0, 3])


def test_local_clock_time_is_kept_across_the_autumn_change():
    """10:00 in New York is 14:00 UTC before 1 Nov 2026 and 15:00 UTC after."""
    before = local_to_utc(date(2026, 10, 29), time(10), "America/New_York")
    after = local_to_utc(date(2026, 11, 2), time(10), "America/New_York")
    assert (before.hour, after.hour) == (14, 15)
    assert to_local(before, "America/New_York").hour == to_local(after, "America/New_York").hour


def test_local_clock_time_is_kept_across_the_spring_change_in_europe():
    """09:30 in Berlin stays 09:30 when clocks go forward on 29 March 2026."""
    dates = pattern_dates("six_over_three_weeks", date(2026, 3, 23), [0, 3])
    local_hours = {
        to_local(local_to_utc(d, time(9, 30), "Europe/Berlin"), "Europe/Berlin").time()
        for d in dates
    }
    assert local_hours == {time(9, 30)}
    utc_hours = {local_to_utc(d, time(9, 30), "Europe/Berlin").hour for d in dates}
    assert utc_hours == {8, 7}


def test_custom_dates_are_read_one_per_line_and_sorted():
    """Custom dates are sorted and blank lines ignored."""
    moments = parse_custom_times("2026-12-03 10:00\n\n2026-12-01  09:30\n")
    assert moments == [(date(2026, 12, 1), time(9, 30)), (date(2026, 12, 3), time(10, 0))]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one"),
        ("tomorrow at ten", "Line 1"),
        ("2026-12-01 10:00\n2026-13-01 10:00", "Line 2"),
        ("2026-12-01 10:00\n2026-12-01 10:00", "twice"),
    ],
)
def test_bad_custom_dates_say_what_is_wrong(text, message):
    """Unreadable, missing or repeated dates are refused with a message naming the problem."""
    with pytest.raises(Invalid) as error:
        parse_custom_times(text)
    assert message in " ".join(error.value.fields["custom_dates"]) + error.value.message
