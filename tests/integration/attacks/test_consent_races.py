"""Signing one consent version from many requests at once keeps exactly one signature."""

from __future__ import annotations

from sqlalchemy import func, select

from kap.extensions import db
from kap.models import AuditEvent, User
from kap.models.consent import ConsentSignature
from kap.services.screening import consent
from tests.integration.attacks.helpers import race


def test_thirty_simultaneous_signatures_of_one_version_keep_one(dev_server):
    """SQLite file, 30 threads released together by a barrier: one signature is written and
    audited; every other request answers that same signature, none fails."""
    app = dev_server.app
    with app.app_context():
        patient = db.session.scalar(select(User).where(User.email == "patient2@demo.test"))
        patient_id, name = patient.id, patient.name
        document = consent.current_document(patient)
        document_id, sha = document.id, document.sha256
        db.session.remove()

    def sign(_index: int) -> tuple[int, bool]:
        with app.app_context():
            try:
                signer = db.session.get(User, patient_id)
                signed = consent.sign(signer, document_id, name, True, sha)
                return signed.signature.id, signed.created
            finally:
                db.session.remove()

    results = race(30, sign)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({signature_id for signature_id, _ in results}) == 1, results
    assert sum(created for _, created in results) == 1, results
    with app.app_context():
        signatures = db.session.scalar(
            select(func.count()).where(
                ConsentSignature.patient_id == patient_id,
                ConsentSignature.document_id == document_id,
            )
        )
        audited = db.session.scalar(
            select(func.count()).where(
                AuditEvent.action == "consent.sign", AuditEvent.patient_id == patient_id
            )
        )
        db.session.remove()
    assert signatures == 1
    assert audited == 1
