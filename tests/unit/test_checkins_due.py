"""When check-ins are due (kap.services.measures.schedule): a baseline before a course, before
each session, the day after each session, weekly while a course runs, at its end, one and three
months after it, monthly; and when a due one is overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kap.extensions import db
from kap.models import SessionStatus, TreatmentSession, User
from kap.services.measures.checkins import checkins_due, record_checkin
from kap.services.measures.schedule import (
    REASON_AFTER_SESSION,
    REASON_BASELINE,
    REASON_BEFORE_SESSION,
    REASON_COURSE_END,
    REASON_INTERVAL,
    REASON_MONTHLY,
    REASON_ONE_MONTH,
    REASON_THREE_MONTHS,
    DueCheckin,
    EndedCourse,
    EndedSession,
    due_checkins,
    reason_words,
)
from kap.services.measures.scoring import BUILT_IN

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _due(*, next_at=None, ends=(), taken=None, interval=7, now=NOW):
    """{instrument: (reason, due_since)} for the given schedule and check-in times."""
    items = due_checkins(
        now,
        next_session_at=next_at,
        session_ends=list(ends),
        latest_taken=taken or {},
        interval_days=interval,
    )
    return {item.instrument: (item.reason, item.due_since) for item in items}


def test_nothing_is_due_without_sessions():
    """A patient with no sessions is never asked, however long ago they last answered."""
    assert _due() == {}
    assert _due(taken={"phq9": NOW - 90 * DAY}) == {}


def test_both_are_due_from_three_days_before_the_first_session():
    """Before a first session PHQ-9 and GAD-7 are due from 3 days before it."""
    next_at = NOW + 2 * DAY
    expected = (REASON_BEFORE_SESSION, next_at - 3 * DAY)
    assert _due(next_at=next_at) == {"phq9": expected, "gad7": expected}


def test_nothing_is_due_while_the_session_is_more_than_three_days_away():
    """A first session 5 days ahead asks for nothing yet."""
    assert _due(next_at=NOW + 5 * DAY) == {}


def test_a_check_in_within_three_days_before_the_session_counts():
    """Answering the PHQ-9 yesterday for tomorrow's session leaves only the GAD-7 due."""
    due = _due(next_at=NOW + DAY, taken={"phq9": NOW - DAY})
    assert set(due) == {"gad7"}


def test_a_check_in_since_the_previous_session_ended_counts():
    """After a session 10 days ago, a check-in 6 days ago covers the next session too."""
    due = _due(
        next_at=NOW + 2 * DAY,
        ends=[NOW - 10 * DAY],
        taken={"phq9": NOW - 6 * DAY, "gad7": NOW - 6 * DAY},
    )
    assert due == {}


def test_sessions_close_together_each_need_a_check_in_after_the_previous_one():
    """Twice-weekly sessions: one taken before the previous session no longer counts.

    Previous session ended yesterday, next is tomorrow: a check-in 4 days ago is stale,
    one 36 hours ago (inside the 3 days before the session) still counts.
    """
    schedule = {"next_at": NOW + DAY, "ends": [NOW - DAY]}
    stale = _due(**schedule, taken={"phq9": NOW - 4 * DAY, "gad7": NOW - 36 * timedelta(hours=1)})
    assert stale == {"phq9": (REASON_BEFORE_SESSION, NOW - DAY)}


def test_interval_check_in_is_due_a_week_after_the_last_session():
    """With no session ahead, both fall due 7 days after the last one ended, not before."""
    ended = NOW - 8 * DAY
    expected = (REASON_INTERVAL, ended + 7 * DAY)
    assert _due(ends=[ended]) == {"phq9": expected, "gad7": expected}
    assert _due(ends=[NOW - 6 * DAY]) == {}


def test_interval_counts_from_the_latest_check_in_since_the_session():
    """Every week after the last check-in: answered 5 days ago is fine, 8 days ago is due."""
    ended = NOW - 30 * DAY
    assert _due(ends=[ended], taken={"phq9": NOW - 5 * DAY, "gad7": NOW - 5 * DAY}) == {}
    due = _due(ends=[ended], taken={"phq9": NOW - 8 * DAY, "gad7": NOW - 5 * DAY})
    assert due == {"phq9": (REASON_INTERVAL, NOW - DAY)}


def test_interval_follows_the_clinic_setting():
    """A clinic that asks every 14 days does not ask 10 days after the session."""
    assert _due(ends=[NOW - 10 * DAY], interval=14) == {}
    assert set(_due(ends=[NOW - 15 * DAY], interval=14)) == {"phq9", "gad7"}


def test_one_entry_per_instrument_and_the_session_reason_wins():
    """Overdue weekly and due before tomorrow's session: listed once, as before the session."""
    due = _due(next_at=NOW + DAY, ends=[NOW - 9 * DAY])
    assert [reason for reason, _ in due.values()] == [REASON_BEFORE_SESSION] * 2


SIDE_EFFECTS, BLADDER = BUILT_IN["side_effects"], BUILT_IN["bladder"]
HOUR, SECOND = timedelta(hours=1), timedelta(seconds=1)


def _after(ended_ago, taken_ago=None, *, session_id=7):
    """The side-effect check's entry (reason, due_since, session) for a session that ended
    ``ended_ago`` before NOW, last answered ``taken_ago`` before NOW (None: never)."""
    ended = NOW - ended_ago
    items = due_checkins(
        NOW,
        next_session_at=None,
        session_ends=[ended],
        latest_taken={} if taken_ago is None else {"side_effects": NOW - taken_ago},
        interval_days=7,
        instruments=(),
        after_sessions=[EndedSession(ended, session_id, [SIDE_EFFECTS])],
    )
    return [(item.reason, item.due_since, item.session_id) for item in items]


@pytest.mark.parametrize(
    ("ended_ago", "taken_ago", "due"),
    [
        (0 * DAY, None, False),  # the moment it ends: still recovering, not asked yet
        (DAY - SECOND, None, False),
        (DAY, None, True),  # 24 hours after the end
        (3 * DAY, None, True),
        (4 * DAY, None, True),  # exactly 3 days after it fell due: still asked
        (4 * DAY + SECOND, None, False),  # then no longer
        (2 * DAY, 3 * DAY, True),  # answered before the session: not about this one
        (2 * DAY, DAY + SECOND, True),  # answered on the day of the session: still due
        (2 * DAY, DAY, False),  # answered when it fell due
        (2 * DAY, HOUR, False),  # answered after it
    ],
)
def test_after_session_questionnaires_from_24_hours_for_three_days(ended_ago, taken_ago, due):
    """Due from 24 hours after a completed session's end for 3 days, unless answered since."""
    expected = [(REASON_AFTER_SESSION, NOW - ended_ago + DAY, 7)] if due else []
    assert _after(ended_ago, taken_ago) == expected


def test_after_session_asks_about_the_latest_session():
    """Two sessions' windows open: answered after the first only, it is due for the second."""
    first, second = NOW - 3 * DAY, NOW - 30 * HOUR
    items = due_checkins(
        NOW,
        next_session_at=None,
        session_ends=[first, second],
        latest_taken={"side_effects": NOW - DAY},
        interval_days=7,
        instruments=(),
        after_sessions=[
            EndedSession(first, 1, [SIDE_EFFECTS]),
            EndedSession(second, 2, [SIDE_EFFECTS]),
        ],
    )
    assert [(item.instrument, item.session_id) for item in items] == [("side_effects", 2)]


def _monthly(taken_ago=None, *, start_ago=60 * DAY):
    items = due_checkins(
        NOW,
        next_session_at=None,
        session_ends=[],
        latest_taken={} if taken_ago is None else {"bladder": NOW - taken_ago},
        interval_days=7,
        instruments=(),
        monthly=[BLADDER],
        monthly_from=None if start_ago is None else NOW - start_ago,
    )
    return [(item.instrument, item.reason, item.due_since) for item in items]


@pytest.mark.parametrize(
    ("taken_ago", "due_since_ago"),
    [
        (None, 60 * DAY),  # never answered: due since the schedule began
        (29 * DAY, None),
        (30 * DAY - SECOND, None),
        (30 * DAY, 0 * DAY),  # exactly 30 days ago: due now
        (45 * DAY, 15 * DAY),
    ],
)
def test_monthly_questionnaires_when_none_was_answered_in_30_days(taken_ago, due_since_ago):
    """Monthly: due when the latest answer is 30 days old or more (or there is none)."""
    expected = [] if due_since_ago is None else [("bladder", REASON_MONTHLY, NOW - due_since_ago)]
    assert _monthly(taken_ago) == expected


def test_monthly_needs_a_session_of_a_template_asking_it():
    """No session of such a template, nothing monthly; one starting later, not yet."""
    assert _monthly(start_ago=None) == []
    assert _monthly(start_ago=-DAY) == []


def test_each_instrument_is_listed_once_the_first_reason_winning():
    """A code asked before the session, after the last one and monthly appears once."""
    ended = NOW - DAY
    items = due_checkins(
        NOW,
        next_session_at=NOW + DAY,
        session_ends=[ended],
        latest_taken={},
        interval_days=7,
        instruments=[BUILT_IN["phq9"]],
        after_sessions=[EndedSession(ended, 3, [BUILT_IN["phq9"], SIDE_EFFECTS])],
        monthly=[BUILT_IN["phq9"], BLADDER],
        monthly_from=NOW - 10 * DAY,
    )
    assert [(item.instrument, item.reason) for item in items] == [
        ("phq9", REASON_BEFORE_SESSION),
        ("side_effects", REASON_AFTER_SESSION),
        ("bladder", REASON_MONTHLY),
    ]


PHQ9, GAD7 = BUILT_IN["phq9"], BUILT_IN["gad7"]


def _schedule(*, next_at=None, first=False, ends=(), course=None, taken=None, now=NOW):
    """[(instrument, reason, due_since)] for PHQ-9 and GAD-7 as the template's check-ins."""
    items = due_checkins(
        now,
        next_session_at=next_at,
        next_session_id=None if next_at is None else 9,
        next_is_first_of_course=first,
        session_ends=list(ends),
        latest_taken=taken or {},
        interval_days=7,
        instruments=[PHQ9, GAD7],
        ended_course=course,
    )
    return [(item.instrument, item.reason, item.due_since) for item in items]


@pytest.mark.parametrize(
    ("taken_before_session", "due"),
    [
        (None, True),
        (20 * DAY, True),  # answered after the previous course ended: no baseline for this one
        (3 * DAY + SECOND, True),  # just before the 3 days before the session
        (3 * DAY, False),  # at the start of those 3 days: counts
        (2 * DAY, False),
    ],
)
def test_baseline_before_the_first_session_of_a_course(taken_before_session, due):
    """The first session of a course asks for a baseline answered in the 3 days before it,
    even when the patient answered since a previous course's last session."""
    next_at = NOW + 2 * DAY  # due since yesterday
    taken = {"gad7": NOW}
    if taken_before_session is not None:
        taken["phq9"] = next_at - taken_before_session
    expected = [("phq9", REASON_BASELINE, next_at - 3 * DAY)] if due else []
    assert _schedule(next_at=next_at, first=True, ends=[NOW - 30 * DAY], taken=taken) == expected


def test_a_later_session_is_before_session_not_baseline():
    """Only the first session of a course is a baseline; the others are before_session."""
    reasons = {r for _, r, _ in _schedule(next_at=NOW + DAY, ends=[NOW - 3 * DAY])}
    assert reasons == {REASON_BEFORE_SESSION}


def _course(ended_ago):
    return EndedCourse(NOW - ended_ago, 5, [PHQ9, GAD7])


@pytest.mark.parametrize(
    ("ended_ago", "reason", "since_end"),
    [
        (DAY - SECOND, None, None),  # still recovering from the last session
        (DAY, REASON_COURSE_END, DAY),
        (15 * DAY, REASON_COURSE_END, DAY),  # 14 days after it fell due: still asked
        (15 * DAY + SECOND, None, None),  # then not; and no weekly check-in either
        (30 * DAY - SECOND, None, None),
        (30 * DAY, REASON_ONE_MONTH, 30 * DAY),
        (44 * DAY, REASON_ONE_MONTH, 30 * DAY),
        (44 * DAY + SECOND, None, None),
        (60 * DAY, None, None),
        (90 * DAY, REASON_THREE_MONTHS, 90 * DAY),
        (104 * DAY, REASON_THREE_MONTHS, 90 * DAY),
        (104 * DAY + SECOND, None, None),
        (200 * DAY, None, None),
    ],
)
def test_course_end_and_one_and_three_months_after(ended_ago, reason, since_end):
    """The check-ins at the end of a course (from 24 h) and 30 and 90 days after its last
    session, each due for 14 days; nothing weekly once the course has ended."""
    end = NOW - ended_ago
    due = _schedule(ends=[end], course=_course(ended_ago))
    expected = [] if reason is None else [("phq9", reason, end + since_end)]
    assert [item for item in due if item[0] == "phq9"] == expected


def test_a_follow_up_answered_since_it_fell_due_is_done():
    """Answered on the day the one-month check-in fell due: done; answered before: still due."""
    end = NOW - 31 * DAY
    done = _schedule(ends=[end], course=_course(31 * DAY), taken={"phq9": end + 30 * DAY})
    assert [item[0] for item in done] == ["gad7"]
    taken = {"phq9": end + 30 * DAY - SECOND, "gad7": end + 30 * DAY - SECOND}
    assert len(_schedule(ends=[end], course=_course(31 * DAY), taken=taken)) == 2


def test_the_weekly_check_in_runs_while_a_course_runs():
    """A course not yet ended (no EndedCourse) and sessions outside any course keep the
    weekly check-in; a course that ended with an earlier session does not stop it."""
    assert {r for _, r, _ in _schedule(ends=[NOW - 8 * DAY])} == {REASON_INTERVAL}
    earlier_course = _course(20 * DAY)  # a later session (outside it) ended 8 days ago
    due = _schedule(ends=[NOW - 20 * DAY, NOW - 8 * DAY], course=earlier_course)
    assert {r for _, r, _ in due} == {REASON_INTERVAL}


def test_a_new_course_baseline_wins_over_the_old_course_follow_up():
    """One month after a course, with the next course starting tomorrow: asked once, as its
    baseline."""
    due = _schedule(next_at=NOW + DAY, first=True, ends=[NOW - 31 * DAY], course=_course(31 * DAY))
    assert {r for _, r, _ in due} == {REASON_BASELINE}


def _item(reason, due_since, session_at=None):
    return DueCheckin(PHQ9, reason, due_since, 1 if session_at else None, session_at)


@pytest.mark.parametrize(
    ("item", "overdue_since"),
    [
        (_item(REASON_INTERVAL, NOW), NOW + 2 * DAY),
        (_item(REASON_ONE_MONTH, NOW), NOW + 2 * DAY),
        (_item(REASON_AFTER_SESSION, NOW, NOW - DAY), NOW + 2 * DAY),  # its window lasts 3
        (_item(REASON_BEFORE_SESSION, NOW, NOW + 3 * DAY), NOW + 2 * DAY),
        (_item(REASON_BEFORE_SESSION, NOW, NOW + DAY), NOW + DAY),  # the session starts first
        (_item(REASON_BASELINE, NOW, NOW + 5 * HOUR), NOW + 5 * HOUR),
    ],
)
def test_overdue_two_days_after_falling_due_or_at_the_session(item, overdue_since):
    """Overdue 2 days after it fell due; a pre-session one at the latest when the session
    starts."""
    assert item.overdue_since == overdue_since
    assert not item.is_overdue(overdue_since - SECOND)
    assert item.is_overdue(overdue_since)


ZONE = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("item", "words"),
    [
        (
            _item(REASON_BASELINE, NOW, NOW + 2 * DAY),
            "Before your first session on Thursday 12 Mar",
        ),
        (_item(REASON_BEFORE_SESSION, NOW, NOW + DAY), "Before your session on Wednesday 11 Mar"),
        (_item(REASON_AFTER_SESSION, NOW, NOW - DAY), "The day after your session"),
        (_item(REASON_COURSE_END, NOW), "At the end of your course"),
        (_item(REASON_ONE_MONTH, NOW), "One month after your course"),
        (_item(REASON_THREE_MONTHS, NOW), "Three months after your course"),
        (_item(REASON_INTERVAL, NOW), "Your regular check-in between sessions"),
        (_item(REASON_MONTHLY, NOW), "Your monthly check"),
    ],
)
def test_each_reason_in_words(item, words):
    """The patient's home says why, with the session's day in the clinic's time zone."""
    assert reason_words(item, ZONE) == words


def test_the_session_day_is_the_clinic_s_local_day():
    """23:30 UTC on a Tuesday is Wednesday in Sydney."""
    late = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    item = _item(REASON_BEFORE_SESSION, NOW, late)
    assert reason_words(item, ZoneInfo("Australia/Sydney")).endswith("Wednesday 11 Mar")


def _patient_session(email: str) -> tuple[User, TreatmentSession]:
    patient = db.session.scalar(db.select(User).where(User.email == email))
    session = db.session.scalar(
        db.select(TreatmentSession)
        .where(TreatmentSession.patient_id == patient.id)
        .order_by(TreatmentSession.scheduled_at)
    )
    return patient, session


def test_checkins_due_reads_sessions_and_check_ins_from_the_database(ctx, people):
    """patient2's first session is tomorrow: both due; answering the PHQ-9 leaves the GAD-7."""
    patient, first = _patient_session("patient2@demo.test")
    now = first.scheduled_at - DAY
    due = checkins_due(patient, now)
    assert [(d.instrument, d.reason, d.session_id) for d in due] == [
        ("phq9", REASON_BASELINE, first.id),  # the first session of its course
        ("gad7", REASON_BASELINE, first.id),
        ("bladder", REASON_MONTHLY, None),  # the template's monthly check, from the same day
    ]
    record_checkin(patient, "phq9", [0] * 9)
    later = max(now, datetime.now(UTC))
    assert [d.instrument for d in checkins_due(patient, later)] == ["gad7", "bladder"]


def test_checkins_due_asks_after_a_completed_session_from_its_template(ctx, people):
    """patient2's first session completed: its side-effect check is due from a day later for
    3 days, linked to the session."""
    patient, first = _patient_session("patient2@demo.test")
    first.status = SessionStatus.COMPLETE
    first.session_started_at = first.scheduled_at
    first.completed_at = first.scheduled_at + 2 * HOUR
    db.session.commit()
    after = [
        d
        for d in checkins_due(patient, first.completed_at + DAY)
        if d.reason == REASON_AFTER_SESSION
    ]
    assert [(d.instrument, d.session_id) for d in after] == [("side_effects", first.id)]
    assert not [
        d
        for d in checkins_due(patient, first.completed_at + DAY - HOUR)
        if d.reason == REASON_AFTER_SESSION
    ]
    assert not [
        d
        for d in checkins_due(patient, first.completed_at + 4 * DAY + HOUR)
        if d.reason == REASON_AFTER_SESSION
    ]


def test_nothing_is_due_during_a_running_session(ctx, people):
    """No questionnaire while the patient is dosed, even if one is overdue."""
    patient, first = _patient_session("patient2@demo.test")
    first.status = SessionStatus.SESSION
    first.session_started_at = first.scheduled_at
    db.session.commit()
    assert checkins_due(patient, first.scheduled_at + timedelta(minutes=20)) == []


def test_follow_ups_belong_to_no_session_the_course_end_to_its_last():
    """A one-month answer is not about the course's last session; the end-of-course one is."""
    end = NOW - 31 * DAY

    def at(now):
        items = due_checkins(
            now,
            next_session_at=None,
            session_ends=[end],
            latest_taken={},
            interval_days=7,
            instruments=[PHQ9],
            ended_course=EndedCourse(end, 5, [PHQ9]),
        )
        return [(i.reason, i.session_id, i.session_at) for i in items]

    assert at(NOW) == [(REASON_ONE_MONTH, None, end)]
    assert at(end + 2 * DAY) == [(REASON_COURSE_END, 5, end)]


def test_after_a_course_in_the_database_and_the_next_course_s_baseline(ctx, people):
    """Read from the database: four sessions completed, the last 4 days ago, ends the course
    (end of course, the side effects of the last session, monthly bladder); a new course's
    first session tomorrow asks for a baseline instead. The batch reads the same."""
    from kap.models import Course, CoursePattern
    from kap.models.base import utcnow
    from kap.services.measures.checkins import checkins_due_for
    from tests.followup_data import patient_after_a_course

    now = utcnow()
    therapist = db.session.scalar(db.select(User).where(User.email == "therapist@demo.test"))
    patient = patient_after_a_course(therapist, 9, now)
    db.session.commit()
    due = checkins_due(patient, now)
    assert [(d.instrument, d.reason) for d in due] == [
        ("side_effects", REASON_AFTER_SESSION),
        ("phq9", REASON_COURSE_END),
        ("gad7", REASON_COURSE_END),
        ("bladder", REASON_MONTHLY),
    ]
    assert checkins_due_for(patient.clinic, [patient.id], now) == {patient.id: due}
    last = db.session.scalar(
        db.select(TreatmentSession)
        .where(TreatmentSession.patient_id == patient.id)
        .order_by(TreatmentSession.scheduled_at.desc())
        .limit(1)
    )
    course = Course(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        template_id=last.template_version.template_id,
        pattern=CoursePattern.CUSTOM,
    )
    course.sessions.append(
        TreatmentSession(
            clinic_id=patient.clinic_id,
            patient_id=patient.id,
            template_version_id=last.template_version_id,
            scheduled_at=now + DAY,
        )
    )
    db.session.add(course)
    db.session.commit()
    reasons = {d.instrument: d.reason for d in checkins_due(patient, now)}
    assert reasons["phq9"] == reasons["gad7"] == REASON_BASELINE
