"""The integration journal: private by default, shared per entry, exactly-once creation.

Who may read which entry is decided here and nowhere else (``readable_entries``): a patient
their own; a therapist the entries a patient shared, of patients in the therapist's care
team; a clinic admin none. Every other read of entries derives from it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, false, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from kap.extensions import db
from kap.models import (
    MAX_COMMENT_LENGTH,
    MAX_ENTRY_LENGTH,
    EntryRead,
    JournalComment,
    JournalEntry,
    User,
    shared_and_kept,
)
from kap.models.base import MAX_ID, utcnow
from kap.services import audit
from kap.services.errors import Conflict, Invalid, NotFound
from kap.services.people.access import get_patient_for
from kap.services.people.care_teams import in_care_list
from kap.services.queries import one_or_not_found, rows_and_more
from kap.services.sessions.flow import own_session
from kap.services.unit_of_work import audited_read, rollback_lost_race, use_case

CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass
class EntryInput:
    """An entry's fields as a patient sends them, checked."""

    body: str | None = None
    mood: int | None = None
    mood_given: bool = False
    shared: bool | None = None
    session_id: int | None = None
    session_given: bool = False


def parse_entry_fields(data: dict[str, Any], *, creating: bool) -> EntryInput:
    """Check body, mood, shared and session_id; Invalid names every bad field."""
    errors: dict[str, list[str]] = {}
    result = EntryInput()
    if "body" in data or creating:
        body = data.get("body")
        if not isinstance(body, str) or not body.strip():
            errors["body"] = ["Write something before saving."]
        elif len(body) > MAX_ENTRY_LENGTH:
            errors["body"] = [
                f"Entries can be up to {MAX_ENTRY_LENGTH:,} characters; this one has "
                f"{len(body):,}. Split it into two entries."
            ]
        else:
            result.body = body.replace("\r\n", "\n")
    if "mood" in data:
        mood = data["mood"]
        result.mood_given = True
        if mood is None or mood == "":
            result.mood = None
        elif isinstance(mood, bool) or not isinstance(mood, int) or not 0 <= mood <= 10:
            errors["mood"] = ["Mood is a whole number from 0 to 10, or empty."]
        else:
            result.mood = mood
    if "shared" in data or creating:
        shared = data.get("shared", False)
        if not isinstance(shared, bool):
            errors["shared"] = ["shared is true or false."]
        else:
            result.shared = shared
    if "session_id" in data:
        session_id = data["session_id"]
        result.session_given = True
        if session_id is not None and (
            isinstance(session_id, bool)
            or not isinstance(session_id, int)
            or not 1 <= session_id <= MAX_ID
        ):
            errors["session_id"] = ["session_id is one of your session ids, or null."]
        else:
            result.session_id = session_id
    if errors:
        raise Invalid("Some fields need attention.", errors)
    return result


def _check_session(patient: User, session_id: int | None) -> None:
    if session_id is not None:
        try:
            own_session(patient, session_id)
        except NotFound:
            raise Invalid(
                "That session is not yours.", {"session_id": ["Choose one of your sessions."]}
            ) from None


def own_entry_filter(patient_id: int | BindParameter[int]) -> ColumnElement[bool]:
    """What a patient may read: their own entries that are not deleted. ``patient_id`` may be
    a bind parameter, for a statement built once (the journal page, journal/page.py)."""
    return and_(JournalEntry.patient_id == patient_id, JournalEntry.deleted_at.is_(None))


def care_team_entry_filter(therapist_id: int | BindParameter[int]) -> ColumnElement[bool]:
    """What a therapist may read: the shared, not deleted entries of the patients in their
    care. ``therapist_id`` may be a bind parameter, for a statement built once (the
    dashboard's unread counts, people/workspace.py)."""
    return and_(in_care_list(JournalEntry.patient_id, therapist_id), shared_and_kept())


def readable_entries(viewer: User, patient: User | None = None) -> Select[JournalEntry]:
    """The entries ``viewer`` may read (of ``patient`` only, when given): the one definition.

    A patient reads their own; a therapist the shared entries of patients in their care team;
    anyone else (a clinic admin runs the clinic and does not read journals) none. Deleted
    entries are read by nobody.
    """
    if viewer.is_patient:
        condition = own_entry_filter(viewer.id)
    elif viewer.is_therapist:
        condition = care_team_entry_filter(viewer.id)
    else:
        condition = false()
    query = select(JournalEntry).where(condition)
    if patient is not None:
        query = query.where(JournalEntry.patient_id == patient.id)
    return query


def own_entries(patient: User) -> Select[JournalEntry]:
    """The patient's own entries, newest first, with comments and their authors (the API's
    shape; the journal page reads kap/services/journal/page.py)."""
    return _newest_first(
        readable_entries(patient).options(
            selectinload(JournalEntry.comments)
            .joinedload(JournalComment.author)
            .lazyload(User.clinic),  # a reply shows its author, not their clinic
        )
    )


def _newest_first(query: Select[JournalEntry]) -> Select[JournalEntry]:
    return query.order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc())


def count_own_entries(patient: User) -> int:
    """How many entries the patient has (not deleted)."""
    count = db.session.scalar(
        readable_entries(patient).with_only_columns(func.count(JournalEntry.id))
    )
    return count or 0


def get_entry_for(user: User, entry_id: int) -> JournalEntry:
    """An entry ``user`` may read, or NotFound."""
    return one_or_not_found(readable_entries(user).where(JournalEntry.id == entry_id), "entry")


@use_case
def create_entry(patient: User, client_id: str, data: dict[str, Any]) -> tuple[JournalEntry, bool]:
    """Create an entry once per ``client_id``. Returns (entry, created)."""
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise Invalid(
            "client_id is required.",
            {"client_id": ["1 to 64 letters, digits, '-', '_', '.' or ':' (a UUID works)."]},
        )
    existing = db.session.scalar(
        select(JournalEntry).where(
            JournalEntry.patient_id == patient.id, JournalEntry.client_id == client_id
        )
    )
    if existing is not None:
        if existing.deleted_at is not None:
            raise Conflict("This entry was deleted.")
        return existing, False
    fields = parse_entry_fields(data, creating=True)
    _check_session(patient, fields.session_id)
    now = utcnow()
    entry = JournalEntry(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        client_id=client_id,
        body=fields.body,
        mood=fields.mood,
        shared=bool(fields.shared),
        shared_at=now if fields.shared else None,
        session_id=fields.session_id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError:  # the same client_id arrived twice at once: one entry wins
        rollback_lost_race()
        return create_entry(patient, client_id, data)
    _audit_entry("journal.create", patient, entry, "shared" if entry.shared else "private")
    return entry, True


def conflict_copy_id(entry: JournalEntry) -> str:
    """A client_id for the copy of an overwritten text: it always fits (at most 36 characters)
    and never collides. Deriving it from the entry's own client_id overflowed 64 characters
    (truncated, it equalled the original: a 500, and the edit lost); the random part keeps two
    simultaneous stale edits of one revision apart."""
    return f"conflict:{entry.id}:r{entry.revision}:{secrets.token_hex(4)}"


@use_case
def update_entry(
    patient: User, entry_id: int, data: dict[str, Any], base_revision: int | None = None
) -> JournalEntry:
    """Edit an entry (body, mood, sharing, session).

    If ``base_revision`` is older than the stored one, the entry was edited elsewhere in the
    meantime: this (later) edit wins, and the text it replaces is kept as a private copy.
    """
    entry = get_entry_for(patient, entry_id)
    fields = parse_entry_fields(data, creating=False)
    if fields.session_given:
        _check_session(patient, fields.session_id)
    now = utcnow()
    if (
        base_revision is not None
        and base_revision != entry.revision
        and fields.body is not None
        and fields.body != entry.body
    ):
        db.session.add(
            JournalEntry(
                clinic_id=entry.clinic_id,
                patient_id=entry.patient_id,
                client_id=conflict_copy_id(entry),
                body=entry.body,
                mood=entry.mood,
                shared=False,
                session_id=entry.session_id,
                created_at=entry.created_at,
                updated_at=now,
            )
        )
    if fields.body is not None:
        entry.body = fields.body
    if fields.mood_given:
        entry.mood = fields.mood
    sharing_changed = fields.shared is not None and fields.shared != entry.shared
    if sharing_changed:
        entry.shared = bool(fields.shared)
        entry.shared_at = now if fields.shared else None
    if fields.session_given:
        entry.session_id = fields.session_id
    entry.revision += 1
    entry.updated_at = now
    if sharing_changed:  # the rows first, then the audit chain (docs/architecture.md)
        _audit_entry("journal.share" if entry.shared else "journal.unshare", patient, entry)
    _audit_entry("journal.update", patient, entry)
    return entry


@use_case
def delete_entry(patient: User, entry_id: int) -> None:
    """Delete an entry: its text and comments are gone; an empty tombstone stays."""
    entry = get_entry_for(patient, entry_id)
    entry.body = ""
    entry.mood = None
    entry.shared = False
    entry.shared_at = None
    entry.comments.clear()
    entry.deleted_at = utcnow()
    entry.revision += 1
    _audit_entry("journal.delete", patient, entry)


@use_case
def add_comment(author: User, entry_id: int, body: object) -> JournalComment:
    """A comment by a care-team therapist on a shared entry, or by the patient on their own."""
    entry = get_entry_for(author, entry_id)
    if not isinstance(body, str) or not body.strip():
        raise Invalid("Write a comment first.", {"body": ["Write a comment first."]})
    if len(body) > MAX_COMMENT_LENGTH:
        raise Invalid(
            "The comment is too long.",
            {"body": [f"Comments can be up to {MAX_COMMENT_LENGTH:,} characters."]},
        )
    comment = JournalComment(entry=entry, author_id=author.id, body=body.strip())
    db.session.add(comment)
    db.session.flush()
    audit.record(
        "comment.create",
        actor=author,
        subject_type="journal_comment",
        subject_id=comment.id,
        patient_id=entry.patient_id,
    )
    return comment


def _audit_entry(action: str, actor: User, entry: JournalEntry, detail: str = "") -> None:
    audit.record(
        action,
        actor=actor,
        subject_type="journal_entry",
        subject_id=entry.id,
        patient_id=entry.patient_id,
        detail=detail,
    )


def shared_entries_of(viewer: User, patient: User) -> Select[JournalEntry]:
    """The entries of ``patient`` that ``viewer`` may read (for a care-team therapist: the
    shared ones), newest first, with their comments. Only a query: the audited read is
    ``read_shared_entries``."""
    return _newest_first(
        readable_entries(viewer, patient).options(selectinload(JournalEntry.comments))
    )


@audited_read
def read_shared_entries(
    viewer: User, patient_id: int, *, limit: int, offset: int
) -> tuple[list[JournalEntry], bool]:
    """A care-team therapist reading a patient's journal: up to ``limit`` shared entries from
    ``offset``, newest first, and whether more follow; the read is audited (NotFound for a
    patient the viewer may not see)."""
    patient = get_patient_for(viewer, patient_id)
    audit.record(
        "journal.read",
        actor=viewer,
        subject_type="user",
        subject_id=patient.id,
        patient_id=patient.id,
    )
    return rows_and_more(shared_entries_of(viewer, patient), limit, offset)


def read_entry(therapist: User, entry_id: int) -> JournalEntry:
    """A therapist opening one shared entry: marked read for them, and the read audited.

    Marking it read is a use case of its own (two tabs opening the entry at once may lose a
    race on its unique row, which it handles only as the outermost unit of work)."""
    entry = get_entry_for(therapist, entry_id)
    mark_read(therapist, entry)
    _record_entry_read(therapist, entry)
    return entry


@audited_read
def _record_entry_read(therapist: User, entry: JournalEntry) -> None:
    audit.record(
        "entry.read",
        actor=therapist,
        subject_type="journal_entry",
        subject_id=entry.id,
        patient_id=entry.patient_id,
    )


@use_case
def mark_read(therapist: User, entry: JournalEntry) -> None:
    """Remember that the therapist opened this shared entry (for unread marks)."""
    if db.session.get(EntryRead, {"entry_id": entry.id, "therapist_id": therapist.id}) is None:
        db.session.add(EntryRead(entry_id=entry.id, therapist_id=therapist.id))
        try:
            db.session.flush()
        except IntegrityError:  # opened twice at once
            rollback_lost_race()


def read_entry_ids(therapist: User, entry_ids: list[int]) -> set[int]:
    """Which of these entries the therapist has opened."""
    if not entry_ids:
        return set()
    return set(
        db.session.scalars(
            select(EntryRead.entry_id).where(
                EntryRead.therapist_id == therapist.id, EntryRead.entry_id.in_(entry_ids)
            )
        )
    )
