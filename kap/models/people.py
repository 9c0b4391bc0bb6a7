"""Clinics, the people in them and care teams (who cares for whom)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kap.crypto import EncryptedText, encrypt_pending_after_insert
from kap.models.base import Model, UTCDateTime, utcnow

#: Shown on the Crisis support page until a clinic sets its own contacts.
DEFAULT_CRISIS_CONTACTS: list[dict[str, str]] = [
    {
        "name": "988 Suicide & Crisis Lifeline",
        "phone": "988",
        "sms": "988",
        "description": "Call or text 988, any time, free and confidential.",
    },
    {
        "name": "Emergency services",
        "phone": "911",
        "sms": "",
        "description": "If you are in immediate danger, call 911.",
    },
]


class Role(enum.StrEnum):
    """What a user is in their clinic."""

    PATIENT = "patient"
    THERAPIST = "therapist"
    CLINIC_ADMIN = "clinic_admin"


class Clinic(Model):
    """A clinic: the tenant boundary. Nothing of one clinic is visible to another."""

    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    crisis_contacts: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=lambda: [dict(c) for c in DEFAULT_CRISIS_CONTACTS]
    )
    #: Preparation numbers the default checklist is written with (clinics differ).
    fasting_hours: Mapped[int] = mapped_column(Integer, default=6, server_default="6")
    clear_liquids_hours: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    substance_free_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    #: Days between check-ins after a session (measurement-based care).
    checkin_interval_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    #: Minutes between monitoring checks during observation.
    monitoring_interval_minutes: Mapped[int] = mapped_column(
        Integer, default=15, server_default="15"
    )
    #: Clinicians must use a second factor (TOTP) at every sign-in when on (the default).
    require_clinician_second_factor: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=sa_true()
    )
    #: Out-of-range limits for vitals, e.g. {"systolic_max": 160, ...} (see services.vitals).
    vitals_limits: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, server_default="{}")
    #: Session mode may start this many minutes before the booked time, on the local day only.
    start_window_minutes: Mapped[int] = mapped_column(Integer, default=120, server_default="120")
    #: The clinic's own phone number: first on the Crisis support page, above national lines.
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="clinic")

    def __repr__(self) -> str:
        return f"<Clinic {self.slug}>"


class User(UserMixin, Model):
    """A person who signs in: a patient, a therapist or a clinic admin."""

    __tablename__ = "users"
    __table_args__ = (
        # Lets care_team_members require patient and therapist to share a clinic.
        UniqueConstraint("id", "clinic_id", name="uq_users_id_clinic_id"),
        CheckConstraint("role IN ('patient', 'therapist', 'clinic_admin')", name="role_is_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: TOTP second factor: the secret (encrypted at rest), when it was turned on, and the
    #: last accepted time step (a code is accepted only once).
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    totp_secret = EncryptedText("totp_secret_encrypted", "totp_secret", lambda u: u.clinic_id)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    #: Patient data rights: when deletion was asked for, and when it was carried out.
    deletion_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    clinic: Mapped[Clinic] = relationship(back_populates="users", lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_therapist(self) -> bool:
        return self.role == Role.THERAPIST

    @property
    def is_clinic_admin(self) -> bool:
        return self.role == Role.CLINIC_ADMIN

    @property
    def is_clinician(self) -> bool:
        return self.role in (Role.THERAPIST, Role.CLINIC_ADMIN)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class CareTeamMember(Model):
    """One therapist caring for one patient, both of the same clinic (enforced by the database)."""

    __tablename__ = "care_team_members"
    __table_args__ = (
        ForeignKeyConstraint(
            ["patient_id", "clinic_id"],
            ["users.id", "users.clinic_id"],
            name="fk_care_team_members_patient_same_clinic",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["therapist_id", "clinic_id"],
            ["users.id", "users.clinic_id"],
            name="fk_care_team_members_therapist_same_clinic",
            ondelete="CASCADE",
        ),
        CheckConstraint("patient_id <> therapist_id", name="not_self"),
    )

    patient_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    therapist_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    patient: Mapped[User] = relationship(
        primaryjoin="CareTeamMember.patient_id == User.id", foreign_keys=[patient_id], viewonly=True
    )
    therapist: Mapped[User] = relationship(
        primaryjoin="CareTeamMember.therapist_id == User.id",
        foreign_keys=[therapist_id],
        viewonly=True,
    )


class RecoveryCode(Model):
    """A one-time second-factor recovery code; only its hash is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


encrypt_pending_after_insert(User)
