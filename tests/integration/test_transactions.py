"""Real use cases as transactions: all of a use case's rows and audit rows, or none of them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select

from kap.extensions import db
from kap.models import (
    AuditEvent,
    ChecklistTick,
    JournalEntry,
    SessionStatus,
    TreatmentSession,
    User,
)
from kap.services import audit
from kap.services.auth.signin import authenticate
from kap.services.errors import InvalidCredentials
from kap.services.measures.checkins import history
from kap.services.people import data_rights
from kap.services.sessions import flow as session_flow
from tests.helpers import user_by_email


def _walkthrough(patient: User) -> TreatmentSession:
    """The demo patient's soonest scheduled session (today's Walkthrough)."""
    return db.session.scalars(
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient.id,
            TreatmentSession.status == SessionStatus.SCHEDULED,
        )
        .order_by(TreatmentSession.scheduled_at)
    ).first()


def _audit_details(action: str, after_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.detail)
            .where(AuditEvent.action == action, AuditEvent.id > after_id)
            .order_by(AuditEvent.id)
        )
    )


def _last_audit_id() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def _ticks(session_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(ChecklistTick.item_id).where(ChecklistTick.session_id == session_id)
        )
    )


def test_set_checklist_writes_only_changed_items_in_one_commit(ctx, people, commits):
    """Ticks {a, b}, then saves {a, c}: one COMMIT, audit rows for b and c only, none for a."""
    patient = user_by_email("patient@demo.test")
    session = _walkthrough(patient)
    a, b, c = session.template_version.checklist_items[:3]
    session_flow.set_checklist(patient, session.id, {a.id, b.id})
    start, commits[:] = _last_audit_id(), []

    session_flow.set_checklist(patient, session.id, {a.id, c.id})

    assert len(commits) == 1
    assert _audit_details("checklist.update", start) == [
        f"item={b.id} checked=False",
        f"item={c.id} checked=True",
    ]
    assert _ticks(session.id) == {a.id, c.id}


def test_set_checklist_saving_the_same_ticks_writes_nothing(ctx, people):
    """An unchanged checklist saved again adds no tick and no audit row."""
    patient = user_by_email("patient@demo.test")
    session = _walkthrough(patient)
    a, b = session.template_version.checklist_items[:2]
    session_flow.set_checklist(patient, session.id, {a.id, b.id})
    start = _last_audit_id()
    session_flow.set_checklist(patient, session.id, {a.id, b.id})
    assert _last_audit_id() == start
    assert _ticks(session.id) == {a.id, b.id}


def test_set_checklist_failing_halfway_leaves_no_tick_and_no_audit_row(ctx, people, monkeypatch):
    """The second item's audit row fails after the first was written: nothing is kept."""
    patient = user_by_email("patient@demo.test")
    session = _walkthrough(patient)
    session_id = session.id
    a, b = (item.id for item in session.template_version.checklist_items[:2])
    start = _last_audit_id()
    real_record = audit.record
    calls = []

    def fail_on_the_second(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the database went away halfway")
        return real_record(*args, **kwargs)

    monkeypatch.setattr(audit, "record", fail_on_the_second)
    with pytest.raises(RuntimeError):
        session_flow.set_checklist(patient, session_id, {a, b})
    monkeypatch.undo()

    assert len(calls) == 2
    assert _ticks(session_id) == set()
    assert _last_audit_id() == start


def test_a_deletion_failing_at_its_last_step_deletes_nothing(ctx, people, monkeypatch):
    """delete_patient_data failing when it ends the sign-ins keeps the journal, the name and
    writes no audit row: the deletion is one transaction."""
    admin = user_by_email("admin@demo.test")
    patient = user_by_email("patient@demo.test")
    patient_id, name = patient.id, patient.name
    entries = db.session.scalar(
        select(func.count(JournalEntry.id)).where(JournalEntry.patient_id == patient_id)
    )
    assert entries
    start = _last_audit_id()

    def unreachable(*args, **kwargs):
        raise RuntimeError("the session store went away")

    monkeypatch.setattr(data_rights, "revoke_sessions", unreachable)
    with pytest.raises(RuntimeError):
        data_rights.delete_patient_data(admin, patient_id, "DELETE")

    assert db.session.get(User, patient_id).name == name
    assert (
        db.session.scalar(
            select(func.count(JournalEntry.id)).where(JournalEntry.patient_id == patient_id)
        )
        == entries
    )
    assert _last_audit_id() == start


def test_a_refused_sign_in_keeps_its_audit_row(ctx, people):
    """InvalidCredentials rolls nothing back that should stay: the failure is on record."""
    start = _last_audit_id()
    with pytest.raises(InvalidCredentials):
        authenticate("patient@demo.test", "not the password", "192.0.2.7")
    db.session.rollback()  # nothing pending: the row was committed by the use case
    assert _audit_details("signin.failure", start) == [""]


def test_an_audited_read_returns_loaded_rows_and_commits_its_audit_row(ctx, people, commits):
    """A therapist reading check-ins: one COMMIT for the audit row, rows still loaded."""
    therapist = user_by_email("therapist@demo.test")
    patient = user_by_email("patient@demo.test")
    start = _last_audit_id()
    rows = history(therapist, patient.id)
    assert rows and len(commits) == 1
    assert all(not inspect(row).expired_attributes for row in rows)
    db.session.rollback()
    assert _audit_details("measures.read", start) == [""]
