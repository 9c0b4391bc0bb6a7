"""Integration journal entries (private unless shared) and the comments under them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    ColumnElement,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kap.crypto import EncryptedText, encrypt_pending_after_insert
from kap.models.base import Model, UTCDateTime, utcnow

if TYPE_CHECKING:
    from kap.models.people import User
    from kap.models.sessions import TreatmentSession


#: Longest entry a patient may write (characters).
MAX_ENTRY_LENGTH = 20_000
MAX_COMMENT_LENGTH = 5_000


class JournalEntry(Model):
    """What a patient wrote. Only they see it unless ``shared`` is on.

    ``client_id`` (chosen by the device) makes creation exactly-once; a deleted entry keeps
    its row without any text, so a late replay of its creation cannot bring it back.
    """

    __tablename__ = "journal_entries"
    __table_args__ = (
        UniqueConstraint("patient_id", "client_id"),
        ForeignKeyConstraint(
            ["patient_id", "clinic_id"],
            ["users.id", "users.clinic_id"],
            name="fk_journal_entries_patient_same_clinic",
        ),
        Index("ix_journal_entries_patient_created", "patient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_sessions.id"), index=True)
    body_ciphertext: Mapped[str] = mapped_column("body", Text, default="")
    body = EncryptedText("body_ciphertext", "body", lambda entry: entry.clinic_id)
    mood: Mapped[int | None] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Bumped on every edit so two devices' edits can be told apart.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[TreatmentSession | None] = relationship("TreatmentSession")
    comments: Mapped[list[JournalComment]] = relationship(
        back_populates="entry",
        order_by="JournalComment.created_at",
        cascade="all, delete-orphan",
    )


def shared_and_kept() -> ColumnElement[bool]:
    """The entries a care team may read of their patients: shared and not deleted (the rule
    is services/journal/entries.py ``care_team_entry_filter``). It states the condition of
    the index below as PostgreSQL reads it, ``shared`` and not ``shared IS true``: PostgreSQL
    uses a partial index only for a query whose condition implies the index's, and it does
    not take ``IS true`` to imply ``shared`` (the unread counts took 4.2 instead of 0.7 ms)."""
    return and_(JournalEntry.shared, JournalEntry.deleted_at.is_(None))


#: A care team's reads (the unread counts, a patient's shared entries by time) find their
#: entries here without reading the private ones, and count them from the index alone. On
#: PostgreSQL only: SQLite's planner did not pick it over ix_journal_entries_patient_created.
#: Its condition is written out, as the migration writes it (0013), so that a query whose
#: condition no longer states it is found out by tests/integration/test_query_plans.py.
Index(
    "ix_journal_entries_care_team_reads",
    JournalEntry.patient_id,
    JournalEntry.created_at,
    JournalEntry.id,
    postgresql_where=text("shared AND deleted_at IS NULL"),
).ddl_if(dialect="postgresql")


class JournalComment(Model):
    """A care-team therapist's comment on a shared entry, or the patient's reply."""

    __tablename__ = "journal_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("journal_entries.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body_ciphertext: Mapped[str] = mapped_column("body", Text)
    body = EncryptedText("body_ciphertext", "body", lambda comment: comment.entry.clinic_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped[JournalEntry] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship("User", lazy="joined")


encrypt_pending_after_insert(JournalEntry)
encrypt_pending_after_insert(JournalComment)
