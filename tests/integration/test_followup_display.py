"""The measurement schedule and the PHQ-9 signals where people look: the therapist dashboard
(overdue check-ins, the signal in words), the patient's timeline (the numbers behind it) and
the patient's home (why each check-in is due)."""

from __future__ import annotations

import re
from datetime import timedelta

from kap.extensions import db
from kap.models import MeasureResponse, TreatmentSession
from kap.models.base import utcnow
from kap.services.measures.schedule import REASON_COURSE_END
from kap.services.people.workspace import dashboard_rows
from kap.timezones import to_local
from tests.followup_data import patient_after_a_course
from tests.helpers import user_by_email


def _day(moment, zone: str) -> str:
    local = to_local(moment, zone)
    return f"{local.day} {local:%b}"


def test_dashboard_row_names_overdue_check_ins_and_the_signal(app, client, auth, people):
    """After a course: PHQ-9 and GAD-7 overdue (end of course unanswered), a possible relapse
    with the date to review a booster by, all in words."""
    now = utcnow()
    with app.app_context():
        therapist = user_by_email("therapist@demo.test")
        patient = patient_after_a_course(therapist, 1, now)
        db.session.commit()
        row = next(r for r in dashboard_rows(therapist, now) if r.patient.id == patient.id)
        overdue = {item.instrument: item for item in row.overdue}
        zone = therapist.clinic.timezone
    assert {"phq9", "gad7"} <= set(overdue)
    assert overdue["phq9"].reason == REASON_COURSE_END
    assert row.signal is not None and row.signal.label == "Possible relapse"
    assert row.signal.review_by == now - 3 * timedelta(days=1) + timedelta(days=7)
    auth.login("therapist@demo.test")
    page = client.get("/therapist/").text
    since = _day(row.overdue_since, zone)
    assert row.overdue_since == min(item.overdue_since for item in row.overdue)
    names = re.escape(row.overdue_names)
    assert "PHQ-9" in row.overdue_names and "GAD-7" in row.overdue_names
    assert re.search(
        rf"{names} overdue</strong> <span class=\"small\">since <time[^>]*>{since}<", page
    )
    review = _day(row.signal.review_by, zone)
    assert "Possible relapse — review a booster by <time" in page
    assert f">{review}</time>" in page


def test_dashboard_without_a_course_shows_nothing_overdue(app, client, auth, people):
    """Pat Jordan's course is running and answered: no badge of a signal that is not there."""
    auth.login("therapist@demo.test")
    page = client.get("/therapist/").text
    assert "Check-ins and signals" in page
    assert "review a booster" not in page


def test_timeline_shows_the_signal_with_its_numbers(app, client, auth, people):
    """Baseline 20, lowest 4, latest 14: -30 %, a possible relapse after four sessions."""
    now = utcnow()
    with app.app_context():
        patient = patient_after_a_course(user_by_email("therapist@demo.test"), 2, now)
        db.session.commit()
        patient_id = patient.id
    auth.login("therapist@demo.test")
    page = client.get(f"/therapist/patients/{patient_id}").text
    section = page[page.index('id="signals"') : page.index('id="measures-heading"')]
    assert "Possible relapse" in section
    numbers = dict(re.findall(r"<dt>([^<]+)</dt><dd>(-?[\d.+]+)", section))
    assert numbers == {
        "Baseline": "20",
        "Latest": "14",
        "Lowest": "4",
        "Change": "-30.0",
        "Sessions completed": "4",
    }
    assert "PHQ-9 up 10 from the course's lowest (4) and over 10. Review a booster by" in section
    assert "GAD-7 overdue" in section and "(end of the course)" in section
    assert "not advice" in section


def test_timeline_says_no_baseline(app, client, auth, people):
    """A course without a PHQ-9 before its first session: no signal, and it says why."""
    now = utcnow()
    with app.app_context():
        patient = patient_after_a_course(user_by_email("therapist@demo.test"), 3, now)
        db.session.execute(
            db.delete(MeasureResponse).where(
                MeasureResponse.patient_id == patient.id,
                MeasureResponse.created_at < now - timedelta(days=20),
            )
        )
        db.session.commit()
        patient_id = patient.id
    auth.login("therapist@demo.test")
    page = client.get(f"/therapist/patients/{patient_id}").text
    assert "No baseline: no PHQ-9 before the course's first session, so no signal." in page


def test_patient_home_says_why_each_check_in_is_due(app, client, auth, people):
    """Robin's first session is tomorrow: the PHQ-9 is asked 'before your first session on
    <that day>'."""
    with app.app_context():
        robin = user_by_email("patient2@demo.test")
        first = db.session.scalar(
            db.select(TreatmentSession)
            .where(TreatmentSession.patient_id == robin.id)
            .order_by(TreatmentSession.scheduled_at)
        )
        local = to_local(first.scheduled_at, robin.clinic.timezone)
    auth.login("patient2@demo.test")
    page = client.get("/patient/").text
    words = f"Before your first session on {local:%A} {local.day} {local:%b}"
    assert f'Answer the PHQ-9</a> <span class="muted small">({words})</span>' in page
    assert "(Your monthly check)" in page
