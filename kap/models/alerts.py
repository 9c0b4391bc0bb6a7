"""Safety alerts: a patient's Call staff from session mode, a positive PHQ-9 item 9, a severe
side effect or bladder symptoms, an intake answer that needs a clinician's review."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kap.crypto import EncryptedText, encrypt_pending_after_insert
from kap.models.base import Model, UTCDateTime, utcnow

if TYPE_CHECKING:
    from kap.models.people import User


class AlertKind(enum.StrEnum):
    CALL_STAFF = "call_staff"
    PHQ9_ITEM9 = "phq9_item9"
    #: A submitted intake has answers the clinic marks as needing a clinician's review.
    INTAKE_REVIEW = "intake_review"
    #: A post-session side effect rated severe.
    SIDE_EFFECT_SEVERE = "side_effect_severe"
    #: Bladder symptoms that need a clinician (blood in the urine, pain).
    BLADDER_SYMPTOMS = "bladder_symptoms"
    #: An answer at or above the alert threshold a clinic set on its own questionnaire.
    QUESTIONNAIRE = "questionnaire"


#: What each kind of alert says on a clinician's screen.
ALERT_LABELS: dict[str, str] = {
    AlertKind.CALL_STAFF: "Call staff from session mode",
    AlertKind.PHQ9_ITEM9: "PHQ-9 item 9 answered above 0",
    AlertKind.SIDE_EFFECT_SEVERE: "A side effect rated severe after a session",
    AlertKind.BLADDER_SYMPTOMS: "Bladder symptoms to follow up (pain or blood in the urine)",
    AlertKind.INTAKE_REVIEW: "Intake answers need review",
    AlertKind.QUESTIONNAIRE: "An answer the clinic's own questionnaire flags for the care team",
}


class Alert(Model):
    """Something staff must see now; open until resolved (acknowledging is a step on the way)."""

    __tablename__ = "alerts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["patient_id", "clinic_id"],
            ["users.id", "users.clinic_id"],
            name="fk_alerts_patient_same_clinic",
        ),
        Index("ix_alerts_clinic_open", "clinic_id", "resolved_at"),
        Index("ix_alerts_patient_client", "patient_id", "client_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(Integer)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_sessions.id"))
    kind: Mapped[str] = mapped_column(String(30))
    #: The device's id for the request, so a replayed Call staff raises one alert.
    client_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution_note_ciphertext: Mapped[str] = mapped_column("resolution_note", Text, default="")
    resolution_note = EncryptedText(
        "resolution_note_ciphertext", "resolution_note", lambda alert: alert.clinic_id
    )

    @property
    def kind_label(self) -> str:
        """The alert in words, as clinicians read it."""
        return ALERT_LABELS.get(self.kind, self.kind)

    patient: Mapped[User] = relationship(
        "User",
        primaryjoin="Alert.patient_id == User.id",
        foreign_keys=[patient_id],
        viewonly=True,
    )


encrypt_pending_after_insert(Alert)
