"""What clinicians keep: private clinical notes, entry read marks, and session observations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kap.crypto import EncryptedText, encrypt_pending_after_insert
from kap.extensions import db
from kap.models.base import UTCDateTime, utcnow


class ClinicalNote(db.Model):
    """A care-team note about a patient. Never shown to the patient."""

    __tablename__ = "clinical_notes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["patient_id", "clinic_id"],
            ["users.id", "users.clinic_id"],
            name="fk_clinical_notes_patient_same_clinic",
        ),
        Index("ix_clinical_notes_patient_created", "patient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_sessions.id"))
    body_ciphertext: Mapped[str] = mapped_column("body", Text)
    body = EncryptedText("body_ciphertext", "body", lambda note: note.clinic_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author = relationship("User", foreign_keys=[author_id], lazy="joined")


class EntryRead(db.Model):
    """A therapist has read a shared entry (for unread marks)."""

    __tablename__ = "entry_reads"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("journal_entries.id", ondelete="CASCADE"), primary_key=True
    )
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionObservation(db.Model):
    """Vitals and monitoring checks recorded by staff around a session.

    ``kind``: 'pre_dose' (vitals before dosing), 'check' (a timed monitoring check during
    observation, vitals optional), 'final' (the vitals check required before discharge).
    """

    __tablename__ = "session_observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_sessions.id", ondelete="CASCADE"), index=True
    )
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    systolic: Mapped[int | None] = mapped_column(Integer)
    diastolic: Mapped[int | None] = mapped_column(Integer)
    heart_rate: Mapped[int | None] = mapped_column(Integer)
    spo2: Mapped[int | None] = mapped_column(Integer)
    note_ciphertext: Mapped[str] = mapped_column("note", Text, default="")
    note = EncryptedText("note_ciphertext", "note", lambda obs: obs.clinic_id)

    recorded_by = relationship("User", lazy="joined")


encrypt_pending_after_insert(ClinicalNote)
encrypt_pending_after_insert(SessionObservation)
