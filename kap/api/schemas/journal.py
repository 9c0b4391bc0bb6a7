"""The journal: a patient's entries, exactly-once creation, sharing and comments."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt
from pydantic.json_schema import WithJsonSchema

from kap.api.schemas.common import (
    NOT_BLANK,
    ClientId,
    Id,
    NextOffset,
    RequestModel,
    ResponseModel,
    Says,
    ServiceChecked,
    Timestamp,
    status_model,
)
from kap.models import MAX_COMMENT_LENGTH, MAX_ENTRY_LENGTH

Mood = Annotated[int | None, Field(ge=0, le=10)]
EntryText = Annotated[str, Field(min_length=1, max_length=MAX_ENTRY_LENGTH, pattern=NOT_BLANK)]


class CommentAuthor(ResponseModel):
    """Who wrote a comment (null once their account is removed)."""

    id: Id
    name: str
    role: Literal["patient", "therapist"]


class Comment(ResponseModel):
    """A comment on an entry."""

    id: Id
    body: str
    created_at: Timestamp
    author: CommentAuthor | None


class JournalEntry(ResponseModel):
    """An entry as the API lists it, with its revision, edit time and comments."""

    id: Id
    client_id: str = Field(max_length=64)
    body: str
    mood: Mood
    shared: bool
    session_id: Id | None
    created_at: Timestamp
    updated_at: Timestamp
    revision: int = Field(ge=1)
    comments: list[Comment]


class JournalEntryAnswer(JournalEntry):
    """The entry's fields at the top level and, identically, under entry."""

    entry: JournalEntry


class JournalEntries(ResponseModel):
    """A page of entries, newest first."""

    entries: list[JournalEntry]
    next_offset: NextOffset


class CommentAnswer(Comment):
    """The comment's fields at the top level and, identically, under comment."""

    comment: Comment


class NewEntry(RequestModel):
    """A new entry; the service checks every field (its messages are the API's)."""

    required_by_service = ("client_id", "body")

    client_id: ServiceChecked[ClientId] = None
    body: ServiceChecked[EntryText] = None
    mood: ServiceChecked[Mood] = None
    shared: ServiceChecked[bool] = False
    session_id: ServiceChecked[Id | None] = Field(
        default=None, description="One of the patient's own sessions."
    )


class EntryEdit(RequestModel):
    """What may change on an entry; ``base_revision`` detects edits from elsewhere."""

    body: ServiceChecked[EntryText] = None
    mood: ServiceChecked[Mood] = None
    shared: ServiceChecked[bool] = None
    session_id: ServiceChecked[Id | None] = None
    base_revision: Annotated[
        StrictInt | None,
        WithJsonSchema({"type": "integer", "minimum": 1}),  # older revisions: the service
        Says("base_revision is a number.", "A whole number."),
    ] = None


class NewComment(RequestModel):
    """A comment's text."""

    required_by_service = ("body",)

    body: ServiceChecked[
        Annotated[str, Field(min_length=1, max_length=MAX_COMMENT_LENGTH, pattern=NOT_BLANK)]
    ] = None


Deleted = status_model("Deleted", "deleted")
