"""When check-ins are due: before each session, then at the clinic's interval after the last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kap.extensions import db
from kap.models import SessionStatus, TreatmentSession, User
from kap.services.measures.checkins import (
    REASON_BEFORE_SESSION,
    REASON_INTERVAL,
    checkins_due,
    due_checkins,
    record_checkin,
)

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
        ("phq9", REASON_BEFORE_SESSION, first.id),
        ("gad7", REASON_BEFORE_SESSION, first.id),
    ]
    record_checkin(patient, "phq9", [0] * 9)
    assert [d.instrument for d in checkins_due(patient, max(now, datetime.now(UTC)))] == ["gad7"]


def test_nothing_is_due_during_a_running_session(ctx, people):
    """No questionnaire while the patient is dosed, even if one is overdue."""
    patient, first = _patient_session("patient2@demo.test")
    first.status = SessionStatus.SESSION
    first.session_started_at = first.scheduled_at
    db.session.commit()
    assert checkins_due(patient, first.scheduled_at + timedelta(minutes=20)) == []
