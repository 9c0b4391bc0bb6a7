"""What a day's sessions still wait for before they may start: intake and consent, at a glance.

The gates themselves are ``intake.is_cleared`` and ``consent.has_signed_current`` (checked by
``sessions.flow.advance_phase``); this is the same rule for many sessions at once, for the
session board, in a fixed number of queries however many sessions there are.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from kap.extensions import db
from kap.models import ConsentDocument, ConsentSignature, IntakeSubmission, TreatmentSession
from kap.models.intake import IntakeStatus

INTAKE_NOT_CLEARED = "Intake not cleared"
CONSENT_NOT_SIGNED = "Consent not signed"


def _newest_intake_status(patient_ids: set[int]) -> dict[int, str]:
    newest = (
        select(IntakeSubmission.patient_id, func.max(IntakeSubmission.id).label("id"))
        .where(IntakeSubmission.patient_id.in_(patient_ids))
        .group_by(IntakeSubmission.patient_id)
        .subquery()
    )
    rows = db.session.execute(
        select(IntakeSubmission.patient_id, IntakeSubmission.status).join(
            newest, IntakeSubmission.id == newest.c.id
        )
    ).all()
    return {patient_id: status for patient_id, status in rows}


def _signed_current(patient_ids: set[int], clinic_ids: set[int]) -> set[int]:
    newest = (
        select(ConsentDocument.clinic_id, func.max(ConsentDocument.version).label("version"))
        .where(ConsentDocument.clinic_id.in_(clinic_ids))
        .group_by(ConsentDocument.clinic_id)
        .subquery()
    )
    current = select(ConsentDocument.id).join(
        newest,
        (ConsentDocument.clinic_id == newest.c.clinic_id)
        & (ConsentDocument.version == newest.c.version),
    )
    return set(
        db.session.scalars(
            select(ConsentSignature.patient_id).where(
                ConsentSignature.patient_id.in_(patient_ids),
                ConsentSignature.document_id.in_(current),
            )
        )
    )


def waiting_for(sessions: Sequence[TreatmentSession]) -> dict[int, tuple[str, ...]]:
    """Per session id: what its template requires that the patient has not got yet
    ("Intake not cleared", "Consent not signed"); sessions lacking nothing are left out."""
    asking = [
        s
        for s in sessions
        if s.template_version.requires_intake or s.template_version.requires_consent
    ]
    if not asking:
        return {}
    patients = {s.patient_id for s in asking}
    statuses = _newest_intake_status(patients)
    signed = _signed_current(patients, {s.clinic_id for s in asking})
    waiting = {}
    for session in asking:
        missing = []
        version = session.template_version
        if version.requires_intake and statuses.get(session.patient_id) != IntakeStatus.CLEARED:
            missing.append(INTAKE_NOT_CLEARED)
        if version.requires_consent and session.patient_id not in signed:
            missing.append(CONSENT_NOT_SIGNED)
        if missing:
            waiting[session.id] = tuple(missing)
    return waiting
