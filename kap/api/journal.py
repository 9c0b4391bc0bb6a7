"""The journal API: a patient's own entries, exactly-once creation, sharing and comments."""

from functools import partial

from flask import jsonify
from flask_login import current_user

from kap.api import bp
from kap.api.io import iso, json_body, paged, paged_from
from kap.models import JournalComment, JournalEntry, Role
from kap.services.errors import Invalid
from kap.services.journal import entries as journal
from kap.web.roles import api_roles


def comment_json(comment: JournalComment) -> dict:
    author = comment.author
    return {
        "id": comment.id,
        "body": comment.body,
        "created_at": iso(comment.created_at),
        "author": {"id": author.id, "name": author.name, "role": author.role} if author else None,
    }


def entry_json(entry: JournalEntry) -> dict:
    """An entry as the API lists it, plus its revision and edit time."""
    return {
        "id": entry.id,
        "client_id": entry.client_id,
        "body": entry.body,
        "mood": entry.mood,
        "shared": entry.shared,
        "session_id": entry.session_id,
        "created_at": iso(entry.created_at),
        "updated_at": iso(entry.updated_at),
        "revision": entry.revision,
        "comments": [comment_json(c) for c in entry.comments],
    }


def _entry_response(entry: JournalEntry, status: int = 200):
    data = entry_json(entry)
    # The entry's fields at the top level and, identically, under "entry" (see sessions).
    return jsonify(entry=data, **data), status


@bp.route("/journal")
@api_roles(Role.PATIENT)
def list_journal():
    """The patient's own entries, newest first, with comments; paged."""
    entries, next_offset = paged(journal.own_entries(current_user))
    return jsonify(entries=[entry_json(e) for e in entries], next_offset=next_offset)


@bp.route("/journal", methods=["POST"])
@api_roles(Role.PATIENT)
def create_journal_entry():
    """Create an entry; the same client_id again answers 200 with the same entry."""
    body = json_body()
    entry, created = journal.create_entry(current_user, body.get("client_id"), body)
    return _entry_response(entry, 201 if created else 200)


@bp.route("/journal/<int:entry_id>", methods=["PATCH"])
@api_roles(Role.PATIENT)
def update_journal_entry(entry_id: int):
    """Edit body, mood, shared or session_id; base_revision detects edits from elsewhere."""
    body = json_body()
    base = body.get("base_revision")
    if base is not None and (isinstance(base, bool) or not isinstance(base, int)):
        raise Invalid("base_revision is a number.", {"base_revision": ["A whole number."]})
    fields = {k: v for k, v in body.items() if k in ("body", "mood", "shared", "session_id")}
    return _entry_response(journal.update_entry(current_user, entry_id, fields, base))


@bp.route("/journal/<int:entry_id>", methods=["DELETE"])
@api_roles(Role.PATIENT)
def delete_journal_entry(entry_id: int):
    """Delete an entry and its comments."""
    journal.delete_entry(current_user, entry_id)
    return jsonify(status="deleted")


@bp.route("/journal/<int:entry_id>/comments", methods=["POST"])
@api_roles(Role.PATIENT, Role.THERAPIST)
def create_comment(entry_id: int):
    """A care-team therapist comments on a shared entry; the patient replies on their own."""
    comment = journal.add_comment(current_user, entry_id, json_body().get("body"))
    data = comment_json(comment)
    return jsonify(comment=data, **data), 201


@bp.route("/patients/<int:patient_id>/journal")
@api_roles(Role.THERAPIST)
def patient_journal(patient_id: int):
    """A care-team therapist reads what the patient shared — and nothing else."""
    entries, next_offset = paged_from(
        partial(journal.read_shared_entries, current_user, patient_id)
    )
    return jsonify(entries=[entry_json(e) for e in entries], next_offset=next_offset)
