"""Adding people to a clinic and letting them set their own password by invitation."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update

from kap.extensions import db
from kap.models import Invitation, Role, User
from kap.models.base import utcnow
from kap.services import audit
from kap.services.auth.password_rules import password_problems
from kap.services.auth.signin import normalize_email
from kap.services.errors import Conflict, Invalid, NotFound
from kap.services.mail import send_mail
from kap.services.people.access import users_of_clinic
from kap.services.people.accounts import create_user, deactivate_user, set_password
from kap.services.queries import one_or_not_found
from kap.services.row_counts import execute_counting_rows
from kap.services.unit_of_work import unit_of_work, use_case

INVITATION_DAYS = 7


@dataclass(frozen=True)
class IssuedInvitation:
    user: User
    token: str
    expires_at: datetime
    emailed: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _audit_person(action: str, actor: User, user: User, detail: str = "") -> None:
    """A change to the clinic's people; a patient's rows carry their id for the filter."""
    audit.record(
        action,
        actor=actor,
        subject_type="user",
        subject_id=user.id,
        patient_id=user.id if user.is_patient else None,
        detail=detail,
    )


def _new_link(actor: User, user: User, action: str) -> tuple[str, Invitation]:
    """A new invitation link (older unused ones end), audited as ``action``: (token, row)."""
    now = utcnow()
    # Only the newest link works: older unused ones end here.
    db.session.execute(
        update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_(None))
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        user_id=user.id,
        token_hash=_digest(token),
        expires_at=now + timedelta(days=INVITATION_DAYS),
        created_by_id=actor.id,
    )
    db.session.add(invitation)
    _audit_person(action, actor, user, f"role={user.role}")
    return token, invitation


def _send(
    actor: User, user: User, token: str, expires_at: datetime, link_for: Callable[[str], str]
) -> IssuedInvitation:
    """E-mail a link once it is committed (never one that could still be rolled back)."""
    emailed = send_mail(
        user.email,
        f"Your invitation to {actor.clinic.name} on KAP Companion",
        f"Hello {user.name},\n\n{actor.clinic.name} has invited you to KAP Companion.\n"
        f"Set your password here (the link works once, for {INVITATION_DAYS} days):\n\n"
        f"{link_for(token)}\n",
    )
    return IssuedInvitation(user, token, expires_at, emailed)


def invite_person(
    actor: User, *, name: str, email: str, role: str, link_for: Callable[[str], str]
) -> IssuedInvitation:
    """Add a patient, therapist or admin to the actor's clinic and issue their invitation."""
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Enter the person's name."]
    if role not in Role.__members__.values():
        errors["role"] = ["Choose a role."]
    email = normalize_email(email)
    email_problem = email_address_problem(email)
    if email_problem:
        errors["email"] = [email_problem]
    if errors:
        raise Invalid("Some fields need attention.", errors)
    with unit_of_work(keep_loaded=True):
        user = create_user(actor.clinic, email=email, name=name, role=role)
        token, invitation = _new_link(actor, user, "person.invite")
    return _send(actor, user, token, invitation.expires_at, link_for)


def email_address_problem(email: str) -> str | None:
    """Why ``email`` is not a usable address (syntax only: no DNS lookups), or None."""
    try:
        # test_environment admits the reserved .test domain the demo uses; nothing is looked up.
        validate_email(email or "", check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return "Enter an email address, such as name@example.org."
    return None


def reissue_invitation(
    actor: User, user_id: int, link_for: Callable[[str], str]
) -> IssuedInvitation:
    """A fresh link for someone of the actor's clinic who has not set a password yet."""
    with unit_of_work(keep_loaded=True):
        user = get_person_for(actor, user_id)
        if user.password_hash:
            raise Conflict("This person has already set a password.")
        token, invitation = _new_link(actor, user, "invitation.reissue")
    return _send(actor, user, token, invitation.expires_at, link_for)


def pending_invitation(token: str) -> Invitation:
    """The usable invitation for ``token``; NotFound for unknown, used or expired links."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _digest(token or ""))
    )
    if invitation is None or invitation.used_at is not None:
        raise NotFound("This invitation link is not valid or has already been used.")
    if invitation.expires_at <= utcnow():
        raise NotFound("This invitation link has expired. Ask your clinic for a new one.")
    if not invitation.user.active:
        raise NotFound("This account is not active. Please contact your clinic.")
    return invitation


@use_case
def accept_invitation(token: str, password: str, confirm: str) -> User:
    """Set the invited person's password; the link then stops working."""
    invitation = pending_invitation(token)
    user = invitation.user
    problems = password_problems(password, user.email, user.name)
    if password != confirm:
        problems.append("The two passwords do not match.")
    if problems:
        raise Invalid("Choose another password.", {"password": problems})
    _consume(invitation)
    set_password(user, password)
    _audit_person("invitation.accept", user, user)  # the rows first, then the audit chain
    return user


def _consume(invitation: Invitation) -> None:
    """Mark the link used, or NotFound when another request already did (one wins a race).

    A conditional UPDATE, not a read then a write: two simultaneous acceptances both saw the
    link unused, and both set a password and signed in. The database serialises the UPDATEs,
    and the later one finds ``used_at`` already set and changes nothing.
    """
    now = utcnow()
    claimed = execute_counting_rows(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.used_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed != 1:
        raise NotFound("This invitation link is not valid or has already been used.")


def get_person_for(actor: User, user_id: int) -> User:
    """Someone of the actor's clinic, or NotFound."""
    return one_or_not_found(users_of_clinic(actor).where(User.id == user_id), "person")


@use_case
def set_active(actor: User, user_id: int, active: bool) -> User:
    """Deactivate (ending every session) or reactivate someone of the actor's clinic."""
    user = get_person_for(actor, user_id)
    if user.id == actor.id and not active:
        raise Conflict("You cannot deactivate your own account.")
    if user.active == active:
        return user  # nothing changes, nothing to record
    if active:
        user.active = True
    else:
        deactivate_user(user)
    _audit_person("person.reactivate" if active else "person.deactivate", actor, user)
    return user


def email_in_use(email: str) -> bool:
    """True when any account already has this email."""
    return (
        db.session.scalar(select(User.id).where(User.email == normalize_email(email))) is not None
    )
