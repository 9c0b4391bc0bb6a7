"""The session board says which of today's sessions still wait for an intake decision or a
signed consent, so the front desk knows before check-in why Start session is off."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from kap.extensions import db
from kap.models import TreatmentSession
from kap.services.people.care_teams import care_team_of
from kap.services.screening import consent, intake
from tests.helpers import user_by_email


def _row(page: str, session_id: int) -> str:
    start = page.index(f'id="session-{session_id}"')
    end = page.find('<article class="board-row', start + 1)
    return page[start : end if end != -1 else len(page)]


def _patient2_session_now(app) -> int:
    with app.app_context():
        patient2 = user_by_email("patient2@demo.test")
        session = db.session.scalars(
            select(TreatmentSession)
            .where(TreatmentSession.patient_id == patient2.id)
            .order_by(TreatmentSession.scheduled_at)
        ).first()
        session.scheduled_at = datetime.now(UTC).replace(second=0, microsecond=0)
        db.session.commit()
        return session.id


def test_board_names_what_each_session_waits_for(app, page_as, people, session_id):
    """patient2 (intake under review, consent unsigned) shows both; the demo patient neither;
    once cleared and signed, the row says nothing more."""
    waiting_id = _patient2_session_now(app)
    board = page_as("therapist@demo.test")
    page = board.get("/board/").get_data(as_text=True)
    row = _row(page, waiting_id)
    assert "Intake not cleared" in row and "Consent not signed" in row
    assert "data-waiting-for" not in _row(page, session_id)

    with app.app_context():
        patient2 = user_by_email("patient2@demo.test")
        submission = intake.latest_intake(patient2)
        intake.decide(care_team_of(patient2)[0], submission.id, "cleared", "")
        page = board.get("/board/").get_data(as_text=True)
        assert re.search(r"Intake not cleared", _row(page, waiting_id)) is None
        assert "Consent not signed" in _row(page, waiting_id)
        document = consent.current_document(patient2)
        consent.sign(patient2, document.id, patient2.name, True, document.sha256)
    page = board.get("/board/").get_data(as_text=True)
    assert "data-waiting-for" not in _row(page, waiting_id)
