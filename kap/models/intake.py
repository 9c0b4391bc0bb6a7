"""The screening intake a patient submits before treatment, and the clinician's decision on it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kap.crypto import EncryptedText, encrypt_pending_after_insert
from kap.models.base import Model, UTCDateTime, utcnow

if TYPE_CHECKING:
    from kap.models.people import User


class IntakeStatus(enum.StrEnum):
    """Where a submission stands. Only a clinician moves it past ``submitted``."""

    SUBMITTED = "submitted"
    CLEARED = "cleared"
    NOT_CLEARED = "not_cleared"
    NEEDS_ASSESSMENT = "needs_assessment"


INTAKE_DECISIONS = (
    IntakeStatus.CLEARED,
    IntakeStatus.NOT_CLEARED,
    IntakeStatus.NEEDS_ASSESSMENT,
)


class IntakeSubmission(Model):
    """One submitted intake. A patient may submit again (a new medication): a new row, and the
    newest is the one that counts, awaiting its own decision.

    ``answers`` holds JSON (the engine's answers by item id and the text answers): medications
    and conditions are health data, so encrypted at rest. ``needs_review`` lists only item ids
    and included instrument codes, never what was answered.
    """

    __tablename__ = "intake_submissions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["patient_id", "clinic_id"],
            ["users.id", "users.clinic_id"],
            name="fk_intake_submissions_patient_same_clinic",
        ),
        Index("ix_intake_submissions_patient_submitted", "patient_id", "submitted_at"),
        Index("ix_intake_submissions_clinic_status", "clinic_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(Integer)
    instrument_version: Mapped[int] = mapped_column(Integer)
    answers_ciphertext: Mapped[str] = mapped_column("answers", Text)
    answers = EncryptedText("answers_ciphertext", "answers", lambda row: row.clinic_id)
    needs_review: Mapped[list[str]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=IntakeStatus.SUBMITTED)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note_ciphertext: Mapped[str] = mapped_column("decision_note", Text, default="")
    decision_note = EncryptedText(
        "decision_note_ciphertext", "decision_note", lambda row: row.clinic_id
    )

    patient: Mapped[User] = relationship(
        "User",
        primaryjoin="IntakeSubmission.patient_id == User.id",
        foreign_keys=[patient_id],
        viewonly=True,
    )
    decided_by: Mapped[User | None] = relationship("User", foreign_keys=[decided_by_id])


encrypt_pending_after_insert(IntakeSubmission)
