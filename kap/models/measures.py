"""Check-ins: PHQ-9 and GAD-7 answers with their score, kept over time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kap.models.base import Model, UTCDateTime, utcnow


class MeasureResponse(Model):
    """One completed questionnaire. ``client_id`` makes a device's retry count once."""

    __tablename__ = "measure_responses"
    __table_args__ = (
        ForeignKeyConstraint(
            ["patient_id", "clinic_id"],
            ["users.id", "users.clinic_id"],
            name="fk_measure_responses_patient_same_clinic",
        ),
        Index("ix_measure_responses_patient_created", "patient_id", "instrument", "created_at"),
        Index("ix_measure_responses_patient_client", "patient_id", "client_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(Integer)
    instrument: Mapped[str] = mapped_column(String(10))
    answers: Mapped[list[int]] = mapped_column(JSON)
    score: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(30))
    client_id: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_sessions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
