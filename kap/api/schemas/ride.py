"""The patient's answer to "who is driving you home?"."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kap.api.schemas.common import RequestModel, ResponseModel, ServiceChecked, Timestamp
from kap.services.board.discharge_rules import MAX_DRIVER_LENGTH


class Ride(RequestModel):
    """Who is driving the patient home (trimmed; 1 to 120 characters, one line)."""

    required_by_service = ("driver",)

    driver: ServiceChecked[Annotated[str, Field(min_length=1, max_length=MAX_DRIVER_LENGTH)]] = None


class RideAnswer(ResponseModel):
    """The answer as stored; staff still confirm the driver at discharge."""

    ride_home: str
    ride_home_at: Timestamp
