"""The patient's answer to "who is driving you home?" (the evening-before reminder opens it).

What the patient says is shown on the board and pre-fills the discharge form's driver, and
nothing more: the discharge rule (kap/services/board/discharge_rules.py) still needs the
clinician to write and submit the driver at discharge, because plans change between the
evening before and the way out. The name is the patient's text, so it is never put in an
audit row or a log; the audit row says only that the answer was given.
"""

from __future__ import annotations

import unicodedata

from kap.models import SessionStatus, TreatmentSession, User
from kap.models.base import utcnow
from kap.services import audit
from kap.services.board.discharge_rules import MAX_DRIVER_LENGTH
from kap.services.errors import Conflict, Invalid
from kap.services.sessions.flow import own_session
from kap.services.unit_of_work import use_case

FIELD = "driver"
EMPTY = "Write who is driving you home (a name, or who they are to you)."
TOO_LONG = f"Keep it to {MAX_DRIVER_LENGTH} characters."
UNPRINTABLE = "Use letters, numbers and punctuation only."
NOT_SCHEDULED = (
    "This session has already started or is no longer booked. Please tell the clinic's staff "
    "who is driving you home."
)


def clean_driver(driver: object) -> str:
    """The answer as stored: one line, trimmed, 1 to MAX_DRIVER_LENGTH characters, nothing
    unprintable (a control character is no name, and PostgreSQL text cannot hold a NUL)."""
    if not isinstance(driver, str):
        raise Invalid("Who is driving you home must be text.", {FIELD: [EMPTY]})
    text = " ".join(driver.split())
    if not text:
        raise Invalid("Say who is driving you home.", {FIELD: [EMPTY]})
    if len(text) > MAX_DRIVER_LENGTH:
        raise Invalid("That answer is too long.", {FIELD: [TOO_LONG]})
    if any(unicodedata.category(character) == "Cc" for character in text):
        raise Invalid("That answer has characters that cannot be shown.", {FIELD: [UNPRINTABLE]})
    return text


@use_case
def confirm_ride(patient: User, session_id: int, driver: object) -> TreatmentSession:
    """Record who is driving the patient home from their own session, while it is booked.

    Another patient's session is NotFound; a session that started, ended or was cancelled
    is a Conflict (the staff confirm the ride at discharge then).
    """
    session = own_session(patient, session_id)
    text = clean_driver(driver)
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict(NOT_SCHEDULED)
    session.ride_home = text
    session.ride_home_at = utcnow()
    audit.record(
        "session.ride",
        actor=patient,
        subject_type="session",
        subject_id=session.id,
        patient_id=patient.id,
    )
    return session
