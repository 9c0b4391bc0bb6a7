"""A therapist's read marks on shared entries: mark read, mark unread, the next unread one.

"Unread" is per clinician: an ``EntryRead`` row (entry, therapist) says that therapist has
read the entry; a colleague in the same care team keeps their own marks. Opening an entry
marks it read (``entries.read_entry``); these functions let the therapist set the mark by hand
and walk their unread entries. Which entries count is always ``readable_entries``: a therapist
never learns of an entry they may not read.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, case, delete, func
from sqlalchemy.exc import IntegrityError

from kap.extensions import db
from kap.models import EntryRead, JournalEntry, User
from kap.services import audit
from kap.services.journal.entries import get_entry_for, readable_entries
from kap.services.unit_of_work import audited_read, rollback_lost_race, use_case


@use_case
def mark_entry_read(therapist: User, entry_id: int) -> JournalEntry:
    """Mark a shared entry read for this therapist without opening it (idempotent; audited:
    saying "I have read this" is part of the clinical record of who saw what)."""
    entry = get_entry_for(therapist, entry_id)
    if db.session.get(EntryRead, {"entry_id": entry.id, "therapist_id": therapist.id}) is None:
        db.session.add(EntryRead(entry_id=entry.id, therapist_id=therapist.id))
        try:
            db.session.flush()
        except IntegrityError:  # marked twice at once: the other request's row stands
            rollback_lost_race()
            return get_entry_for(therapist, entry_id)
    _audit_mark("entry.mark_read", therapist, entry)
    return entry


@use_case
def mark_entry_unread(therapist: User, entry_id: int) -> JournalEntry:
    """Put a shared entry back among this therapist's unread ones (a colleague's mark stays)."""
    entry = get_entry_for(therapist, entry_id)
    db.session.execute(
        delete(EntryRead).where(
            EntryRead.entry_id == entry.id, EntryRead.therapist_id == therapist.id
        )
    )
    _audit_mark("entry.mark_unread", therapist, entry)
    return entry


def _unread(therapist: User) -> Select[JournalEntry]:
    """The entries the therapist may read and has not read (a query)."""
    return (
        readable_entries(therapist)
        .outerjoin(
            EntryRead,
            and_(EntryRead.entry_id == JournalEntry.id, EntryRead.therapist_id == therapist.id),
        )
        .where(EntryRead.entry_id.is_(None))
    )


def next_unread_entry_id(therapist: User, patient_id: int | None = None) -> int | None:
    """The unread entry to read next: the oldest unread of ``patient_id`` first (a patient's
    entries read in the order they were written), then the oldest unread of any other
    patient in the therapist's care; None when everything is read."""
    query = _unread(therapist).with_only_columns(JournalEntry.id)
    if patient_id is not None:
        query = query.order_by(case((JournalEntry.patient_id == patient_id, 0), else_=1))
    query = query.order_by(JournalEntry.created_at, JournalEntry.id).limit(1)
    return db.session.scalar(query)


def unread_count(therapist: User, patient_id: int | None = None) -> int:
    """How many shared entries the therapist has not read: of one patient, or of them all."""
    query = _unread(therapist).with_only_columns(func.count())
    if patient_id is not None:
        query = query.where(JournalEntry.patient_id == patient_id)
    return db.session.scalar(query) or 0


@audited_read
def read_intention_of(therapist: User, entry: JournalEntry) -> str | None:
    """The intention of the session ``entry`` is about (decrypted), for a therapist who may
    read the entry; the read is audited like every clinician read of patient text. None when
    the entry is about no session or the session has no intention."""
    session = entry.session
    intention: str | None = session.intention if session is not None else None
    if session is None or not intention:
        return None
    audit.record(
        "intention.read",
        actor=therapist,
        subject_type="session",
        subject_id=session.id,
        patient_id=entry.patient_id,
    )
    return intention


def _audit_mark(action: str, therapist: User, entry: JournalEntry) -> None:
    audit.record(
        action,
        actor=therapist,
        subject_type="journal_entry",
        subject_id=entry.id,
        patient_id=entry.patient_id,
    )
