"""Discharge under real concurrency (review finding M7): the session is locked first.

Before the fix, discharge read the doses and readings, then UPDATEd: a booster dose or a bad
final committed in between went unseen, and a dose could be written onto a session discharged
a moment earlier. Threads released together by a barrier call the real services against an
app on its own database: a SQLite file here, a fresh PostgreSQL database when
KAP_TEST_DATABASE_URL names PostgreSQL (CI's second pass).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from kap.extensions import db
from kap.models import (
    AuditEvent,
    MedicationAdministration,
    SessionDischarge,
    SessionObservation,
    SessionStatus,
    TreatmentSession,
)
from kap.services.board import administrations, discharge, observations
from kap.services.errors import Conflict
from tests.helpers import user_by_email
from tests.integration.attacks.helpers import race, seeded_app

DRIVER = "Alex Jordan (partner)"
IN_RANGE = dict(systolic=124, diastolic=78, heart_rate=72, spo2=98)
DOSE = {"medication": "Ketamine", "route": "sublingual", "dose": "100", "unit": "mg"}
ROUNDS = 6


@pytest.fixture(scope="module")
def race_app(tmp_path_factory) -> Iterator:
    """The app on its own database, demo data seeded."""
    yield from seeded_app(tmp_path_factory.mktemp("discharge-races"))


def _ready_session(app) -> int:
    """The demo patient's Walkthrough today: dosed 10 minutes ago, a clear final, nothing else."""
    now = datetime.now(UTC)
    with app.app_context():
        patient = user_by_email("patient@demo.test")
        session = db.session.scalar(
            select(TreatmentSession).where(
                TreatmentSession.patient_id == patient.id,
                TreatmentSession.scheduled_at <= now + timedelta(hours=1),
                TreatmentSession.scheduled_at >= now - timedelta(hours=1),
            )
        )
        for model in (SessionDischarge, SessionObservation, MedicationAdministration):
            db.session.execute(delete(model).where(model.session_id == session.id))
        session.status = SessionStatus.DOWNTIME
        session.session_started_at = now - timedelta(minutes=10)
        session.discharged_at = session.discharged_by_id = None
        db.session.add(
            SessionObservation(
                session_id=session.id,
                clinic_id=session.clinic_id,
                kind="final",
                recorded_at=now - timedelta(minutes=1),
                **IN_RANGE,
            )
        )
        db.session.commit()
        session_id = session.id
        db.session.remove()
        return session_id


def _in_app(app, work):
    """Run ``work()`` in its own app context (its own database session); Conflict is returned."""
    with app.app_context():
        try:
            return work()
        except Conflict as refused:
            db.session.rollback()
            return refused
        finally:
            db.session.remove()


def _discharge(app, session_id: int):
    return _in_app(
        app,
        lambda: discharge.discharge(
            user_by_email("therapist@demo.test"), session_id, driver=DRIVER
        ),
    )


def test_ten_parallel_discharges_discharge_once(race_app):
    """Ten tablets press Discharge at once: exactly one discharge row, one audit event."""
    session_id = _ready_session(race_app)
    results = race(10, lambda i: _discharge(race_app, session_id))
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert all(isinstance(r, (Conflict, tuple)) for r in results), results
    with race_app.app_context():
        rows = db.session.scalars(
            select(SessionDischarge).where(SessionDischarge.session_id == session_id)
        ).all()
        events = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "session.discharge", AuditEvent.subject_id == session_id
            )
        ).all()
        assert len(rows) == 1 and len(events) == 1
        db.session.remove()


def _against_discharge(app, write) -> tuple[object, object]:
    """A discharge and ``write(session_id)`` released together on a ready session."""
    session_id = _ready_session(app)

    def attempt(i: int):
        if i == 0:
            return _discharge(app, session_id)
        return _in_app(app, lambda: write(session_id))

    discharged, written = race(2, attempt)
    succeeded = [not isinstance(r, Exception) for r in (discharged, written)]
    assert succeeded.count(True) == 1, (discharged, written)
    return discharged, written


def test_a_discharge_racing_a_booster_dose_never_both_succeed(race_app):
    """Discharge and a dose at once: the dose is refused (discharged), or the discharge sees
    the dose (observation restarts) and is refused; never a dose on a discharged session."""

    def dose(session_id: int):
        return administrations.record_administration(
            user_by_email("admin@demo.test"), session_id, DOSE
        )

    for _ in range(ROUNDS):
        discharged, dosed = _against_discharge(race_app, dose)
        if isinstance(discharged, Conflict):
            assert discharged.code == "discharge_blocked", discharged.message
            assert "observation" in discharged.fields
        else:
            assert "discharged" in dosed.message


def test_a_discharge_racing_a_bad_final_never_skips_it(race_app):
    """Discharge and a final with BP 190/115 at once: the reading is refused (discharged), or
    the discharge sees it and asks for an override reason; never discharged past it unseen."""
    bad = dict(systolic=190, diastolic=115, heart_rate=80, spo2=97, sedation=5)
    bad.update(dissociation="none", respiratory_concern=False)

    def final(session_id: int):
        user = user_by_email("admin@demo.test")
        return observations.record_observation(user, session_id, kind="final", values=bad)

    for _ in range(ROUNDS):
        discharged, observed = _against_discharge(race_app, final)
        if isinstance(discharged, Conflict):
            assert list(discharged.fields) == ["override_reason"], discharged.message
        else:
            assert "discharged" in observed.message


def test_a_discharge_racing_the_patients_phase_change_never_deadlocks(race_app):
    """The patient moves on to integration while staff discharge: both go through, in either
    order (on PostgreSQL the session row and the audit chain are locked in one order)."""
    from kap.services.sessions import flow as session_flow

    def integrate(session_id: int):
        patient = user_by_email("patient@demo.test")
        return session_flow.advance_phase(patient, session_id, "integration")

    for _ in range(ROUNDS):
        session_id = _ready_session(race_app)

        def attempt(i: int, session_id=session_id):
            if i == 0:
                return _discharge(race_app, session_id)
            return _in_app(race_app, lambda: integrate(session_id))

        results = race(2, attempt)
        assert not any(isinstance(r, Exception) for r in results), results
