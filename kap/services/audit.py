"""The audit log: record who did what, and verify that nobody changed the record since.

Rows are only inserted. Each row's HMAC covers its content and the previous row's HMAC,
keyed by KAP_AUDIT_KEY (which lives outside the database): a changed row fails its own
check, a removed row breaks its successor's. No journal text, password or token is ever
put in a row — only ids, action names and short fixed details.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_request_context, request
from sqlalchemy import Select, select

from kap.extensions import db
from kap.models import AuditEvent, User
from kap.models.base import utcnow
from kap.services.write_lock import hold_write_lock

#: A fixed number for PostgreSQL's advisory lock that serialises audit writers.
_AUDIT_LOCK = 727_274_001


def _content(event: AuditEvent) -> str:
    fields = (
        event.at.isoformat(),
        event.clinic_id,
        event.actor_id,
        event.action,
        event.subject_type,
        event.subject_id,
        event.patient_id,
        event.ip_address,
        event.detail,
    )
    return "|".join("" if value is None else str(value) for value in fields)


def _mac(previous_mac: str, event: AuditEvent, key: str | None = None) -> str:
    key = key or current_app.config["AUDIT_KEY"]
    message = f"{previous_mac}\n{_content(event)}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def _serialise_chain_appends() -> None:
    """Hold the database's write lock from here to the commit, so no other writer can append
    between reading the last HMAC and adding the row chained to it (else the chain forks and
    ``audit-verify`` reports rows changed that nobody changed). See kap/services/write_lock.py.
    """
    hold_write_lock(_AUDIT_LOCK)


def record(
    action: str,
    *,
    actor: User | None = None,
    clinic_id: int | None = None,
    subject_type: str = "",
    subject_id: int | None = None,
    patient_id: int | None = None,
    ip_address: str = "",
    detail: str = "",
) -> AuditEvent:
    """Append one event, chained to the last one, to the caller's transaction.

    It never commits: the use case that records it commits once at its end
    (kap/services/unit_of_work.py), so the event lands with the change it describes or not at
    all. The chain's lock is held from here to that commit, so record the event after the
    rows the use case changes (the lock order in the comment below). The client address comes
    from the current request when there is one, so services never handle request objects.
    """
    if not ip_address and has_request_context():
        ip_address = request.remote_addr or ""
    # Row locks first, the chain's lock last, in every use case: the pending changes (e.g. a
    # session's new phase) are written before the chain is locked, never after it by the
    # autoflush of the read below; else a discharge holding the session row
    # (board.scope.lock_session_for_update) and waiting for the chain deadlocks against a
    # writer holding the chain and waiting for the row (PostgreSQL).
    db.session.flush()
    _serialise_chain_appends()
    previous = db.session.scalar(select(AuditEvent.mac).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        at=utcnow().replace(microsecond=0),
        clinic_id=clinic_id if clinic_id is not None else (actor.clinic_id if actor else None),
        actor_id=actor.id if actor else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        patient_id=patient_id,
        ip_address=(ip_address or "")[:64],
        detail=(detail or "")[:300],
    )
    event.mac = _mac(previous or "", event)
    db.session.add(event)
    db.session.flush()
    return event


def chain_head() -> tuple[int, str] | None:
    """The newest row's id and HMAC (None while the log is empty)."""
    row = db.session.execute(
        select(AuditEvent.id, AuditEvent.mac).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (row.id, row.mac) if row else None


def anchor_problem(anchor: str) -> str | None:
    """Why the chain does not reach ``anchor`` ('id:hmac', a head written earlier), or None.

    A row cut off the end of the log, or the log replaced by another valid chain, is found
    here: the row the anchor names must still exist with the same HMAC.
    """
    row_id, _, mac = (anchor or "").strip().partition(":")
    if not row_id.isdigit() or len(mac) != 64:
        return "the anchor must look like ID:HMAC, as 'flask audit-anchor' prints it"
    stored = db.session.scalar(select(AuditEvent.mac).where(AuditEvent.id == int(row_id)))
    if stored is None:
        return f"row {row_id} is gone: rows were cut off the end of the log"
    if not hmac.compare_digest(stored, mac):
        return f"row {row_id} is not the row that was anchored: the log was replaced"
    return None


@dataclass(frozen=True)
class AuditProblem:
    event_id: int
    reason: str


def verify_chain(key: str | None = None) -> Iterator[AuditProblem]:
    """Every row whose HMAC does not match its content and predecessor."""
    previous = ""
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        if not hmac.compare_digest(event.mac, _mac(previous, event, key)):
            yield AuditProblem(event.id, "changed, or a row before it was removed or changed")
        previous = event.mac


def events_of_clinic(
    clinic_id: int, *, since: datetime | None = None, action: str | None = None
) -> Select[AuditEvent]:
    """A clinic's events, newest first (for the admin's log and export)."""
    query = select(AuditEvent).where(AuditEvent.clinic_id == clinic_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if action:
        query = query.where(AuditEvent.action == action)
    return query.order_by(AuditEvent.id.desc())


#: Every action the code records (tests/unit/test_audit_actions.py checks the source against
#: it); the admin's filter offers these and any other action found in the clinic's log.
KNOWN_ACTIONS = (
    "signin.success",
    "signin.failure",
    "access.denied",
    "patient.view",
    "entry.read",
    "entry.mark_read",
    "entry.mark_unread",
    "intention.read",
    "journal.read",
    "measures.read",
    "measures.export",
    "journal.create",
    "journal.update",
    "journal.share",
    "journal.unshare",
    "journal.delete",
    "comment.create",
    "note.create",
    "intention.update",
    "checklist.update",
    "session.phase",
    "measure.create",
    "alert.call_staff",
    "alert.acknowledge",
    "alert.resolve",
    "data.export",
    "fhir.export",
    "data.deletion_request",
    "data.deletion",
    "audit.export",
    "keys.rotate",
    # Sign-in and account security.
    "signin.timeout",
    "signin.second_factor.success",
    "signin.second_factor.failure",
    "second_factor.enroll",
    "second_factor.disable",
    "second_factor.failure",
    "second_factor.recovery_code_used",
    "second_factor.recovery_codes_replaced",
    "password.change",
    # The session board.
    "board.view",
    "session.vitals",
    "session.check",
    "session.discharge",
    "session.discharge.reopen",
    "session.summary.view",
    "session.summary.pdf",
    "session.check_in",
    "session.administration",
    # Admin changes: protocol, scheduling, people and care teams.
    "template.create",
    "template.update",
    "template.version",
    "template.archive",
    "template.restore",
    "instrument.save",
    "instrument.archive",
    "instrument.restore",
    "audio.upload",
    "session.schedule",
    "session.booster",
    "session.reschedule",
    "session.cancel",
    "person.invite",
    "invitation.reissue",
    "invitation.accept",
    "person.deactivate",
    "person.reactivate",
    "care_team.update",
    "clinic.settings.update",
    # Consent (kap/services/screening/consent.py).
    "consent.document_save",
    "consent.sign",
    "consent.read",
    "consent.copy",
    # Screening intake.
    "intake.submit",
    "intake.decide",
    "intake.read",
    # Reminders between sessions.
    "reminders.update",
    # A device's Web Push subscription (kap/services/reminders/subscriptions.py).
    "push_subscription.create",
    "push_subscription.update",
    "push_subscription.move",
    "push_subscription.delete",
    # Between sessions: the private calendar feed and the patient's ride home.
    "calendar.create",
    "calendar.revoke",
    "session.ride",
)
