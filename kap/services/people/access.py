"""Who may see whom: every query on people goes through these scoped functions.

A record the caller may not see is reported as absent (NotFound → 404), never as forbidden,
so nobody learns that another clinic's records exist.
"""

from __future__ import annotations

from sqlalchemy import Select, select

from kap.extensions import db
from kap.models import CareTeamMember, Role, User
from kap.services.errors import NotFound


def patients_visible_to(user: User) -> Select[tuple[User]]:
    """The patients ``user`` may see: a therapist's care list, a clinic admin's whole clinic,
    a patient only themself."""
    query = select(User).where(User.role == Role.PATIENT, User.clinic_id == user.clinic_id)
    if user.is_clinic_admin:
        return query
    if user.is_therapist:
        cared_for = select(CareTeamMember.patient_id).where(CareTeamMember.therapist_id == user.id)
        return query.where(User.id.in_(cared_for))
    return query.where(User.id == user.id)


def get_patient_for(user: User, patient_id: int) -> User:
    """The patient ``patient_id`` if ``user`` may see them; NotFound otherwise."""
    patient = db.session.scalar(patients_visible_to(user).where(User.id == patient_id))
    if patient is None:
        raise NotFound("No such patient.")
    return patient


def users_of_clinic(user: User) -> Select[tuple[User]]:
    """Everyone in ``user``'s clinic (for clinic admins' people pages)."""
    return select(User).where(User.clinic_id == user.clinic_id)


def is_in_care_team(therapist: User, patient: User) -> bool:
    """True when ``therapist`` cares for ``patient``."""
    return (
        db.session.get(CareTeamMember, {"patient_id": patient.id, "therapist_id": therapist.id})
        is not None
    )
