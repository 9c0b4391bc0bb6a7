"""Planning reminders on plain values: each kind's local time and words, quiet hours, DST.

No database: kap.services.reminders.kinds and .timing take plain facts. The clinic is in
America/New_York with the defaults (6 hours of fasting, 24 without alcohol). In that zone the
clocks fall back on Sunday 1 November 2026 (02:00 EDT → 01:00 EST, so 01:30 happens twice)
and spring forward on Sunday 14 March 2027 (02:00 EST → 03:00 EDT, so 02:30 never happens).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from kap.models import SessionStatus
from kap.models.reminders import ALL_REMINDER_KINDS, ReminderKind
from kap.services.measures.checkins import REASON_INTERVAL, DueCheckin
from kap.services.measures.scoring import BUILT_IN
from kap.services.reminders.kinds import (
    ClinicFacts,
    SessionFacts,
    checkin_reminders,
    session_reminders,
)
from kap.services.reminders.timing import (
    LATE_GRACE,
    QuietHours,
    quiet_hours_end,
    send_time,
)
from kap.timezones import local_to_utc, to_local

ZONE = "America/New_York"
CLINIC = ClinicFacts(id=1, timezone=ZONE, fasting_hours=6, substance_free_hours=24)
PATIENT = 5


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def session(
    starts_at: datetime,
    *,
    status: str = SessionStatus.SCHEDULED,
    kinds: tuple[str, ...] = ALL_REMINDER_KINDS,
    started_at: datetime | None = None,
    ride_home: str = "",
) -> SessionFacts:
    return SessionFacts(
        id=7,
        starts_at=starts_at,
        status=status,
        started_at=started_at,
        kinds=frozenset(kinds),
        ride_home=ride_home,
    )


def by_kind(plans) -> dict[str, object]:
    return {plan.kind: plan for plan in plans}


def local(moment: datetime) -> str:
    return f"{to_local(moment, ZONE):%Y-%m-%d %H:%M %Z}"


# Thursday 10 December 2026, 09:00 EST (14:00 UTC).
THURSDAY_9AM = utc(2026, 12, 10, 14)


@pytest.mark.parametrize(
    ("kind", "expected_local", "text"),
    [
        (
            ReminderKind.SESSION_DAY_BEFORE,
            "2026-12-09 18:00 EST",
            "Your session is tomorrow at 09:00.",
        ),
        (
            ReminderKind.SESSION_SOON,
            "2026-12-10 07:00 EST",
            "Your session starts today at 09:00. Your preparation checklist is ready.",
        ),
        (
            ReminderKind.FASTING,
            "2026-12-09 20:00 EST",
            "Stop eating at 03:00 tonight (6 hours before your 09:00 session).",
        ),
        (
            ReminderKind.NO_ALCOHOL,
            "2026-12-09 09:00 EST",
            "No alcohol from now until your session on Thursday at 09:00: "
            "alcohol and ketamine together can be dangerous.",
        ),
        (
            ReminderKind.RIDE,
            "2026-12-09 19:00 EST",
            "Who is driving you home after tomorrow's session? "
            "You may not drive until the next day.",
        ),
    ],
)
def test_each_kind_goes_out_at_its_local_time_with_its_words(kind, expected_local, text):
    """A 09:00 session: 18:00 the day before, 2 h before, stop eating, no alcohol, the ride."""
    plan = by_kind(session_reminders(session(THURSDAY_9AM), CLINIC, PATIENT, None))[kind]
    assert local(plan.scheduled_for) == expected_local
    assert plan.send_at == plan.scheduled_for
    assert plan.text == text
    assert plan.key == f"{kind}:s7:20261210T1400Z"
    assert (plan.patient_id, plan.clinic_id, plan.session_id) == (PATIENT, 1, 7)


def test_pre_session_reminders_open_the_session_and_the_ride_its_answer_page():
    """Every pre-session reminder links to the session; the ride one to its one-tap answer."""
    plans = by_kind(session_reminders(session(THURSDAY_9AM), CLINIC, PATIENT, None))
    assert plans[ReminderKind.RIDE].path == "/patient/sessions/7/ride"
    assert plans[ReminderKind.FASTING].path == "/patient/sessions/7"
    assert set(plans) == {
        ReminderKind.SESSION_DAY_BEFORE,
        ReminderKind.SESSION_SOON,
        ReminderKind.FASTING,
        ReminderKind.NO_ALCOHOL,
        ReminderKind.RIDE,
    }


@pytest.mark.parametrize(
    ("session_local_hour", "expected_local", "text"),
    [
        # Stop at 08:00: before 09:00, so the evening before.
        (
            14,
            "2026-12-09 20:00 EST",
            "Stop eating at 08:00 tomorrow (6 hours before your 14:00 session).",
        ),
        # Stop at 09:00: not before 09:00, so one hour before the stop time.
        (
            15,
            "2026-12-10 08:00 EST",
            "Stop eating at 09:00 today (6 hours before your 15:00 session).",
        ),
        (
            16,
            "2026-12-10 09:00 EST",
            "Stop eating at 10:00 today (6 hours before your 16:00 session).",
        ),
    ],
)
def test_fasting_is_the_evening_before_for_an_early_stop_else_an_hour_before(
    session_local_hour, expected_local, text
):
    """'Stop eating at 06:00' reaches the patient before sleep; a later stop, an hour before."""
    starts = utc(2026, 12, 10, session_local_hour + 5)
    plan = by_kind(session_reminders(session(starts), CLINIC, PATIENT, None))[ReminderKind.FASTING]
    assert local(plan.send_at) == expected_local
    assert plan.text == text


def test_a_ride_already_answered_is_checked_not_asked():
    """Once the patient named their driver, the evening-before reminder asks them to confirm."""
    facts = session(THURSDAY_9AM, ride_home="Sam")
    plan = by_kind(session_reminders(facts, CLINIC, PATIENT, None))[ReminderKind.RIDE]
    assert plan.text == "You said Sam is driving you home after tomorrow's session. Still right?"


def test_a_template_that_turned_kinds_off_sends_only_the_others():
    """The template version's reminder_kinds decide: no fasting, no ride here."""
    kinds = (ReminderKind.SESSION_DAY_BEFORE, ReminderKind.NO_ALCOHOL)
    plans = session_reminders(session(THURSDAY_9AM, kinds=kinds), CLINIC, PATIENT, None)
    assert [plan.kind for plan in plans] == [
        ReminderKind.SESSION_DAY_BEFORE,
        ReminderKind.NO_ALCOHOL,
    ]
    assert session_reminders(session(THURSDAY_9AM, kinds=()), CLINIC, PATIENT, None) == []


def test_a_clinic_without_fasting_or_alcohol_hours_sends_neither():
    """Zero hours means the rule does not apply: nothing to stop."""
    clinic = ClinicFacts(id=1, timezone=ZONE, fasting_hours=0, substance_free_hours=0)
    kinds = {plan.kind for plan in session_reminders(session(THURSDAY_9AM), clinic, PATIENT, None)}
    assert ReminderKind.FASTING not in kinds and ReminderKind.NO_ALCOHOL not in kinds


@pytest.mark.parametrize(
    "status",
    [SessionStatus.CANCELLED, SessionStatus.SESSION, SessionStatus.COMPLETE],
)
def test_only_scheduled_sessions_get_pre_session_reminders(status):
    """A cancelled session gives nothing; one that began gives only the integration prompt."""
    plans = session_reminders(
        session(THURSDAY_9AM, status=status, started_at=THURSDAY_9AM), CLINIC, PATIENT, None
    )
    assert [plan.kind for plan in plans] == (
        [] if status == SessionStatus.CANCELLED else [ReminderKind.INTEGRATION]
    )


def test_integration_is_ten_the_morning_after_the_session_began():
    """Keyed by the session alone: the prompt follows the session once."""
    facts = session(THURSDAY_9AM, status=SessionStatus.COMPLETE, started_at=utc(2026, 12, 10, 15))
    [plan] = session_reminders(facts, CLINIC, PATIENT, None)
    assert local(plan.send_at) == "2026-12-11 10:00 EST"
    assert plan.key == "integration:s7"
    assert plan.path == "/patient/sessions/7/integration"
    assert plan.text == "How are you today? A few words in your journal can help."


def test_a_template_without_integration_sends_no_prompt_after():
    facts = session(
        THURSDAY_9AM,
        status=SessionStatus.COMPLETE,
        started_at=THURSDAY_9AM,
        kinds=(ReminderKind.SESSION_SOON,),
    )
    assert session_reminders(facts, CLINIC, PATIENT, None) == []


def test_a_moved_session_gets_new_keys():
    """Rebooked for another day it is a new appointment: its reminders must go out again."""
    before = {p.key for p in session_reminders(session(THURSDAY_9AM), CLINIC, PATIENT, None)}
    moved = THURSDAY_9AM + timedelta(days=7)
    after = {p.key for p in session_reminders(session(moved), CLINIC, PATIENT, None)}
    assert before.isdisjoint(after)


# Quiet hours -----------------------------------------------------------------------------

NIGHT = QuietHours(time(22), time(7))
AFTERNOON = QuietHours(time(13), time(15))


@pytest.mark.parametrize(
    ("quiet", "moment_local", "expected_local"),
    [
        (NIGHT, (2026, 12, 9, 21, 59), "2026-12-09 21:59 EST"),  # before: unchanged
        (NIGHT, (2026, 12, 9, 22, 0), "2026-12-10 07:00 EST"),  # start is inside
        (NIGHT, (2026, 12, 9, 23, 30), "2026-12-10 07:00 EST"),  # over midnight: next morning
        (NIGHT, (2026, 12, 10, 5, 0), "2026-12-10 07:00 EST"),  # after midnight: same morning
        (NIGHT, (2026, 12, 10, 7, 0), "2026-12-10 07:00 EST"),  # end is outside
        (AFTERNOON, (2026, 12, 10, 14, 0), "2026-12-10 15:00 EST"),
        (AFTERNOON, (2026, 12, 10, 12, 59), "2026-12-10 12:59 EST"),
        (AFTERNOON, (2026, 12, 10, 15, 0), "2026-12-10 15:00 EST"),
        (AFTERNOON, (2026, 12, 10, 23, 0), "2026-12-10 23:00 EST"),
    ],
)
def test_a_reminder_in_quiet_hours_moves_to_their_end(quiet, moment_local, expected_local):
    """[start, end): the start is quiet, the end is not; 22:00-07:00 spans midnight."""
    moment = local_to_utc(date(*moment_local[:3]), time(*moment_local[3:]), ZONE)
    assert local(send_time(moment, quiet, ZONE)) == expected_local


def test_quiet_hours_never_push_a_reminder_past_thirty_minutes_before_its_session():
    """Deferred to 07:00 is fine for a 09:00 session; for a 07:15 one it keeps its own time."""
    quiet = QuietHours(time(17), time(7))
    fine = by_kind(session_reminders(session(THURSDAY_9AM), CLINIC, PATIENT, quiet))
    plan = fine[ReminderKind.SESSION_DAY_BEFORE]
    assert local(plan.send_at) == "2026-12-10 07:00 EST"
    assert plan.text == "Your session is today at 09:00."  # words from when it goes out
    early = utc(2026, 12, 10, 12, 15)  # 07:15 EST
    kept = by_kind(session_reminders(session(early), CLINIC, PATIENT, quiet))
    assert local(kept[ReminderKind.SESSION_DAY_BEFORE].send_at) == "2026-12-09 18:00 EST"
    assert local(kept[ReminderKind.SESSION_SOON].send_at) == "2026-12-10 05:15 EST"


def test_stop_eating_is_said_in_quiet_hours_rather_than_after_the_stop_time():
    """Quiet from 19:00: 'stop eating at 03:00' still goes at 20:00, not at 07:00."""
    quiet = QuietHours(time(19), time(7))
    plans = by_kind(session_reminders(session(THURSDAY_9AM), CLINIC, PATIENT, quiet))
    assert local(plans[ReminderKind.FASTING].send_at) == "2026-12-09 20:00 EST"
    assert local(plans[ReminderKind.FASTING].scheduled_for) == "2026-12-09 20:00 EST"
    ride = plans[ReminderKind.RIDE]  # the ride waits for the morning: 07:00 < 08:30
    assert local(ride.send_at) == "2026-12-10 07:00 EST"
    assert ride.text.startswith("Who is driving you home after today's session?")


def test_integration_waits_for_quiet_hours_to_end_without_a_deadline():
    quiet = QuietHours(time(8), time(12))
    facts = session(THURSDAY_9AM, status=SessionStatus.COMPLETE, started_at=THURSDAY_9AM)
    [plan] = session_reminders(facts, CLINIC, PATIENT, quiet)
    assert local(plan.scheduled_for) == "2026-12-11 10:00 EST"
    assert local(plan.send_at) == "2026-12-11 12:00 EST"


# Daylight-saving changes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_at", "kind", "expected_utc", "expected_local"),
    [
        # Fall back. Monday 2 Nov 09:00 EST: 18:00 on the change day is 18:00 EST.
        (
            utc(2026, 11, 2, 14),
            ReminderKind.SESSION_DAY_BEFORE,
            utc(2026, 11, 1, 23),
            "2026-11-01 18:00 EST",
        ),
        # Sunday 1 Nov 09:00 EST: the day before is still daylight time.
        (
            utc(2026, 11, 1, 14),
            ReminderKind.SESSION_DAY_BEFORE,
            utc(2026, 10, 31, 22),
            "2026-10-31 18:00 EDT",
        ),
        (utc(2026, 11, 1, 14), ReminderKind.RIDE, utc(2026, 10, 31, 23), "2026-10-31 19:00 EDT"),
        # 24 real hours without alcohol: 10:00 daylight time the day before a 09:00 session.
        (
            utc(2026, 11, 1, 14),
            ReminderKind.NO_ALCOHOL,
            utc(2026, 10, 31, 14),
            "2026-10-31 10:00 EDT",
        ),
        # Two real hours before 03:00 EST is the second 01:00.
        (
            utc(2026, 11, 1, 8),
            ReminderKind.SESSION_SOON,
            utc(2026, 11, 1, 6),
            "2026-11-01 01:00 EST",
        ),
        # Spring forward. Monday 15 Mar 09:00 EDT.
        (
            utc(2027, 3, 15, 13),
            ReminderKind.SESSION_DAY_BEFORE,
            utc(2027, 3, 14, 22),
            "2027-03-14 18:00 EDT",
        ),
        # Sunday 14 Mar 09:00 EDT: the day before is standard time.
        (
            utc(2027, 3, 14, 13),
            ReminderKind.SESSION_DAY_BEFORE,
            utc(2027, 3, 13, 23),
            "2027-03-13 18:00 EST",
        ),
        (
            utc(2027, 3, 14, 13),
            ReminderKind.NO_ALCOHOL,
            utc(2027, 3, 13, 13),
            "2027-03-13 08:00 EST",
        ),
        # Two real hours before 04:00 EDT: 01:00 EST (02:00 to 03:00 never happens).
        (
            utc(2027, 3, 14, 8),
            ReminderKind.SESSION_SOON,
            utc(2027, 3, 14, 6),
            "2027-03-14 01:00 EST",
        ),
    ],
)
def test_wall_clock_times_stay_on_the_clock_and_durations_stay_real_across_dst(
    starts_at, kind, expected_utc, expected_local
):
    """18:00 and 19:00 are local clock times; 2 and 24 hours are elapsed time."""
    plan = by_kind(session_reminders(session(starts_at), CLINIC, PATIENT, None))[kind]
    assert plan.send_at == expected_utc
    assert local(plan.send_at) == expected_local


def test_stop_eating_at_the_ambiguous_half_past_one():
    """A 07:30 EST session on the fall-back day: six real hours earlier is the second 01:30."""
    starts = utc(2026, 11, 1, 12, 30)
    plan = by_kind(session_reminders(session(starts), CLINIC, PATIENT, None))[ReminderKind.FASTING]
    assert local(plan.send_at) == "2026-10-31 20:00 EDT"
    assert plan.text == "Stop eating at 01:30 tonight (6 hours before your 07:30 session)."


def test_integration_the_morning_after_spring_forward_is_ten_daylight_time():
    facts = session(
        utc(2027, 3, 13, 15), status=SessionStatus.COMPLETE, started_at=utc(2027, 3, 13, 15)
    )
    [plan] = session_reminders(facts, CLINIC, PATIENT, None)
    assert plan.send_at == utc(2027, 3, 14, 14)
    assert local(plan.send_at) == "2027-03-14 10:00 EDT"


@pytest.mark.parametrize(
    ("quiet", "moment", "expected_utc", "expected_local"),
    [
        # Quiet until the nonexistent 02:30 on 14 March 2027: the instant after the gap.
        (
            QuietHours(time(23), time(2, 30)),
            utc(2027, 3, 14, 4, 30),
            utc(2027, 3, 14, 7, 30),
            "2027-03-14 03:30 EDT",
        ),
        # Quiet until the ambiguous 01:30 on 1 November 2026: its first occurrence (EDT).
        (
            QuietHours(time(23), time(1, 30)),
            utc(2026, 11, 1, 3, 30),
            utc(2026, 11, 1, 5, 30),
            "2026-11-01 01:30 EDT",
        ),
        # Quiet 22:00 to 07:00 over each change: 07:00 on the new clock.
        (NIGHT, utc(2026, 11, 1, 3), utc(2026, 11, 1, 12), "2026-11-01 07:00 EST"),
        (NIGHT, utc(2027, 3, 14, 4), utc(2027, 3, 14, 11), "2027-03-14 07:00 EDT"),
    ],
)
def test_quiet_hours_end_across_dst(quiet, moment, expected_utc, expected_local):
    end = quiet_hours_end(moment, quiet, ZONE)
    assert end == expected_utc
    assert local(end) == expected_local


def test_a_moment_in_the_repeated_hour_after_a_first_occurrence_end_is_not_held_back():
    """Quiet 01:00-01:30 on the fall-back night: 01:15 EST (second pass) is past the end."""
    quiet = QuietHours(time(1), time(1, 30))
    second_pass = utc(2026, 11, 1, 6, 15)  # 01:15 EST
    assert send_time(second_pass, quiet, ZONE) == second_pass


# Check-ins -------------------------------------------------------------------------------


def due(since: datetime) -> DueCheckin:
    return DueCheckin(spec=BUILT_IN["phq9"], reason=REASON_INTERVAL, due_since=since)


def test_a_checkin_due_at_night_is_reminded_at_ten_that_day_keyed_by_the_local_day():
    now = utc(2026, 12, 10, 16)
    [plan] = checkin_reminders([due(utc(2026, 12, 10, 8))], CLINIC, PATIENT, None, now)
    assert local(plan.send_at) == "2026-12-10 10:00 EST"
    assert plan.key == "checkin_due:phq9:2026-12-10"
    assert plan.text == "PHQ-9 is due. It takes a few minutes."
    assert plan.path == "/patient/check-ins/phq9"


def test_a_checkin_due_in_the_afternoon_is_reminded_then():
    now = utc(2026, 12, 10, 21)
    [plan] = checkin_reminders([due(utc(2026, 12, 10, 20, 30))], CLINIC, PATIENT, None, now)
    assert local(plan.send_at) == "2026-12-10 15:30 EST"


def test_a_checkin_missed_beyond_the_grace_is_reminded_now_under_the_same_key():
    """Opted in two days after it fell due: reminded this minute, still once (same key)."""
    now = utc(2026, 12, 12, 16, 0, 42)
    [plan] = checkin_reminders([due(utc(2026, 12, 10, 15))], CLINIC, PATIENT, None, now)
    assert plan.send_at == utc(2026, 12, 12, 16, 0)
    assert plan.send_at >= now - LATE_GRACE
    assert plan.key == "checkin_due:phq9:2026-12-10"


def test_a_missed_checkin_waits_for_quiet_hours_to_end():
    now = utc(2026, 12, 12, 4)  # 23:00 EST
    [plan] = checkin_reminders([due(utc(2026, 12, 10, 15))], CLINIC, PATIENT, NIGHT, now)
    assert local(plan.send_at) == "2026-12-12 07:00 EST"
