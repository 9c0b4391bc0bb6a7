"""The demo data set (README, "Demo logins"). Idempotent: creates only what is missing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from kap.demo.consent import seed_demo_consent
from kap.demo.content import seed_demo_content
from kap.demo.intake import seed_demo_intakes
from kap.demo.measures import seed_demo_measures
from kap.demo.reminders import seed_demo_reminders
from kap.extensions import db
from kap.models import Clinic, Role, User
from kap.services.people.accounts import create_user
from kap.services.people.care_teams import assign_therapist

DEMO_PASSWORD = "demo-password"  # noqa: S105 - public by design


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: Role
    clinic_slug: str
    therapist_email: str | None = None


DEMO_CLINICS = {
    "demo": ("Demo Clinic", "America/New_York"),
    "other": ("Other Clinic", "America/Los_Angeles"),
}

#: Fictional numbers (555-01xx is reserved for fiction in North America).
DEMO_CLINIC_PHONES = {"demo": "+1 212 555 0142", "other": "+1 415 555 0167"}

DEMO_ACCOUNTS = [
    DemoAccount("admin@demo.test", "Avery Admin", Role.CLINIC_ADMIN, "demo"),
    DemoAccount("therapist@demo.test", "Dr. Tess Rivera", Role.THERAPIST, "demo"),
    DemoAccount("therapist2@demo.test", "Dr. Sam Okafor", Role.THERAPIST, "demo"),
    DemoAccount("patient@demo.test", "Pat Jordan", Role.PATIENT, "demo", "therapist@demo.test"),
    DemoAccount("patient2@demo.test", "Robin Lee", Role.PATIENT, "demo", "therapist2@demo.test"),
    DemoAccount("admin@other.test", "Olive Admin", Role.CLINIC_ADMIN, "other"),
    DemoAccount("therapist@other.test", "Dr. Omar Hale", Role.THERAPIST, "other"),
    DemoAccount("patient@other.test", "Quinn Park", Role.PATIENT, "other", "therapist@other.test"),
]


def _clinic(slug: str) -> Clinic:
    clinic = db.session.scalar(select(Clinic).where(Clinic.slug == slug))
    if clinic is None:
        name, timezone = DEMO_CLINICS[slug]
        # Every demo account signs in with email and password alone, so the demo
        # clinics do not require a second factor. Real clinics do by default.
        clinic = Clinic(
            name=name,
            slug=slug,
            timezone=timezone,
            require_clinician_second_factor=False,
            phone=DEMO_CLINIC_PHONES[slug],
        )
        db.session.add(clinic)
        db.session.flush()
    return clinic


def seed_demo() -> list[DemoAccount]:
    """Create the demo clinics, accounts and care teams that do not exist yet."""
    users: dict[str, User] = {}
    for account in DEMO_ACCOUNTS:
        user = db.session.scalar(select(User).where(User.email == account.email))
        if user is None:
            user = create_user(
                _clinic(account.clinic_slug),
                email=account.email,
                name=account.name,
                role=account.role,
                password=DEMO_PASSWORD,
            )
        users[account.email] = user
    for account in DEMO_ACCOUNTS:
        if account.therapist_email:
            assign_therapist(users[account.email], users[account.therapist_email])
    db.session.commit()
    seed_demo_content(users)
    seed_demo_measures(users)
    seed_demo_consent(users)
    seed_demo_intakes(users)
    seed_demo_reminders(users)
    return DEMO_ACCOUNTS


def database_is_empty() -> bool:
    """True when no clinic exists yet."""
    return db.session.scalar(select(Clinic.id).limit(1)) is None
