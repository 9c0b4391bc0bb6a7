"""Ready one bench patient's next session for session mode today, as the clinic would.

``python -m bench.session_day EMAIL``: the clinic admin moves the patient's next scheduled
session to this minute (the start window allows session mode only on the session's day), and
the patient's therapist records pre-dose vitals and checks the patient in (the bench templates
require check-in). Before the first session, as at any clinic, the patient's intake is
submitted and cleared and the clinic's consent signed (the templates require both). Prints
the session's id. Runs the real services, so the rules hold.
"""

from __future__ import annotations

import sys

from sqlalchemy import select

from kap import create_app
from kap.extensions import db
from kap.models import CareTeamMember, Role, SessionStatus, TreatmentSession, User
from kap.models.base import utcnow
from kap.services.board import actions as board_actions
from kap.services.board import check_in
from kap.services.measures.library import instrument_for
from kap.services.screening import consent, intake
from kap.services.sessions import scheduling
from kap.timezones import to_local

CONSENT_TITLE = "Consent to ketamine-assisted psychotherapy (bench)"
CONSENT_BODY = "What the treatment is, its risks, and the right to stop at any time."


def _clear_to_start(patient: User, admin: User, therapist: User) -> None:
    """An intake with nothing to review, cleared by the therapist; the consent signed."""
    if not intake.is_cleared(patient):
        questionnaire = instrument_for(patient.clinic_id, "intake")
        answers = {
            item.id: 0 if item.kind == "choice" else "None"
            for item in questionnaire.items
            if item.required
        }
        included = {
            code: [0] * len(instrument_for(patient.clinic_id, code).items)
            for code in questionnaire.includes
        }
        submitted = intake.submit(patient, {"intake": answers, **included})
        intake.decide(therapist, submitted.id, "cleared", "")
    if not consent.has_signed_current(patient):
        document = consent.current_document(patient)
        if document is None:
            consent.save_document(admin, CONSENT_TITLE, CONSENT_BODY, based_on=0)
            document = consent.current_document(patient)
        consent.sign(patient, document.id, patient.name, True, document.sha256)


def main(email: str) -> int:
    """Move, measure and check in; the session's id."""
    now = utcnow()
    patient = db.session.scalar(select(User).where(User.email == email))
    admin = db.session.scalar(
        select(User).where(User.clinic_id == patient.clinic_id, User.role == Role.CLINIC_ADMIN)
    )
    therapist = db.session.get(
        User,
        db.session.scalar(
            select(CareTeamMember.therapist_id).where(CareTeamMember.patient_id == patient.id)
        ),
    )
    session = db.session.scalar(
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient.id,
            TreatmentSession.status == SessionStatus.SCHEDULED,
            TreatmentSession.scheduled_at >= now,
        )
        .order_by(TreatmentSession.scheduled_at)
        .limit(1)
    )
    _clear_to_start(patient, admin, therapist)
    local = to_local(now, patient.clinic.timezone)
    # Rooms do not matter to the measurements: a clash with another patient's room is booked
    # anyway (the same patient at the same time never is).
    scheduling.reschedule_session(
        admin,
        session,
        local.date(),
        local.time().replace(second=0, microsecond=0),
        book_anyway=True,
    )
    values = {"systolic": 122, "diastolic": 78, "heart_rate": 70, "spo2": 98}
    board_actions.record_vitals(therapist, session.id, kind="pre_dose", values=values)
    check_in.check_in(therapist, session.id, photo_id_checked=True)
    return session.id


if __name__ == "__main__":
    app = create_app()
    with app.app_context():
        print(main(sys.argv[1]))
