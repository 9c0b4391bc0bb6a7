"""Re-encrypting every protected value under the newest data key (flask rotate-keys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select

from kap import crypto
from kap.extensions import db
from kap.models import (
    Alert,
    CalendarFeed,
    ClinicalNote,
    ConsentSignature,
    IntakeSubmission,
    JournalComment,
    JournalEntry,
    MeasureResponse,
    MedicationAdministration,
    SessionDischarge,
    SessionObservation,
    TreatmentSession,
    User,
)
from kap.services import audit
from kap.services.unit_of_work import unit_of_work

#: The models with encrypted columns (EncryptedText attributes).
EncryptedModel = (
    JournalEntry
    | JournalComment
    | TreatmentSession
    | ClinicalNote
    | SessionObservation
    | MedicationAdministration
    | SessionDischarge
    | Alert
    | MeasureResponse
    | User
    | ConsentSignature
    | IntakeSubmission
    | CalendarFeed
)
_Encrypted = TypeVar("_Encrypted", bound=EncryptedModel)
ENCRYPTED_MODELS: tuple[type[EncryptedModel], ...] = (
    JournalEntry,
    JournalComment,
    TreatmentSession,
    ClinicalNote,
    SessionObservation,
    MedicationAdministration,
    SessionDischarge,
    Alert,
    MeasureResponse,
    User,
    ConsentSignature,
    IntakeSubmission,
    CalendarFeed,
)


@dataclass
class RotationReport:
    rewritten: int = 0
    already_current: int = 0


def rotate_keys(batch_size: int = 500) -> RotationReport:
    """Decrypt each value with whichever key made it and encrypt it with the newest.

    Values written before encryption existed (plain text) are encrypted too. Each batch is
    its own unit of work (the one deliberate exception to one commit per use case, see
    docs/architecture.md "Transactions"), so a large database is neither held in memory nor
    locked in one long transaction; the audit row comes last.
    """
    report = RotationReport()
    newest_id = crypto.keyring().newest[0]
    for model in ENCRYPTED_MODELS:
        _rotate_model(model, newest_id, batch_size, report)
    with unit_of_work():
        audit.record("keys.rotate", detail=f"rewritten={report.rewritten}")
    return report


def _rotate_model(
    model: type[_Encrypted], newest_id: str, batch_size: int, report: RotationReport
) -> None:
    """Re-encrypt one model's values under the newest key (see rotate_keys), a batch per
    transaction."""
    fields: list[crypto.EncryptedText] = vars(model)["_encrypted_fields"]  # see EncryptedText
    last_id = 0
    while True:
        with unit_of_work():
            rows = db.session.scalars(
                select(model).where(model.id > last_id).order_by(model.id).limit(batch_size)
            ).all()
            for row in rows:
                for field in fields:
                    stored = getattr(row, field.stored)
                    if not stored:
                        continue
                    if crypto.is_encrypted(stored) and crypto.key_id_of(stored) == newest_id:
                        report.already_current += 1
                        continue
                    plain = getattr(row, field.name)
                    setattr(row, field.name, plain)
                    report.rewritten += 1
            if not rows:
                break
            last_id = rows[-1].id
