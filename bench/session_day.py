"""Ready one bench patient's next session for session mode today, as the clinic would.

``python -m bench.session_day EMAIL``: the clinic admin moves the patient's next scheduled
session to this minute (the start window allows session mode only on the session's day), and
the patient's therapist records pre-dose vitals and checks the patient in (the bench templates
require check-in). Prints the session's id. Runs the real services, so the rules hold.
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
from kap.services.sessions import scheduling
from kap.timezones import to_local


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
