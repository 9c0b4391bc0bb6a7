"""Courses and treatment sessions, each pinned to the template version it was scheduled with."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kap.crypto import EncryptedText, encrypt_pending_after_insert
from kap.models.base import Model, UTCDateTime, utcnow

if TYPE_CHECKING:
    from kap.models.people import User
    from kap.models.templates import SessionTemplate, TemplateVersion


class CoursePattern(enum.StrEnum):
    """How a course's sessions are laid out."""

    SIX_OVER_THREE_WEEKS = "six_over_three_weeks"
    ESKETAMINE = "esketamine"
    CUSTOM = "custom"


PATTERN_LABELS = {
    CoursePattern.SIX_OVER_THREE_WEEKS: "Six sessions over three weeks",
    CoursePattern.ESKETAMINE: "Esketamine: twice a week for 4 weeks, then weekly for 4 weeks",
    CoursePattern.CUSTOM: "Custom dates",
}


class SessionStatus(enum.StrEnum):
    """A session's life: scheduled, then the phases in order, or cancelled."""

    SCHEDULED = "scheduled"
    SESSION = "session"
    DOWNTIME = "downtime"
    INTEGRATION = "integration"
    COMPLETE = "complete"
    CANCELLED = "cancelled"


class Course(Model):
    """A series of sessions for one patient from one template."""

    __tablename__ = "courses"
    __table_args__ = (
        ForeignKeyConstraint(
            ["patient_id", "clinic_id"],
            ["users.id", "users.clinic_id"],
            name="fk_courses_patient_same_clinic",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    patient_id: Mapped[int] = mapped_column(Integer, index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("session_templates.id"))
    pattern: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    template: Mapped[SessionTemplate] = relationship("SessionTemplate")
    sessions: Mapped[list[TreatmentSession]] = relationship(
        back_populates="course", order_by="TreatmentSession.scheduled_at"
    )


class TreatmentSession(Model):
    """One dosing session: its schedule, the patient's preparation and its phases."""

    __tablename__ = "treatment_sessions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["patient_id", "clinic_id"],
            ["users.id", "users.clinic_id"],
            name="fk_treatment_sessions_patient_same_clinic",
        ),
        Index("ix_treatment_sessions_patient_scheduled", "patient_id", "scheduled_at"),
        Index("ix_treatment_sessions_clinic_scheduled", "clinic_id", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(Integer)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), index=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_versions.id"))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=SessionStatus.SCHEDULED)
    is_booster: Mapped[bool] = mapped_column(Boolean, default=False)
    location_label: Mapped[str] = mapped_column(String(80), default="")
    intention_ciphertext: Mapped[str | None] = mapped_column("intention", Text)
    intention = EncryptedText("intention_ciphertext", "intention", lambda s: s.clinic_id)
    intention_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    downtime_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    integration_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    discharged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discharged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    #: Staff check-in on the day (ID checked, pre-dose vitals recorded), when the template asks.
    #: Who the patient said is driving them home (the evening-before reminder's one-tap
    #: answer); the board shows it and pre-fills the discharge's driver. Staff still confirm.
    ride_home: Mapped[str] = mapped_column(String(120), default="", server_default="")
    ride_home_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    course: Mapped[Course | None] = relationship(back_populates="sessions")
    template_version: Mapped[TemplateVersion] = relationship("TemplateVersion", lazy="joined")
    patient: Mapped[User] = relationship(
        "User",
        primaryjoin="TreatmentSession.patient_id == User.id",
        foreign_keys=[patient_id],
        viewonly=True,
    )
    ticks: Mapped[list[ChecklistTick]] = relationship(cascade="all, delete-orphan")


class ChecklistTick(Model):
    """A preparation item the patient has ticked for one session."""

    __tablename__ = "session_checklist_ticks"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("template_checklist_items.id"), primary_key=True
    )
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


encrypt_pending_after_insert(TreatmentSession)
