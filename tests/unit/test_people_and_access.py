"""Care teams and the scoped queries that decide who sees which patient."""

import pytest
from sqlalchemy.exc import IntegrityError

from kap.extensions import db
from kap.models import CareTeamMember, User
from kap.services.errors import Invalid, NotFound
from kap.services.people.access import get_patient_for, patients_visible_to
from kap.services.people.care_teams import assign_therapist


def _user(email):
    return db.session.scalar(db.select(User).where(User.email == email))


def _visible(email):
    return {u.email for u in db.session.scalars(patients_visible_to(_user(email)))}


def test_therapist_sees_only_their_care_list(ctx, people):
    """A therapist's patients are those whose care team they are in."""
    assert _visible("therapist@demo.test") == {"patient@demo.test"}
    assert _visible("therapist2@demo.test") == {"patient2@demo.test"}


def test_clinic_admin_sees_every_patient_of_their_clinic_only(ctx, people):
    """An admin sees the clinic's patients, none of another clinic."""
    assert _visible("admin@demo.test") == {"patient@demo.test", "patient2@demo.test"}
    assert _visible("admin@other.test") == {"patient@other.test"}


def test_patient_sees_only_themself(ctx, people):
    """A patient's own record is the only patient record they may see."""
    assert _visible("patient@demo.test") == {"patient@demo.test"}


def test_other_clinics_patient_is_not_found(ctx, people):
    """Asking for another clinic's patient reads as 'absent', never 'forbidden'."""
    with pytest.raises(NotFound):
        get_patient_for(_user("admin@demo.test"), people["patient@other.test"].id)


def test_therapist_outside_care_team_gets_not_found(ctx, people):
    """A colleague's patient is not found for a therapist outside that care team."""
    with pytest.raises(NotFound):
        get_patient_for(_user("therapist@demo.test"), people["patient2@demo.test"].id)


def test_care_team_refuses_a_therapist_of_another_clinic(ctx, people):
    """The service refuses a cross-clinic care team with a clear message."""
    with pytest.raises(Invalid, match="one clinic"):
        assign_therapist(_user("patient@demo.test"), _user("therapist@other.test"))


def test_database_refuses_a_cross_clinic_care_team(ctx, people):
    """Even bypassing the service, the database will not link two clinics."""
    patient = _user("patient@demo.test")
    stranger = _user("therapist@other.test")
    db.session.add(
        CareTeamMember(patient_id=patient.id, therapist_id=stranger.id, clinic_id=patient.clinic_id)
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_only_therapists_join_care_teams(ctx, people):
    """An admin or a patient cannot be put in a care team as the therapist."""
    with pytest.raises(Invalid):
        assign_therapist(_user("patient@demo.test"), _user("admin@demo.test"))
    with pytest.raises(Invalid):
        assign_therapist(_user("patient@demo.test"), _user("patient2@demo.test"))
