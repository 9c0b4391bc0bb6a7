"""Course dates: patterns of dates and custom date lists, on the clinic's calendar.

Times are stored in UTC and entered in the clinic's time zone. Each session's local date and
clock time are converted on their own, so a course that crosses a daylight-saving change
keeps its 10:00 appointments at 10:00.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from kap.models import CoursePattern
from kap.services.errors import Invalid

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_CUSTOM_SESSIONS = 30


def _dates_on_weekdays(start: date, weekdays: Sequence[int], count: int) -> list[date]:
    chosen = set(weekdays)
    dates: list[date] = []
    day = start
    while len(dates) < count:
        if day.weekday() in chosen:
            dates.append(day)
        day += timedelta(days=1)
    return dates


def pattern_dates(pattern: str, start: date, weekdays: Sequence[int]) -> list[date]:
    """The session dates of a course pattern starting on or after ``start``.

    Six over three weeks: the two chosen weekdays, three weeks running. Esketamine: the two
    chosen weekdays for four weeks, then weekly on the first of them for four more weeks.
    """
    weekdays = sorted(set(weekdays))
    if len(weekdays) != 2 or any(not 0 <= d <= 6 for d in weekdays):
        raise Invalid("Choose two weekdays.", {"weekdays": ["Choose exactly two weekdays."]})
    if pattern == CoursePattern.SIX_OVER_THREE_WEEKS:
        return _dates_on_weekdays(start, weekdays, 6)
    if pattern == CoursePattern.ESKETAMINE:
        induction = _dates_on_weekdays(start, weekdays, 8)
        weekly_start = induction[-1] + timedelta(days=1)
        return induction + _dates_on_weekdays(weekly_start, weekdays[:1], 4)
    raise Invalid("Choose a pattern.", {"pattern": ["Choose a course pattern."]})


def parse_custom_times(text: str) -> list[tuple[date, time]]:
    """Lines like '2026-12-01 10:00' (one session each), for custom courses."""
    moments: list[tuple[date, time]] = []
    problems: list[str] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            moment = datetime.strptime(" ".join(line.split()), "%Y-%m-%d %H:%M")
        except ValueError:
            problems.append(f"Line {number}: write the date and time as 2026-12-01 10:00.")
            continue
        moments.append((moment.date(), moment.time()))
    if problems:
        raise Invalid("Some dates could not be read.", {"custom_dates": problems})
    if not moments:
        raise Invalid("Add at least one date.", {"custom_dates": ["Add at least one date."]})
    if len(moments) > MAX_CUSTOM_SESSIONS:
        raise Invalid(
            "Too many dates.",
            {"custom_dates": [f"At most {MAX_CUSTOM_SESSIONS} sessions in one course."]},
        )
    if len(set(moments)) != len(moments):
        raise Invalid("A date is listed twice.", {"custom_dates": ["Remove the repeated date."]})
    return sorted(moments)


def course_local_times(
    pattern: str,
    *,
    start_date: date | None,
    weekdays: Sequence[int],
    clock: time | None,
    custom_times: str,
) -> list[tuple[date, time]]:
    """The local (date, clock time) of every session a course would have, in order.

    The one home of the rule: scheduling books these, and the course form previews them.
    """
    if pattern == CoursePattern.CUSTOM:
        return parse_custom_times(custom_times)
    if start_date is None or clock is None:
        fields = {}
        if start_date is None:
            fields["start_date"] = ["Choose the first date."]
        if clock is None:
            fields["clock"] = ["Choose the time of day."]
        raise Invalid("Choose when the course starts.", fields)
    return [(day, clock) for day in pattern_dates(pattern, start_date, weekdays)]
