"""Who may see whom: every query on people goes through these scoped functions.

A record the caller may not see is reported as absent (NotFound → 404), never as forbidden,
so nobody learns that another clinic's records exist.
"""

from __future__ import annotations

from sqlalchemy import Select, false, func, select

from kap.extensions import db
from kap.models import Role, User
from kap.services import audit
from kap.services.people.care_teams import in_care_list
from kap.services.queries import one_or_not_found
from kap.services.unit_of_work import audited_read


def patients_visible_to(user: User) -> Select[User]:
    """The patients ``user`` may see: a therapist's care list, a clinic admin's whole clinic,
    a patient only themself."""
    query = select(User).where(User.role == Role.PATIENT, User.clinic_id == user.clinic_id)
    if user.is_clinic_admin:
        return query
    if user.is_therapist:
        return query.where(in_care_list(User.id, user.id))
    return query.where(User.id == user.id)


def patients_by_name(user: User) -> Select[User]:
    """The patients ``user`` may see, by name (the API's paged list)."""
    return patients_visible_to(user).order_by(User.name, User.id)


def get_patient_for(user: User, patient_id: int) -> User:
    """The patient ``patient_id`` if ``user`` may see them; NotFound otherwise."""
    return one_or_not_found(patients_visible_to(user).where(User.id == patient_id), "patient")


@audited_read
def read_patient(viewer: User, patient_id: int) -> User:
    """A clinician opening a patient's record: the patient, with the read audited
    (docs/architecture.md, "What is audited")."""
    patient = get_patient_for(viewer, patient_id)
    audit.record(
        "patient.view",
        actor=viewer,
        subject_type="user",
        subject_id=patient.id,
        patient_id=patient.id,
    )
    return patient


def users_of_clinic(user: User) -> Select[User]:
    """Everyone in ``user``'s clinic (for clinic admins' people pages)."""
    return select(User).where(User.clinic_id == user.clinic_id)


def people_list(
    admin: User, *, role: str | None = None, text: str = "", can_match: bool = True
) -> Select[User]:
    """The clinic's people page: by role then name, optionally one role, optionally those
    whose name or email contains ``text`` (nobody when the text ``can_match`` nothing)."""
    query = users_of_clinic(admin).order_by(User.role, User.name, User.id)
    if role:
        query = query.where(User.role == role)
    if not can_match:
        return query.where(false())
    if text:
        query = query.where(
            User.name.icontains(text, autoescape=True) | User.email.icontains(text, autoescape=True)
        )
    return query


def active_people_by_role(admin: User) -> dict[str, int]:
    """How many active people of ``admin``'s clinic hold each role."""
    counts = db.session.execute(
        users_of_clinic(admin)
        .where(User.active)
        .with_only_columns(User.role, func.count())
        .group_by(User.role)
    )
    return dict(counts.all())
