"""Discharge and reopening, for clinicians of the session's clinic."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictStr

from kap.api.schemas.common import Named, RequestModel, ResponseModel, Says, Timestamp
from kap.api.schemas.sessions import SessionSummary
from kap.services.board.discharge import MAX_DRIVER_LENGTH, MAX_REASON_LENGTH


def _text(name: str, max_length: int, min_length: int = 0) -> object:
    """Text when given (null counts as absent); its limits are the service's rule."""
    limits = {"maxLength": max_length} | ({"minLength": min_length} if min_length else {})
    return Annotated[
        StrictStr | None,
        Field(json_schema_extra=limits),
        Says(f"{name} must be text.", "Send text (a JSON string)."),
    ]


class Discharge(RequestModel):
    """Who drives the patient home, and why they may leave outside the limits."""

    driver: _text("driver", MAX_DRIVER_LENGTH) = None  # type: ignore[valid-type]
    override_reason: _text("override_reason", MAX_REASON_LENGTH) = None  # type: ignore[valid-type]


class Reopen(RequestModel):
    """Why a discharge is undone."""

    required_by_service = ("reason",)

    reason: _text("reason", MAX_REASON_LENGTH, 1) = None  # type: ignore[valid-type]


class DischargedSession(SessionSummary):
    """The session summary plus its current discharge (nulls when not discharged)."""

    discharged_at: Timestamp | None
    discharged_by: Named | None
    driver: str | None = Field(description="Who is driving the patient home.")
    override_reason: str | None = Field(
        description="Why the patient left with a final check outside the limits."
    )
    out_of_range: list[str] = Field(
        description="What was outside the limits, e.g. systolic_high, sedation_3."
    )


class DischargeAnswer(ResponseModel):
    """The session after the change."""

    session: DischargedSession
