"""``music_over_today``: whether a patient's journal and integration page keep session mode's
dim palette (one of their sessions booked for the clinic's today is past its music). It asks
one prebuilt statement; these tests hold it to the rule it replaced, today's sessions read
through ``todays_sessions`` and looked at one by one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kap.extensions import db
from kap.models import Clinic, SessionStatus, TreatmentSession, User
from kap.services.sessions.queries import MUSIC_OVER, music_over_today, todays_sessions

#: Sunday 8 March 2026: Los Angeles moves its clocks forward at 02:00 (UTC-8 to UTC-7).
SPRING_FORWARD_MORNING = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)  # 03:00 PDT


def _set(app, session_id: int, status: SessionStatus, at: datetime | None = None) -> None:
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        session.status = status
        if at is not None:
            session.scheduled_at = at
        db.session.get(Clinic, session.clinic_id).timezone = "America/Los_Angeles"
        db.session.commit()


def _answers(app, email: str, now: datetime) -> tuple[bool, bool]:
    """(the prebuilt statement's answer, the rule read from today's sessions one by one)."""
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        by_rows = user.is_patient and any(
            s.status in MUSIC_OVER for s in todays_sessions(user, now)
        )
        return music_over_today(user, now), by_rows


@pytest.mark.parametrize("status", list(SessionStatus))
def test_a_session_this_morning_dims_the_page_once_its_music_is_over(
    app, patient, session_id, status
):
    _set(app, session_id, status, datetime(2026, 3, 8, 9, 30, tzinfo=UTC))  # 01:30 PST
    dim, by_rows = _answers(app, patient.email, SPRING_FORWARD_MORNING)
    assert dim is (status in MUSIC_OVER)
    assert dim is by_rows


@pytest.mark.parametrize(
    ("booked", "today"),
    [
        (datetime(2026, 3, 8, 7, 59, tzinfo=UTC), False),  # 23:59 PST on Saturday
        (datetime(2026, 3, 8, 8, 0, tzinfo=UTC), True),  # midnight, Sunday
        (datetime(2026, 3, 9, 6, 59, tzinfo=UTC), True),  # 23:59 PDT, Sunday (23 hours long)
        (datetime(2026, 3, 9, 7, 0, tzinfo=UTC), False),  # midnight, Monday
    ],
)
def test_today_is_the_clinics_calendar_day_across_a_clock_change(
    app, patient, session_id, booked, today
):
    _set(app, session_id, SessionStatus.COMPLETE, booked)
    dim, by_rows = _answers(app, patient.email, SPRING_FORWARD_MORNING)
    assert dim is today
    assert dim is by_rows


def test_only_the_patients_own_sessions_count(app, people, patient, patient2, session_id):
    _set(app, session_id, SessionStatus.INTEGRATION, datetime(2026, 3, 8, 9, 30, tzinfo=UTC))
    assert _answers(app, patient.email, SPRING_FORWARD_MORNING) == (True, True)
    assert _answers(app, patient2.email, SPRING_FORWARD_MORNING) == (False, False)


def test_staff_pages_are_never_dimmed(app, people, session_id):
    _set(app, session_id, SessionStatus.INTEGRATION, datetime(2026, 3, 8, 9, 30, tzinfo=UTC))
    with app.app_context():
        staff = db.session.scalars(db.select(User).where(User.role != "patient")).all()
        assert staff
        assert not any(music_over_today(user, SPRING_FORWARD_MORNING) for user in staff)
