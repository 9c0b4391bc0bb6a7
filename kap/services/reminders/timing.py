"""When reminders go out: the constants, and pure time arithmetic in the clinic's zone.

Everything here works on plain values (UTC datetimes, clock times, zone names), so the rules
are tested table by table without a database (tests/unit/test_reminder_timing.py).

Two kinds of time are used on purpose:

- *Wall-clock* times ("18:00 the day before", "10:00 the day after") are local dates and clock
  times converted on their own with zoneinfo (kap.timezones), so 18:00 stays 18:00 across a
  daylight-saving change.
- *Durations* ("2 hours before", "6 hours of fasting", "24 hours without alcohol") are real
  elapsed time, subtracted in UTC: the body does not know the clocks changed, so fasting for
  six hours before a 07:30 session on the night the clocks go back starts at 01:30 standard
  time, six real hours earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from kap.timezones import local_day_of, local_to_utc, to_local

# The constants, each with its reason (the defaults; a clinic chooses which kinds a
# template sends, not these times).

#: "Your session is tomorrow at 09:00": early evening, when people plan the next day.
DAY_BEFORE_AT = time(18, 0)
#: The last nudge on the day: time to leave home, not so early it is forgotten again.
SOON_BEFORE = timedelta(hours=2)
#: A stop-eating time before this clock time is in the night or early morning: the patient
#: must know the evening before (at FASTING_EVENING_AT), not an hour before while asleep.
FASTING_EARLY_STOP_BEFORE = time(9, 0)
FASTING_EVENING_AT = time(20, 0)
#: A later stop time is reminded this long before it: time for one last meal.
FASTING_LEAD = timedelta(hours=1)
#: "Who is driving you home?": the evening before, when a ride can still be arranged.
RIDE_AT = time(19, 0)
#: The day after a session: mid-morning, after a night's sleep, the integration prompt.
INTEGRATION_AT = time(10, 0)
#: A check-in due today is reminded no earlier than this (never at the 03:00 it fell due).
CHECKIN_AT = time(10, 0)
#: Quiet hours never push a pre-session reminder closer to its session than this: a patient
#: who must stop eating needs to know even at night, and a message after the deadline is
#: noise or harm (see ``send_time``).
QUIET_HOURS_MARGIN = timedelta(minutes=30)
#: A reminder missed while the worker was down is still sent this long after its time, never
#: later: a "stop eating" message hours after the session is noise or harm.
LATE_GRACE = timedelta(hours=6)


@dataclass(frozen=True)
class QuietHours:
    """The patient's local hours when nothing is sent: [start, end), over midnight when
    start is after end (22:00 to 07:00)."""

    start: time
    end: time

    def covers(self, clock: time) -> bool:
        """True when the local ``clock`` time falls inside the quiet hours."""
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


def wall_clock_on(day: date, clock: time, timezone: str) -> datetime:
    """The UTC instant of ``clock`` on the local ``day``.

    A clock time the zone skips (02:30 on a spring-forward night) is read with the offset
    before the change: the instant just after the gap (03:30 daylight time). A clock time
    that happens twice (01:30 on a fall-back night) is its first occurrence.
    """
    return local_to_utc(day, clock, timezone)


def days_from(moment: datetime, days: int, clock: time, timezone: str) -> datetime:
    """``clock`` on the local day ``days`` away from the day of ``moment`` (-1: the day before)."""
    return wall_clock_on(local_day_of(moment, timezone) + timedelta(days=days), clock, timezone)


def fasting_reminder_at(stop_eating: datetime, timezone: str) -> datetime:
    """When to say "stop eating at …": the evening before for a night or early-morning stop
    (before FASTING_EARLY_STOP_BEFORE local), else FASTING_LEAD before the stop time."""
    if to_local(stop_eating, timezone).time() < FASTING_EARLY_STOP_BEFORE:
        return days_from(stop_eating, -1, FASTING_EVENING_AT, timezone)
    return stop_eating - FASTING_LEAD


def quiet_hours_end(moment: datetime, quiet: QuietHours, timezone: str) -> datetime | None:
    """The end of the quiet hours ``moment`` falls in (UTC), or None when it falls outside.

    The end is the same night's: 23:30 in 22:00 to 07:00 ends at 07:00 the next morning, 05:00
    at 07:00 that morning.
    """
    local = to_local(moment, timezone)
    clock = local.time()
    if not quiet.covers(clock):
        return None
    day = local.date()
    if quiet.start > quiet.end and clock >= quiet.start:
        day += timedelta(days=1)
    # On a fall-back night a quiet end inside the repeated hour is its first occurrence,
    # which can be before a moment in the second: then nothing waits.
    return max(wall_clock_on(day, quiet.end, timezone), moment)


def send_time(
    moment: datetime,
    quiet: QuietHours | None,
    timezone: str,
    *,
    deadline: datetime | None = None,
) -> datetime:
    """When a reminder meant for ``moment`` goes out, after the patient's quiet hours.

    The rule: a reminder whose local time falls inside [quiet start, quiet end) — over
    midnight when start is after end — moves to the quiet end of that same night or morning.
    But never past what it is about: when that end would be later than ``deadline`` (for a
    pre-session reminder, QUIET_HOURS_MARGIN before the session starts; for "stop eating",
    also no later than the stop time itself), the reminder keeps its own time. A patient who
    must stop eating at 03:00 needs to know even in quiet hours.
    """
    if quiet is None:
        return moment
    end = quiet_hours_end(moment, quiet, timezone)
    if end is None or (deadline is not None and end > deadline):
        return moment
    return end


def floor_to_minute(moment: datetime) -> datetime:
    """``moment`` without its seconds: a catch-up time that is already past a minute later."""
    return moment.replace(second=0, microsecond=0)
