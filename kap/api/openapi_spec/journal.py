"""The journal: a patient's own entries, exactly-once creation, sharing and comments."""

from __future__ import annotations

from kap.api.openapi_spec.common import (
    CLIENT_ID,
    ID,
    NEXT_OFFSET,
    NOT_BLANK,
    NULLABLE_ID,
    TIMESTAMP,
    answer,
    array,
    closed,
    operation,
    paging,
    path_id,
    ref,
    request_object,
)
from kap.models import MAX_COMMENT_LENGTH, MAX_ENTRY_LENGTH

MOOD = {"type": ["integer", "null"], "minimum": 0, "maximum": 10}

COMMENT_PROPERTIES = {
    "id": ID,
    "body": {"type": "string"},
    "created_at": TIMESTAMP,
    "author": {
        "oneOf": [
            closed(
                {
                    "id": ID,
                    "name": {"type": "string"},
                    "role": {"type": "string", "enum": ["patient", "therapist"]},
                }
            ),
            {"type": "null", "description": "The author's account was removed."},
        ]
    },
}
ENTRY_PROPERTIES = {
    "id": ID,
    "client_id": {"type": "string", "maxLength": 64},
    "body": {"type": "string"},
    "mood": MOOD,
    "shared": {"type": "boolean"},
    "session_id": NULLABLE_ID,
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "revision": {"type": "integer", "minimum": 1},
    "comments": array(ref("Comment")),
}

SCHEMAS = {
    "Comment": closed(COMMENT_PROPERTIES),
    "JournalEntry": closed(ENTRY_PROPERTIES),
    "JournalEntryAnswer": closed({**ENTRY_PROPERTIES, "entry": ref("JournalEntry")}),
    "JournalEntries": closed({"entries": array(ref("JournalEntry")), "next_offset": NEXT_OFFSET}),
}

BODY = {"type": "string", "minLength": 1, "maxLength": MAX_ENTRY_LENGTH, "pattern": NOT_BLANK}
ENTRY_ID = path_id("entry_id", "journal entry")
PATIENT_ONLY = ("patient",)
ENVELOPE = "The entry's fields at the top level and, identically, under entry."

PATHS = {
    "/api/v1/journal": {
        "get": operation(
            "list_journal",
            "The patient's own entries, newest first, with comments",
            tag="Journal",
            roles=PATIENT_ONLY,
            parameters=paging("entries"),
            responses={"200": answer("The entries.", ref("JournalEntries"))},
            statuses=(400,),
        ),
        "post": operation(
            "create_journal_entry",
            "Write an entry (exactly once per client_id)",
            tag="Journal",
            roles=PATIENT_ONLY,
            csrf=True,
            description=(
                f"{ENVELOPE} The same client_id again answers 200 with the stored entry "
                "(exactly-once sync); 409 if that entry was deleted since."
            ),
            body=request_object(
                {
                    "client_id": CLIENT_ID,
                    "body": BODY,
                    "mood": MOOD,
                    "shared": {"type": "boolean", "default": False},
                    "session_id": {
                        **NULLABLE_ID,
                        "description": "One of the patient's own sessions.",
                    },
                },
                required=("client_id", "body"),
            ),
            responses={
                "201": answer("Created.", ref("JournalEntryAnswer")),
                "200": answer("Already stored under this client_id.", ref("JournalEntryAnswer")),
            },
            statuses=(409,),
        ),
    },
    "/api/v1/journal/{entry_id}": {
        "patch": operation(
            "update_journal_entry",
            "Edit an entry: body, mood, sharing or session",
            tag="Journal",
            roles=PATIENT_ONLY,
            csrf=True,
            parameters=[ENTRY_ID],
            description=(
                f"{ENVELOPE} With a base_revision older than the stored one, this edit "
                "still wins and the replaced text is kept as a private copy."
            ),
            body=request_object(
                {
                    "body": BODY,
                    "mood": MOOD,
                    "shared": {"type": "boolean"},
                    "session_id": NULLABLE_ID,
                    "base_revision": {"type": "integer", "minimum": 1},
                }
            ),
            responses={"200": answer("The entry as stored.", ref("JournalEntryAnswer"))},
            statuses=(404,),
        ),
        "delete": operation(
            "delete_journal_entry",
            "Delete an entry and its comments",
            tag="Journal",
            roles=PATIENT_ONLY,
            csrf=True,
            parameters=[ENTRY_ID],
            responses={
                "200": answer(
                    "Deleted.", closed({"status": {"type": "string", "const": "deleted"}})
                )
            },
            statuses=(404,),
        ),
    },
    "/api/v1/journal/{entry_id}/comments": {
        "post": operation(
            "create_comment",
            "Comment on an entry",
            tag="Journal",
            roles=("patient", "therapist"),
            csrf=True,
            parameters=[ENTRY_ID],
            description=(
                "A care-team therapist on a shared entry; the patient on their own. The "
                "comment's fields at the top level and, identically, under comment."
            ),
            body=request_object(
                {
                    "body": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_COMMENT_LENGTH,
                        "pattern": NOT_BLANK,
                    }
                },
                required=("body",),
            ),
            responses={
                "201": answer(
                    "The comment (trimmed).",
                    closed({**COMMENT_PROPERTIES, "comment": ref("Comment")}),
                )
            },
            statuses=(404,),
        )
    },
    "/api/v1/patients/{patient_id}/journal": {
        "get": operation(
            "patient_journal",
            "A patient's shared entries, for their care-team therapist",
            tag="Journal",
            roles=("therapist",),
            parameters=[path_id("patient_id", "patient"), *paging("entries")],
            description="Shared entries only, newest first; private ones are never listed.",
            responses={"200": answer("The shared entries.", ref("JournalEntries"))},
            statuses=(400, 404),
        )
    },
}
