"""The journal API: a patient's own entries, exactly-once creation, sharing and comments."""

from functools import partial

from flask import jsonify
from flask_login import current_user

from kap.api.io import paged, paged_from, read_body
from kap.api.operations import operation, paging
from kap.api.schemas.journal import (
    Comment,
    CommentAnswer,
    Deleted,
    EntryEdit,
    JournalEntries,
    JournalEntry,
    JournalEntryAnswer,
    NewComment,
    NewEntry,
)
from kap.metrics import count_replay
from kap.models import Role
from kap.services.journal import entries as journal

PATIENT_ONLY = (Role.PATIENT,)
ENVELOPE = "The entry's fields at the top level and, identically, under entry."
EDITABLE = ("body", "mood", "shared", "session_id")


def _entries(entries) -> list[dict]:
    return [JournalEntry.answer(entry) for entry in entries]


def _entry_response(entry, status: int = 200):
    data = JournalEntry.answer(entry)
    # The entry's fields at the top level and, identically, under "entry" (see sessions).
    return jsonify(entry=data, **data), status


@operation(
    "/journal",
    summary="The patient's own entries, newest first, with comments",
    tag="Journal",
    roles=PATIENT_ONLY,
    parameters=paging("entries"),
    responses={200: ("The entries.", JournalEntries)},
    errors=(400,),
)
def list_journal():
    """The patient's own entries, newest first, with comments; paged."""
    entries, next_offset = paged(journal.own_entries(current_user))
    return jsonify(entries=_entries(entries), next_offset=next_offset)


@operation(
    "/journal",
    "POST",
    summary="Write an entry (exactly once per client_id)",
    tag="Journal",
    roles=PATIENT_ONLY,
    body=NewEntry,
    description=(
        f"{ENVELOPE} The same client_id again answers 200 with the stored entry "
        "(exactly-once sync); 409 if that entry was deleted since."
    ),
    responses={
        201: ("Created.", JournalEntryAnswer),
        200: ("Already stored under this client_id.", JournalEntryAnswer),
    },
    errors=(409,),
)
def create_journal_entry():
    """Create an entry; the same client_id again answers 200 with the same entry."""
    body = read_body(NewEntry)
    fields = body.values(sent_only=True)
    entry, created = journal.create_entry(current_user, body.client_id, fields)
    if not created:
        count_replay("journal_entry")
    return _entry_response(entry, 201 if created else 200)


@operation(
    "/journal/<int:entry_id>",
    "PATCH",
    summary="Edit an entry: body, mood, sharing or session",
    tag="Journal",
    roles=PATIENT_ONLY,
    body=EntryEdit,
    description=(
        f"{ENVELOPE} With a base_revision older than the stored one, this edit still wins "
        "and the replaced text is kept as a private copy."
    ),
    responses={200: ("The entry as stored.", JournalEntryAnswer)},
    errors=(404,),
)
def update_journal_entry(entry_id: int):
    """Edit body, mood, shared or session_id; base_revision detects edits from elsewhere."""
    body = read_body(EntryEdit)
    fields = body.values(EDITABLE, sent_only=True)
    return _entry_response(journal.update_entry(current_user, entry_id, fields, body.base_revision))


@operation(
    "/journal/<int:entry_id>",
    "DELETE",
    summary="Delete an entry and its comments",
    tag="Journal",
    roles=PATIENT_ONLY,
    responses={200: ("Deleted.", Deleted)},
    errors=(404,),
)
def delete_journal_entry(entry_id: int):
    """Delete an entry and its comments."""
    journal.delete_entry(current_user, entry_id)
    return jsonify(status="deleted")


@operation(
    "/journal/<int:entry_id>/comments",
    "POST",
    summary="Comment on an entry",
    tag="Journal",
    roles=(Role.PATIENT, Role.THERAPIST),
    body=NewComment,
    description=(
        "A care-team therapist on a shared entry; the patient on their own. The comment's "
        "fields at the top level and, identically, under comment."
    ),
    responses={201: ("The comment (trimmed).", CommentAnswer)},
    errors=(404,),
)
def create_comment(entry_id: int):
    """A care-team therapist comments on a shared entry; the patient replies on their own."""
    comment = journal.add_comment(current_user, entry_id, read_body(NewComment).body)
    data = Comment.answer(comment)
    return jsonify(comment=data, **data), 201


@operation(
    "/patients/<int:patient_id>/journal",
    summary="A patient's shared entries, for their care-team therapist",
    tag="Journal",
    roles=(Role.THERAPIST,),
    parameters=paging("entries"),
    description="Shared entries only, newest first; private ones are never listed.",
    responses={200: ("The shared entries.", JournalEntries)},
    errors=(400, 404),
)
def patient_journal(patient_id: int):
    """A care-team therapist reads what the patient shared — and nothing else."""
    entries, next_offset = paged_from(
        partial(journal.read_shared_entries, current_user, patient_id)
    )
    return jsonify(entries=_entries(entries), next_offset=next_offset)
