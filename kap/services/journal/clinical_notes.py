"""Private clinical notes: written and read by the care team only, never by the patient."""

from __future__ import annotations

from sqlalchemy import select

from kap.extensions import db
from kap.models import ClinicalNote, User
from kap.services import audit
from kap.services.errors import Invalid
from kap.services.people.access import get_patient_for
from kap.services.unit_of_work import use_case

MAX_NOTE_LENGTH = 20_000


def notes_about(viewer: User, patient_id: int) -> list[ClinicalNote]:
    """A care-team member's view of the notes about a patient, newest first."""
    patient = get_patient_for(viewer, patient_id)
    if not viewer.is_therapist:
        return []
    return list(
        db.session.scalars(
            select(ClinicalNote)
            .where(ClinicalNote.patient_id == patient.id)
            .order_by(ClinicalNote.created_at.desc(), ClinicalNote.id.desc())
        )
    )


@use_case
def add_note(
    author: User, patient_id: int, body: str, session_id: int | None = None
) -> ClinicalNote:
    """A therapist in the care team writes a note about a patient."""
    patient = get_patient_for(author, patient_id)
    if not author.is_therapist:
        raise Invalid("Only the care team writes clinical notes.")
    body = (body or "").strip()
    if not body:
        raise Invalid("Write the note first.", {"body": ["Write the note first."]})
    if len(body) > MAX_NOTE_LENGTH:
        raise Invalid("The note is too long.", {"body": [f"Up to {MAX_NOTE_LENGTH:,} characters."]})
    note = ClinicalNote(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        author_id=author.id,
        body=body,
        session_id=session_id,
    )
    db.session.add(note)
    db.session.flush()
    audit.record(
        "note.create",
        actor=author,
        subject_type="clinical_note",
        subject_id=note.id,
        patient_id=patient.id,
    )
    return note
