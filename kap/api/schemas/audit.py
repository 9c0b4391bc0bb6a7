"""The clinic's audit log, for its clinic admins."""

from __future__ import annotations

from pydantic import Field

from kap.api.schemas.common import Id, NextOffset, ResponseModel, Timestamp


class AuditEvent(ResponseModel):
    """Ids, actions and the actor's name: no journal text, password or token."""

    id: Id
    actor_id: Id | None = Field(description="Null for failed sign-ins of no account.")
    actor_name: str | None = Field(
        description="The actor's name (a deleted patient's pseudonym); null with no actor."
    )
    action: str = Field(max_length=60, examples=["signin.success"])
    subject_type: str = Field(max_length=40)
    subject_id: Id | None
    patient_id: Id | None
    at: Timestamp


class AuditEvents(ResponseModel):
    """A page of events, newest first."""

    events: list[AuditEvent]
    next_offset: NextOffset
