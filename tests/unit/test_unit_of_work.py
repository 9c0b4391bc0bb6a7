"""One use case, one transaction: kap/services/unit_of_work.py and the audit recorder."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from kap.extensions import db
from kap.models import AuditEvent, Clinic, User
from kap.services import audit
from kap.services.errors import Conflict
from kap.services.unit_of_work import (
    audited_read,
    in_unit_of_work,
    rollback_lost_race,
    unit_of_work,
    use_case,
)


def _clinics(slug: str) -> int:
    return db.session.scalar(select(func.count(Clinic.id)).where(Clinic.slug == slug)) or 0


def _audit_rows() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id))) or 0


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def test_nested_units_commit_once_at_the_outermost_end(ctx, people, commits):
    """An inner unit of work joins the outer one: one COMMIT, after the outer body."""
    with unit_of_work():
        db.session.add(Clinic(name="Outer", slug="outer"))
        with unit_of_work():
            assert in_unit_of_work()
            db.session.add(Clinic(name="Inner", slug="inner"))
        assert commits == []
    assert len(commits) == 1
    assert not in_unit_of_work()
    assert _clinics("outer") == _clinics("inner") == 1


def test_an_error_in_an_inner_unit_rolls_back_everything(ctx, people, commits):
    """A use case failing halfway inside another leaves none of either's rows."""

    @use_case
    def inner() -> None:
        db.session.add(Clinic(name="Inner", slug="inner"))
        db.session.flush()
        raise Conflict("halfway")

    with pytest.raises(Conflict), unit_of_work():
        db.session.add(Clinic(name="Outer", slug="outer"))
        inner()
    assert commits == []
    assert _clinics("outer") == _clinics("inner") == 0
    assert not in_unit_of_work()


def test_a_use_case_commits_its_rows_and_audit_row_together(ctx, people, commits):
    """The decorated function's rows and its audit event land in one COMMIT."""
    therapist = _user("therapist@demo.test")
    before = _audit_rows()

    @use_case
    def open_clinic() -> Clinic:
        clinic = Clinic(name="New", slug="new")
        db.session.add(clinic)
        db.session.flush()
        audit.record("clinic.settings.update", actor=therapist, subject_id=clinic.id)
        return clinic

    open_clinic()
    assert len(commits) == 1
    db.session.rollback()  # nothing pending is left to lose
    assert _clinics("new") == 1 and _audit_rows() == before + 1


def test_audit_record_never_commits_on_its_own(ctx, people, commits):
    """Outside a unit of work the event is only pending: a rollback removes it."""
    therapist = _user("therapist@demo.test")
    before = _audit_rows()
    audit.record("patient.view", actor=therapist, subject_type="user", subject_id=therapist.id)
    assert commits == []
    db.session.rollback()
    assert _audit_rows() == before


def test_commit_despite_keeps_the_audit_row_of_a_refusal(ctx, people, commits):
    """A listed error still commits what was recorded before it, then goes on to the caller."""
    therapist = _user("therapist@demo.test")
    before = _audit_rows()

    @use_case(commit_despite=(Conflict,))
    def refuse() -> None:
        audit.record("signin.failure", actor=therapist)
        raise Conflict("refused")

    with pytest.raises(Conflict):
        refuse()
    assert len(commits) == 1
    assert _audit_rows() == before + 1


def test_an_audited_read_commits_without_expiring_what_it_returns(ctx, people, commits):
    """The objects an audited read returns are still loaded after its COMMIT."""

    @audited_read
    def read(email: str) -> User:
        user = _user(email)
        audit.record("patient.view", actor=user, subject_type="user", subject_id=user.id)
        return user

    user = read("patient@demo.test")
    assert len(commits) == 1
    assert not inspect(user).expired_attributes
    assert db.session().expire_on_commit  # the session's own setting is back


def test_a_plain_use_case_expires_loaded_objects_at_its_commit(ctx, people):
    """Writes keep SQLAlchemy's default: what was loaded is read again after the commit."""
    user = _user("patient@demo.test")

    @use_case
    def touch() -> None:
        audit.record("patient.view", actor=user, subject_type="user", subject_id=user.id)

    touch()
    assert "email" in inspect(user).expired_attributes


def test_a_lost_race_rolls_back_only_at_the_outermost_use_case(ctx, people):
    """Outermost: the transaction is rolled back and the use case goes on; nested: the
    IntegrityError goes on to the enclosing use case, whose work would otherwise be lost."""

    @use_case
    def insert_duplicate() -> str:
        db.session.add(Clinic(name="Twin", slug="demo-twin"))
        db.session.add(Clinic(name="Twin", slug="demo-twin"))
        try:
            db.session.flush()
        except IntegrityError:
            rollback_lost_race()
            return "lost"
        return "won"

    assert insert_duplicate() == "lost"
    assert _clinics("demo-twin") == 0

    with pytest.raises(IntegrityError), unit_of_work():
        db.session.add(Clinic(name="Outer", slug="outer"))
        insert_duplicate()
    assert _clinics("outer") == 0
