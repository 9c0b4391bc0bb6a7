"""Patients, safety alerts and check-ins (PHQ-9, GAD-7)."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, RootModel, computed_field, create_model

from kap.api.schemas.common import (
    ClientId,
    Id,
    NextOffset,
    RequestModel,
    ResponseModel,
    ServiceChecked,
    Timestamp,
)
from kap.models import AlertKind
from kap.services.measures.scoring import INSTRUMENTS, MAX_ANSWER, severity_for

INSTRUMENT_KEYS = list(INSTRUMENTS)
InstrumentName = Literal[tuple(INSTRUMENTS)]  # type: ignore[valid-type]
SeverityName = Literal[  # type: ignore[valid-type]
    tuple(sorted({band.severity for spec in INSTRUMENTS.values() for band in spec.bands}))
]
Answer = Annotated[int, Field(ge=0, le=MAX_ANSWER)]
MAX_SCORE = max(spec.max_score for spec in INSTRUMENTS.values())


class Patient(ResponseModel):
    """A patient as clinicians see them in lists."""

    id: Id
    name: str
    email: str
    active: bool


class Patients(ResponseModel):
    """A page of patients, by name."""

    patients: list[Patient]
    next_offset: NextOffset


class PatientAnswer(ResponseModel):
    """One patient."""

    patient: Patient


class Alert(ResponseModel):
    """An open safety alert."""

    id: Id
    kind: Literal[tuple(kind.value for kind in AlertKind)]  # type: ignore[valid-type]
    patient_id: Id
    session_id: Id | None
    created_at: Timestamp
    acknowledged_at: Timestamp | None


class Alerts(ResponseModel):
    """Open alerts, newest first."""

    alerts: list[Alert]


class Measure(ResponseModel):
    """A scored check-in with its answers."""

    id: Id
    instrument: InstrumentName
    score: int = Field(ge=0, le=MAX_SCORE)
    severity: SeverityName
    answers: list[Answer]
    client_id: str | None = Field(max_length=64)
    session_id: Id | None
    created_at: Timestamp

    @computed_field  # type: ignore[prop-decorator]
    @property
    def severity_label(self) -> str:
        """The severity band's words, as the scale defines them."""
        return severity_for(self.instrument, self.score).label


class CrisisContact(ResponseModel):
    """Someone to call when it is urgent."""

    name: str
    phone: str = None  # type: ignore[assignment]
    sms: str = None  # type: ignore[assignment]
    url: str = None  # type: ignore[assignment]
    description: str = None  # type: ignore[assignment]


class RecordedMeasure(Measure):
    """The recorded check-in; with item 9 above 0, the clinic's crisis contacts too."""

    item9_positive: bool = Field(description="PHQ-9 item 9 above 0: show crisis support first.")
    crisis_support_url: str = None  # type: ignore[assignment]
    crisis_contacts: list[CrisisContact] = None  # type: ignore[assignment]


class Measures(ResponseModel):
    """The patient's own check-ins, oldest first."""

    measures: list[Measure]


class PatientMeasures(Measures):
    """A patient's check-ins, for their care team or clinic admin."""

    patient_id: Id


def _checkin_for(key: str, items: int) -> type[RequestModel]:
    """One body shape per instrument, so the number of answers is part of the contract."""
    return create_model(
        f"Checkin_{key}",
        __base__=RequestModel,
        instrument=(Literal[key], ...),  # type: ignore[valid-type]
        answers=(Annotated[list[Answer], Field(min_length=items, max_length=items)], ...),
        client_id=(ClientId | None, None),
        session_id=(Id | None, Field(None, description="One of the patient's own.")),
    )


_CHECKINS = tuple(_checkin_for(key, len(spec.items)) for key, spec in INSTRUMENTS.items())


class NewCheckin(RootModel):
    """A check-in; the service checks and scores it (its messages are the API's)."""

    root: ServiceChecked[Annotated[Union[_CHECKINS], Field(discriminator="instrument")]]  # noqa: UP007
