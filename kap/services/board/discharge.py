"""Discharge and reopening, as use cases: check, discharge (one commit), reopen (one commit).

The rule itself is in ``discharge_rules``; this module reads what it needs (observations,
administrations), writes the session's state and its ``SessionDischarge`` history, and audits both
(never the text of a reason). A discharge whose final check is not clear needs a written
override reason, stored and printed on the record. A discharged session may be reopened,
with a reason, within ``REOPEN_WINDOW_MINUTES``; only final checks recorded after the latest
reopening count again. Discharge and reopening lock the session first
(``board.scope.lock_session_for_update``, as a dose, a reading and check-in do), so nothing
commits between the rules' reads and the write. The board's confirmation names what it showed
(``Confirmed``); a confirmation of older readings discharges nothing. The app records what the
clinician decided; it never decides for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from kap.extensions import db
from kap.models import (
    SessionDischarge,
    SessionStatus,
    TreatmentSession,
    User,
)
from kap.models.base import utcnow
from kap.services import audit
from kap.services.board.administrations import administrations_of
from kap.services.board.discharge_rules import (  # noqa: F401 - the board and API read these here
    BLOCKED_CODE,
    DRIVER,
    FINAL_VITALS,
    MAX_DRIVER_LENGTH,
    MAX_REASON_LENGTH,
    MIN_OVERRIDE_LENGTH,
    OBSERVATION,
    OVERRIDE_REASON,
    REOPEN_WINDOW_MINUTES,
    Readiness,
    blockers_for,
    can_reopen,
    readiness,
)
from kap.services.board.monitoring import whole_minutes
from kap.services.board.scope import (
    get_board_session,
    lock_session_for_update,
    observations_of,
    reopenings_of,
)
from kap.services.errors import Conflict, Invalid
from kap.services.row_counts import execute_counting_rows
from kap.services.unit_of_work import use_case


def _clean(text: str | None, name: str, max_length: int, single_line: bool = False) -> str:
    text = (text or "").strip()
    if single_line:
        text = " ".join(text.split())
    if len(text) > max_length:
        raise Invalid("Some text is too long.", {name: [f"Up to {max_length} characters."]})
    return text


READINGS_CHANGED = "readings_changed"
READINGS_CHANGED_MESSAGE = (
    "New readings since you started: review them before confirming the discharge."
)


@dataclass(frozen=True)
class Confirmed:
    """What a confirmation page showed: the final check that counted and its concern codes."""

    final_id: int | None
    concerns: tuple[str, ...]

    @classmethod
    def of(cls, ready: Readiness) -> Confirmed:
        return cls(ready.final.id if ready.final else None, tuple(ready.concerns))

    @classmethod
    def parse(cls, final_id: str | None, concerns: str | None) -> Confirmed:
        """From the confirmation form's hidden fields (anything unreadable matches nothing)."""
        number = int(final_id) if final_id and final_id.isdigit() else None
        return cls(number, tuple(code for code in (concerns or "").split(",") if code))

    @property
    def concerns_field(self) -> str:
        return ",".join(self.concerns)


@dataclass(frozen=True)
class DischargeRequest:
    """A discharge as asked for and checked: what would be written."""

    session: TreatmentSession
    ready: Readiness
    driver: str
    override_reason: str


def check(
    user: User,
    session_id: int,
    *,
    driver: str | None = "",
    override_reason: str | None = "",
    now: datetime | None = None,
) -> DischargeRequest:
    """Check a discharge without writing (the board's confirmation step, and ``discharge``).

    Invalid for text that is too long; Conflict when the session is closed, or with code
    ``discharge_blocked`` and every blocker in ``fields``.
    """
    now = now or utcnow()
    session = get_board_session(user, session_id)
    driver = _clean(driver, DRIVER, MAX_DRIVER_LENGTH, single_line=True)
    reason = _clean(override_reason, OVERRIDE_REASON, MAX_REASON_LENGTH)
    observations = observations_of([session.id])[session.id]
    given = administrations_of([session.id])[session.id]
    reopened_at = reopenings_of([session.id]).get(session.id)
    ready = readiness(session, observations, user.clinic, now, given, reopened_at)
    if ready.closed:
        raise Conflict(ready.closed)
    fields = blockers_for(ready, driver, reason)
    if fields:
        message = "Not discharged yet: " + " ".join(m for ms in fields.values() for m in ms)
        raise Conflict(message, fields, code=BLOCKED_CODE)
    return DischargeRequest(session, ready, driver, reason if ready.needs_override else "")


@use_case
def discharge(
    user: User,
    session_id: int,
    *,
    driver: str | None = "",
    override_reason: str | None = "",
    confirmed: Confirmed | None = None,
    now: datetime | None = None,
) -> tuple[TreatmentSession, SessionDischarge]:
    """Discharge the patient (one commit), or Conflict naming every blocker.

    The session is locked first, so no dose or reading commits between the rules' reads and
    the discharge. ``confirmed``: what the clinician's confirmation page showed (the board's
    two-step discharge); if the readings changed since, Conflict ``READINGS_CHANGED`` and
    nothing is written — an override reason typed for older readings never covers newer ones.
    """
    now = now or utcnow()
    lock_session_for_update(user, session_id)
    asked = check(user, session_id, driver=driver, override_reason=override_reason, now=now)
    session, ready = asked.session, asked.ready
    if confirmed is not None and confirmed != Confirmed.of(ready):
        raise Conflict(READINGS_CHANGED_MESSAGE, code=READINGS_CHANGED)
    # Two tablets pressing at once: only one UPDATE finds the session still here.
    stamped = execute_counting_rows(
        update(TreatmentSession)
        .where(TreatmentSession.id == session.id, TreatmentSession.discharged_at.is_(None))
        .values(discharged_at=now, discharged_by_id=user.id, updated_at=now)
    )
    if stamped != 1:
        raise Conflict("Someone has just discharged this patient.")
    record = SessionDischarge(
        session_id=session.id,
        clinic_id=session.clinic_id,
        discharged_at=now,
        discharged_by_id=user.id,
        driver=asked.driver,
        out_of_range=",".join(ready.concerns),
        override_reason=asked.override_reason,
    )
    db.session.add(record)
    db.session.flush()
    overridden = f"override=yes; out_of_range={record.out_of_range}"
    audit.record(
        "session.discharge",
        actor=user,
        subject_type="session",
        subject_id=session.id,
        patient_id=session.patient_id,
        detail=overridden if ready.needs_override else "override=no",
    )
    return session, record


def discharges_of(session_id: int) -> list[SessionDischarge]:
    """A session's discharge history, oldest first (callers pass a session already scoped)."""
    query = (
        select(SessionDischarge)
        .where(SessionDischarge.session_id == session_id)
        .order_by(SessionDischarge.discharged_at, SessionDischarge.id)
    )
    return list(db.session.scalars(query))


@use_case
def reopen(
    user: User, session_id: int, reason: str | None, now: datetime | None = None
) -> TreatmentSession:
    """Undo a discharge within the window, with a reason (one commit)."""
    now = now or utcnow()
    session = lock_session_for_update(user, session_id)
    if session.status == SessionStatus.CANCELLED:
        raise Conflict("This session was cancelled.")
    if session.discharged_at is None:
        raise Conflict("This patient is not discharged; there is nothing to reopen.")
    if not can_reopen(session, now):
        raise Conflict(
            f"Discharged more than {REOPEN_WINDOW_MINUTES} minutes ago; "
            "record a clinical note instead."
        )
    reason = _clean(reason, "reason", MAX_REASON_LENGTH)
    if not reason:
        raise Invalid("Write why the discharge is reopened.", {"reason": ["Write a reason."]})
    discharged_at = session.discharged_at
    history = discharges_of(session.id)
    record = history[-1] if history else None
    if record is None or record.reopened_at is not None:  # discharged before this history
        record = SessionDischarge(
            session_id=session.id,
            clinic_id=session.clinic_id,
            discharged_at=discharged_at,
            discharged_by_id=session.discharged_by_id,
        )
        db.session.add(record)
    reopened = execute_counting_rows(
        update(TreatmentSession)
        .where(TreatmentSession.id == session.id, TreatmentSession.discharged_at == discharged_at)
        .values(discharged_at=None, discharged_by_id=None, updated_at=now)
    )
    if reopened != 1:
        raise Conflict("Someone has just changed this discharge; look at the board again.")
    record.reopened_at = now
    record.reopened_by_id = user.id
    record.reopen_reason = reason
    db.session.flush()
    audit.record(
        "session.discharge.reopen",
        actor=user,
        subject_type="session",
        subject_id=session.id,
        patient_id=session.patient_id,
        detail=f"minutes_after_discharge={whole_minutes(now - discharged_at)}",
    )
    return session
