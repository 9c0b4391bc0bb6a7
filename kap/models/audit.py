"""The audit log: append-only, each row chained to the one before by an HMAC."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kap.models.base import Model, UTCDateTime, utcnow


class AuditEvent(Model):
    """Who did what to which record, when, from where. Rows are only ever inserted.

    ``mac`` is an HMAC (keyed outside the database) over this row's content and the previous
    row's ``mac``, so changing or removing a row breaks the chain (``flask audit-verify``).
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_clinic_at", "clinic_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    clinic_id: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40), default="")
    subject_id: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(String(300), default="")
    mac: Mapped[str] = mapped_column(String(64))
