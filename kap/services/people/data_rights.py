"""Patient data rights: a copy of everything they may see, and deletion of their data.

Deletion removes what the patient wrote and who they are; the clinic keeps only its
clinical record (session dates and phase times, vitals and monitoring checks, check-in
scores, safety alerts, clinical notes) and the audit log, as README "Data rights" says.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from kap.extensions import db
from kap.models import (
    Alert,
    CareTeamMember,
    ChecklistTick,
    EntryRead,
    IntakeSubmission,
    Invitation,
    JournalEntry,
    MeasureResponse,
    RecoveryCode,
    TreatmentSession,
    User,
)
from kap.models.base import utcnow
from kap.models.reminders import CalendarFeed, ReminderDelivery, ReminderPreference
from kap.services import audit
from kap.services.auth.signin import revoke_sessions
from kap.services.errors import Conflict, Invalid
from kap.services.journal.entries import readable_entries
from kap.services.people.access import get_patient_for
from kap.services.reminders.subscriptions import forget_devices
from kap.services.screening.consent import signatures_on_file
from kap.services.unit_of_work import audited_read, use_case


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


@audited_read
def export_patient_data(patient: User) -> dict[str, Any]:
    """Everything the patient wrote and everything recorded about them that they may see."""
    sessions = db.session.scalars(
        select(TreatmentSession)
        .where(TreatmentSession.patient_id == patient.id)
        .order_by(TreatmentSession.scheduled_at)
    ).all()
    entries = db.session.scalars(readable_entries(patient).order_by(JournalEntry.created_at)).all()
    measures = db.session.scalars(
        select(MeasureResponse)
        .where(MeasureResponse.patient_id == patient.id)
        .order_by(MeasureResponse.created_at)
    ).all()
    alerts = db.session.scalars(
        select(Alert).where(Alert.patient_id == patient.id).order_by(Alert.created_at)
    ).all()
    intakes = db.session.scalars(
        select(IntakeSubmission)
        .where(IntakeSubmission.patient_id == patient.id)
        .order_by(IntakeSubmission.submitted_at, IntakeSubmission.id)
    ).all()
    audit.record(
        "data.export",
        actor=patient,
        subject_type="user",
        subject_id=patient.id,
        patient_id=patient.id,
    )
    return {
        "exported_at": _iso(utcnow()),
        "profile": {
            "name": patient.name,
            "email": patient.email,
            "clinic": patient.clinic.name,
            "account_created_at": _iso(patient.created_at),
        },
        "sessions": [
            {
                "id": s.id,
                "scheduled_at": _iso(s.scheduled_at),
                "status": s.status,
                "template": s.template_version.template.name,
                "intention": s.intention,
                "ride_home": s.ride_home or None,
                "checklist": [
                    {"text": item.text, "checked": item.id in {t.item_id for t in s.ticks}}
                    for item in s.template_version.checklist_items
                ],
                "started_at": _iso(s.session_started_at),
                "downtime_started_at": _iso(s.downtime_started_at),
                "integration_started_at": _iso(s.integration_started_at),
                "completed_at": _iso(s.completed_at),
            }
            for s in sessions
        ],
        "journal": [
            {
                "id": e.id,
                "created_at": _iso(e.created_at),
                "updated_at": _iso(e.updated_at),
                "body": e.body,
                "mood": e.mood,
                "shared_with_care_team": e.shared,
                "session_id": e.session_id,
                "comments": [
                    {
                        "author": c.author.name if c.author else "Former staff",
                        "author_role": c.author.role if c.author else None,
                        "body": c.body,
                        "created_at": _iso(c.created_at),
                    }
                    for c in e.comments
                ],
            }
            for e in entries
        ],
        "check_ins": [
            {
                "instrument": m.instrument,
                "version": m.instrument_version,
                "answers": m.answers,
                # The patient's own words in a questionnaire's text questions.
                "text_answers": json.loads(m.text_answers) if m.text_answers else {},
                "score": m.score,
                "severity": m.severity,
                "created_at": _iso(m.created_at),
            }
            for m in measures
        ],
        # What the patient answered and where it stands; the clinician's note is theirs.
        "intakes": [
            {
                "submitted_at": _iso(i.submitted_at),
                "version": i.instrument_version,
                "answers": json.loads(i.answers or "{}"),
                "status": i.status,
                "decided_at": _iso(i.decided_at),
            }
            for i in intakes
        ],
        # What the patient signed: the version, its SHA-256 and when (the text is theirs to
        # download from the consent page, as signed).
        "consents": [
            {
                "document_version": c.document.version,
                "title": c.document.title,
                "document_sha256": c.document_sha256,
                "typed_name": c.typed_name,
                "signed_at": _iso(c.signed_at),
            }
            for c in sorted(signatures_on_file(patient.id), key=lambda c: (c.signed_at, c.id))
        ],
        "safety_alerts": [
            {
                "kind": a.kind,
                "created_at": _iso(a.created_at),
                "resolved": a.resolved_at is not None,
            }
            for a in alerts
        ],
    }


@use_case
def request_deletion(patient: User) -> None:
    """The patient asks for their account and data to be deleted (an admin completes it)."""
    if patient.deletion_requested_at is None:
        patient.deletion_requested_at = utcnow()
        audit.record(
            "data.deletion_request",
            actor=patient,
            subject_type="user",
            subject_id=patient.id,
            patient_id=patient.id,
        )


def pending_deletions(admin: User) -> list[User]:
    """Patients of the admin's clinic waiting for their deletion to be completed."""
    return list(
        db.session.scalars(
            select(User).where(
                User.clinic_id == admin.clinic_id,
                User.deletion_requested_at.is_not(None),
                User.deleted_at.is_(None),
            )
        )
    )


@use_case
def delete_patient_data(admin: User, patient_id: int, confirm: str) -> User:
    """Remove the patient's writing and identity; keep the clinic's clinical record."""
    patient = get_patient_for(admin, patient_id)
    if not admin.is_clinic_admin:
        raise Invalid("Only a clinic admin completes a deletion.")
    if patient.deleted_at is not None:
        raise Conflict("This patient's data was already deleted.")
    if (confirm or "").strip().upper() != "DELETE":
        raise Invalid("Type DELETE to confirm.", {"confirm": ["Type DELETE to confirm."]})
    entry_ids = select(JournalEntry.id).where(JournalEntry.patient_id == patient.id)
    db.session.execute(delete(EntryRead).where(EntryRead.entry_id.in_(entry_ids)))
    for entry in db.session.scalars(
        select(JournalEntry).where(JournalEntry.patient_id == patient.id)
    ):
        db.session.delete(entry)  # comments go with it
    for session in db.session.scalars(
        select(TreatmentSession).where(TreatmentSession.patient_id == patient.id)
    ):
        session.intention = None
        session.intention_updated_at = None
        session.ride_home = ""  # a name the patient wrote (someone else's)
        session.ride_home_at = None
    session_ids = select(TreatmentSession.id).where(TreatmentSession.patient_id == patient.id)
    db.session.execute(delete(ChecklistTick).where(ChecklistTick.session_id.in_(session_ids)))
    db.session.execute(delete(CareTeamMember).where(CareTeamMember.patient_id == patient.id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == patient.id))
    db.session.execute(delete(Invitation).where(Invitation.user_id == patient.id))
    db.session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == patient.id))
    db.session.execute(delete(ReminderPreference).where(ReminderPreference.user_id == patient.id))
    db.session.execute(delete(ReminderDelivery).where(ReminderDelivery.patient_id == patient.id))
    patient.name = "Deleted patient"
    patient.email = f"deleted-{patient.id}@deleted.invalid"
    patient.password_hash = None
    patient.totp_secret = None
    patient.totp_enabled_at = None
    patient.active = False
    patient.deleted_at = utcnow()
    revoke_sessions(patient)
    forget_devices(patient)  # no notification reaches their phone any more
    audit.record(  # the rows first, then the audit chain (docs/architecture.md)
        "data.deletion",
        actor=admin,
        subject_type="user",
        subject_id=patient.id,
        patient_id=patient.id,
    )
    return patient
