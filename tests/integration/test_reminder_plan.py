"""Planning a patient's reminders from the database: the window, LATE_GRACE, cancelled and
begun sessions, each session's template version, quiet hours, check-ins, and who is walked.

Runs on SQLite and, with KAP_TEST_DATABASE_URL, on PostgreSQL. Demo Clinic is in
America/New_York; the session is Thursday 10 December 2026, 09:00 EST (14:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import event

from kap.extensions import db
from kap.models import SessionStatus, SessionTemplate, TemplateVersion, TreatmentSession
from kap.models.reminders import ALL_REMINDER_KINDS, ReminderKind, ReminderPreference
from kap.services.reminders.plan import patients_to_remind, upcoming_reminders
from kap.services.reminders.timing import LATE_GRACE
from tests.helpers import user_by_email

pytestmark = pytest.mark.usefixtures("demo_people_only")

SESSION_AT = datetime(2026, 12, 10, 14, tzinfo=UTC)
NO_CHECKINS = tuple(kind for kind in ALL_REMINDER_KINDS if kind != ReminderKind.CHECKIN_DUE)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def version(clinic_id: int, kinds=NO_CHECKINS) -> TemplateVersion:
    template = SessionTemplate(clinic_id=clinic_id, name="IV", route="iv")
    row = TemplateVersion(template=template, number=1, reminder_kinds=list(kinds))
    db.session.add_all([template, row])
    db.session.flush()
    return row


def book(email: str, at: datetime = SESSION_AT, kinds=NO_CHECKINS, **fields) -> int:
    patient = user_by_email(email)
    session = TreatmentSession(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        template_version_id=version(patient.clinic_id, kinds).id,
        scheduled_at=at,
        **fields,
    )
    db.session.add(session)
    db.session.commit()
    return session.id


def choose(who: str, **fields) -> None:
    """Set ``who``'s reminder choices (the demo patient has some already)."""
    patient = user_by_email(who)
    preference = db.session.get(ReminderPreference, patient.id)
    if preference is None:
        preference = ReminderPreference(user_id=patient.id, push=False, email=False)
        db.session.add(preference)
    for name, value in {"push": False, "email": False, **fields}.items():
        setattr(preference, name, value)
    db.session.commit()


def plan(now: datetime, until: datetime | None = None, email: str = "patient@demo.test"):
    return upcoming_reminders(user_by_email(email), now, until=until or now + timedelta(days=14))


def test_a_scheduled_session_gives_its_reminders_in_order(ctx, people):
    """Sorted by send_at; keys name the session and its booked time."""
    session_id = book("patient@demo.test")
    plans = plan(utc(2026, 12, 8))
    assert [p.kind for p in plans] == [
        ReminderKind.NO_ALCOHOL,
        ReminderKind.SESSION_DAY_BEFORE,
        ReminderKind.RIDE,
        ReminderKind.FASTING,
        ReminderKind.SESSION_SOON,
    ]
    assert plans[0].key == f"no_alcohol:s{session_id}:20261210T1400Z"
    assert all(p.session_id == session_id for p in plans)


def test_until_is_exclusive_and_the_window_starts_late_grace_ago(ctx, people):
    """[now - LATE_GRACE, until): the day-before reminder (23:00 UTC) at the edges."""
    book("patient@demo.test")
    day_before = utc(2026, 12, 9, 23)
    kinds = lambda plans: [p.kind for p in plans]  # noqa: E731
    assert ReminderKind.SESSION_DAY_BEFORE not in kinds(plan(utc(2026, 12, 9), until=day_before))
    assert ReminderKind.SESSION_DAY_BEFORE in kinds(
        plan(utc(2026, 12, 9), until=day_before + timedelta(seconds=1))
    )
    assert ReminderKind.SESSION_DAY_BEFORE in kinds(plan(day_before + LATE_GRACE))
    late = plan(day_before + LATE_GRACE + timedelta(seconds=1))
    assert ReminderKind.SESSION_DAY_BEFORE not in kinds(late)


def test_nothing_before_a_session_is_sent_once_it_has_started(ctx, people):
    """Two hours before at 12:00 UTC is within the grace at 14:01, but the session began."""
    book("patient@demo.test")
    assert [p.kind for p in plan(SESSION_AT - timedelta(minutes=1))] == [ReminderKind.SESSION_SOON]
    assert plan(SESSION_AT + timedelta(minutes=1)) == []


def test_a_cancelled_session_gives_nothing(ctx, people):
    book("patient@demo.test", status=SessionStatus.CANCELLED)
    assert plan(utc(2026, 12, 8)) == []


def test_the_day_after_a_session_the_integration_prompt(ctx, people):
    session_id = book(
        "patient@demo.test", status=SessionStatus.COMPLETE, session_started_at=SESSION_AT
    )
    [prompt] = plan(utc(2026, 12, 11, 12))
    assert (prompt.kind, prompt.key, prompt.send_at) == (
        ReminderKind.INTEGRATION,
        f"integration:s{session_id}",
        utc(2026, 12, 11, 15),
    )


def test_each_session_follows_its_own_template_version(ctx, people):
    """A version that turned the ride and fasting off keeps them off for its sessions only."""
    book("patient@demo.test")
    later = SESSION_AT + timedelta(days=3)
    book("patient@demo.test", at=later, kinds=(ReminderKind.SESSION_SOON,))
    plans = plan(utc(2026, 12, 8))
    assert [p.kind for p in plans if p.scheduled_for > SESSION_AT] == [ReminderKind.SESSION_SOON]


def test_quiet_hours_are_the_patients_own(ctx, people):
    """Quiet 17:00 to 07:00: the day-before reminder goes at 07:00 on the day."""
    book("patient@demo.test")
    choose("patient@demo.test", quiet_start=time(17), quiet_end=time(7))
    plans = {p.kind: p for p in plan(utc(2026, 12, 8))}
    assert plans[ReminderKind.SESSION_DAY_BEFORE].send_at == utc(2026, 12, 10, 12)
    assert plans[ReminderKind.FASTING].send_at == utc(2026, 12, 10, 1)  # stop at 03:00: kept


def test_another_patients_sessions_are_not_planned(ctx, people):
    book("patient2@demo.test")
    assert plan(utc(2026, 12, 8)) == []
    assert len(plan(utc(2026, 12, 8), email="patient2@demo.test")) == 5


def test_due_check_ins_are_reminded_when_the_template_says_so(ctx, people):
    """Before a session the PHQ-9 and GAD-7 fall due; a template without check-ins is quiet."""
    book("patient@demo.test", kinds=ALL_REMINDER_KINDS)
    now = utc(2026, 12, 8, 16, 0, 30)
    checkins = [p for p in plan(now) if p.kind == ReminderKind.CHECKIN_DUE]
    keys = {p.key for p in checkins}  # E's schedule may ask more (monthly bladder, ...)
    assert {"checkin_due:gad7:2026-12-07", "checkin_due:phq9:2026-12-07"} <= keys
    assert all(p.path == f"/patient/check-ins/{p.key.split(':')[1]}" for p in checkins)
    assert {p.send_at for p in checkins} == {utc(2026, 12, 8, 16)}  # missed: this minute


def test_a_template_without_check_in_reminders_sends_none(ctx, people):
    book("patient@demo.test")
    assert [p for p in plan(utc(2026, 12, 8, 16)) if p.kind == ReminderKind.CHECKIN_DUE] == []


def test_planning_reads_a_fixed_number_of_statements_whatever_the_sessions(ctx, people):
    """One query for all sessions and their versions: no query per session."""

    def statements() -> int:
        seen: list[str] = []
        engine = db.engine

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            plan(utc(2026, 12, 8))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    book("patient@demo.test")
    one = statements()
    for days in range(1, 6):
        book("patient@demo.test", at=SESSION_AT + timedelta(days=days))
    db.session.expire_all()
    assert statements() == one


def test_patients_to_remind_are_those_with_a_sending_channel_on(ctx, people):
    """Push or e-mail on; calendar-only and all-off are not walked; per clinic on request."""
    one = user_by_email("patient@demo.test")
    two = user_by_email("patient2@demo.test")
    other = user_by_email("patient@other.test")
    choose(one.email, push=True)
    choose(two.email)
    choose(other.email, email=True)
    everyone = db.session.scalars(patients_to_remind()).all()
    assert [p.id for p in everyone] == sorted([one.id, other.id])
    demo = db.session.scalars(patients_to_remind(one.clinic_id)).all()
    assert [p.id for p in demo] == [one.id]


def test_a_deactivated_patient_is_not_walked(ctx, people):
    one = user_by_email("patient@demo.test")
    choose(one.email, email=True)
    one.active = False
    db.session.commit()
    assert db.session.scalars(patients_to_remind()).all() == []


def test_a_clinician_has_no_reminders(ctx, people):
    book("patient@demo.test")
    assert plan(utc(2026, 12, 8), email="therapist@demo.test") == []
