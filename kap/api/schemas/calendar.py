"""The patient's private calendar link."""

from __future__ import annotations

from pydantic import Field

from kap.api.schemas.common import ResponseModel


class CalendarLink(ResponseModel):
    """The private .ics subscription URL (made on first request)."""

    url: str = Field(
        description=(
            "Absolute URL of the .ics feed; a calendar app fetches it without a cookie. "
            "Anyone holding it sees the appointment times, so DELETE revokes it."
        )
    )
