"""Consent: a clinic's versioned consent documents, and the patients' signatures on them.

A document never changes once saved: an edit is a new version (1, 2, … per clinic), and the
newest version is the current one. ``sha256`` is the hash of the exact text a patient is shown
(``kap.services.screening.consent.canonical_text``); a signature copies it, so what was signed
can always be proved byte for byte.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kap.crypto import EncryptedText, encrypt_pending_after_insert
from kap.models.base import Model, UTCDateTime, utcnow

MAX_TITLE_LENGTH = 200
MAX_BODY_LENGTH = 100_000
MAX_TYPED_NAME_LENGTH = 200


class ConsentDocument(Model):
    """One version of a clinic's consent document: the clinic's text, not patient data."""

    __tablename__ = "consent_documents"
    __table_args__ = (
        UniqueConstraint("clinic_id", "version"),
        # Lets a signature's (document, clinic) pair be checked by the database.
        UniqueConstraint("id", "clinic_id", name="uq_consent_documents_id_clinic_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(MAX_TITLE_LENGTH))
    body_markdown: Mapped[str] = mapped_column(Text)
    #: Hex SHA-256 of the UTF-8 bytes of the canonical text (title, blank line, body).
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ConsentSignature(Model):
    """A patient signed one version of their clinic's consent document (once)."""

    __tablename__ = "consent_signatures"
    __table_args__ = (
        ForeignKeyConstraint(
            ["patient_id", "clinic_id"],
            ["users.id", "users.clinic_id"],
            name="fk_consent_signatures_patient_same_clinic",
        ),
        ForeignKeyConstraint(
            ["document_id", "clinic_id"],
            ["consent_documents.id", "consent_documents.clinic_id"],
            name="fk_consent_signatures_document_same_clinic",
        ),
        UniqueConstraint("patient_id", "document_id"),
        CheckConstraint("agreed", name="agreed"),
        Index("ix_consent_signatures_patient_signed", "patient_id", "signed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int] = mapped_column(Integer)
    #: The document's hash when it was signed (equal to the document's: documents never change).
    document_sha256: Mapped[str] = mapped_column(String(64))
    typed_name_ciphertext: Mapped[str] = mapped_column("typed_name", Text)
    typed_name = EncryptedText("typed_name_ciphertext", "typed_name", lambda row: row.clinic_id)
    agreed: Mapped[bool] = mapped_column(Boolean)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    document: Mapped[ConsentDocument] = relationship(
        ConsentDocument,
        primaryjoin="ConsentSignature.document_id == ConsentDocument.id",
        foreign_keys=[document_id],
        lazy="joined",
        viewonly=True,
    )


encrypt_pending_after_insert(ConsentSignature)
