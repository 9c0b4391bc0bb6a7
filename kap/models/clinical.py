"""What clinicians keep: private clinical notes, entry read marks, and session observations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kap.crypto import EncryptedText, encrypt_pending_after_insert
from kap.models.base import Model, UTCDateTime, utcnow

if TYPE_CHECKING:
    from kap.models.people import User


class ClinicalNote(Model):
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

    author: Mapped[User | None] = relationship("User", foreign_keys=[author_id], lazy="joined")


class EntryRead(Model):
    """A therapist has read a shared entry (for unread marks)."""

    __tablename__ = "entry_reads"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("journal_entries.id", ondelete="CASCADE"), primary_key=True
    )
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionObservation(Model):
    """Vitals and monitoring checks recorded by staff around a session.

    ``kind``: 'pre_dose' (vitals before dosing), 'post_dose' (the protocol's check a set time
    after dosing), 'check' (a timed monitoring check during observation, vitals optional),
    'final' (the vitals check required before discharge). Beside the vitals, the clinical
    state: ``sedation`` 0-5 (MOAA/S: 5 responds readily to name, 0 no response to a painful
    stimulus), ``dissociation`` none/mild/moderate/severe, ``respiratory_concern``.
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
    sedation: Mapped[int | None] = mapped_column(Integer)
    dissociation: Mapped[str | None] = mapped_column(String(10))
    respiratory_concern: Mapped[bool | None] = mapped_column(Boolean)
    note_ciphertext: Mapped[str] = mapped_column("note", Text, default="")
    note = EncryptedText("note_ciphertext", "note", lambda obs: obs.clinic_id)

    recorded_by: Mapped[User | None] = relationship("User", lazy="joined")


class MedicationAdministration(Model):
    """What was given at a session, as the clinician recorded it (several: a booster dose).

    The app records what a clinician did; it never proposes a dose.
    """

    __tablename__ = "medication_administrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_sessions.id", ondelete="CASCADE"), index=True
    )
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    medication: Mapped[str] = mapped_column(String(120))
    route: Mapped[str] = mapped_column(String(30))
    dose: Mapped[Decimal] = mapped_column(Numeric(10, 3))
    unit: Mapped[str] = mapped_column(String(20))
    lot: Mapped[str] = mapped_column(String(60), default="")
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    given_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note_ciphertext: Mapped[str] = mapped_column("note", Text, default="")
    note = EncryptedText("note_ciphertext", "note", lambda given: given.clinic_id)

    given_by: Mapped[User | None] = relationship("User", lazy="joined")


class SessionDischarge(Model):
    """One discharge of a session: who, when, the ride home, any override; and its reopening.

    The session's ``discharged_at`` is the current state; these rows are the history. A
    discharge with final vitals outside the clinic's limits needs a written override reason.
    """

    __tablename__ = "session_discharges"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_sessions.id", ondelete="CASCADE"), index=True
    )
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    discharged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    discharged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    #: Who is driving the patient home (the ride confirmed at discharge).
    driver: Mapped[str] = mapped_column(String(120), default="")
    #: Which final values were outside the limits when a clinician overrode them, e.g.
    #: "systolic_high,diastolic_high" (empty when none were).
    out_of_range: Mapped[str] = mapped_column(String(200), default="")
    override_reason_ciphertext: Mapped[str] = mapped_column("override_reason", Text, default="")
    override_reason = EncryptedText(
        "override_reason_ciphertext", "override_reason", lambda d: d.clinic_id
    )
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reopen_reason_ciphertext: Mapped[str] = mapped_column("reopen_reason", Text, default="")
    reopen_reason = EncryptedText(
        "reopen_reason_ciphertext", "reopen_reason", lambda d: d.clinic_id
    )


encrypt_pending_after_insert(ClinicalNote)
encrypt_pending_after_insert(MedicationAdministration)
encrypt_pending_after_insert(SessionDischarge)
encrypt_pending_after_insert(SessionObservation)
