"""Questionnaires: a clinic's own definitions, and every completed one with its score."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kap.crypto import EncryptedText, encrypt_pending_after_insert
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
    instrument: Mapped[str] = mapped_column(String(40))
    #: The definition's version the answers were given to (scores read against it).
    instrument_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: Per item in the version's order: the choice's value or the number; null for text.
    answers: Mapped[list[int | None]] = mapped_column(JSON)
    #: Text answers as JSON {item id: text}, encrypted: a patient's own words.
    text_answers_ciphertext: Mapped[str] = mapped_column(
        "text_answers", Text, default="", server_default=""
    )
    text_answers = EncryptedText(
        "text_answers_ciphertext", "text_answers", lambda response: response.clinic_id
    )
    #: None for a questionnaire that is not scored.
    score: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[str | None] = mapped_column(String(30))
    client_id: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_sessions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClinicInstrument(Model):
    """One version of a clinic's own questionnaire (or its own intake), as a JSON definition.

    Saving a change adds a version; versions never change once saved, so every answer can be
    read against the exact questions it answered.
    """

    __tablename__ = "clinic_instruments"
    __table_args__ = (UniqueConstraint("clinic_id", "code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Set when the clinic stops offering it; its answers stay readable.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


encrypt_pending_after_insert(MeasureResponse)
