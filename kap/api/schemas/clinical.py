"""Patients, safety alerts, instruments and check-ins (any instrument a clinic offers)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

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
from kap.services.measures.scoring import BUILT_IN, ITEM_KINDS

#: The shipped instruments' codes (a clinic may offer its own besides).
INSTRUMENT_KEYS = [code for code, spec in BUILT_IN.items() if spec.kind == "measure"]
InstrumentCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_]+$",
        description="A code from GET /api/v1/instruments: " + ", ".join(INSTRUMENT_KEYS) + ", …",
    ),
]


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
    """A completed questionnaire with its answers and, when it is scored, its total."""

    id: Id
    instrument: InstrumentCode
    instrument_version: int = Field(ge=1)
    name: str = Field(description="The questionnaire's short name, e.g. PHQ-9.")
    score: int | None = Field(ge=0, description="None when the questionnaire is not scored.")
    max_score: int | None = Field(ge=0)
    severity: str | None
    severity_label: str | None = Field(description="The severity band's words, as published.")
    answers: list[int | None] = Field(
        description="Per item in order: the option's value or the number; null for text."
    )
    texts: dict[str, str] = Field(description="Text answers by item id.")
    client_id: str | None = Field(max_length=64)
    session_id: Id | None
    created_at: Timestamp


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


Answer = Annotated[
    int | str | None,
    Field(description="A choice's value or a whole number; text for a text item; null to skip."),
]


class NewCheckin(RequestModel):
    """A completed questionnaire; the service checks and scores it (its messages are the API's)."""

    required_by_service = ("instrument", "answers")

    instrument: ServiceChecked[InstrumentCode] = None
    answers: ServiceChecked[
        Annotated[
            list[Answer] | dict[str, Answer],
            Field(
                description="In item order (trailing optional ones may be left off), or by item id."
            ),
        ]
    ] = None
    client_id: ServiceChecked[ClientId | None] = None
    session_id: ServiceChecked[Id | None] = Field(None, description="One of the patient's own.")


class Option(ResponseModel):
    """One answer choice: its value (the points it scores) and its words."""

    value: int
    label: str


class InstrumentItem(ResponseModel):
    """One question."""

    id: str
    text: str
    kind: Literal[ITEM_KINDS]  # type: ignore[valid-type]
    required: bool
    scored: bool
    options: list[Option]
    minimum: int | None
    maximum: int | None
    section: str


class InstrumentAnswer(ResponseModel):
    """A questionnaire as the clinic offers it (its newest version)."""

    code: InstrumentCode
    name: str
    title: str
    version: int = Field(ge=1)
    question: str
    scored: bool
    max_score: int | None
    built_in: bool = Field(description="Shipped with the app (false: the clinic's own).")
    source: str
    items: list[InstrumentItem]


class Instruments(ResponseModel):
    """The questionnaires a patient of the caller's clinic may answer."""

    instruments: list[InstrumentAnswer]
