"""What clinicians record at a session: administrations and monitoring checks."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StrictBool, StrictInt, StrictStr
from pydantic.json_schema import WithJsonSchema

from kap.api.schemas.common import (
    TIMESTAMP_SCHEMA,
    Id,
    Named,
    RequestModel,
    ResponseModel,
    Says,
    ServiceChecked,
    Timestamp,
)
from kap.services.board.administrations import (
    MAX_LOT,
    MAX_MEDICATION,
    MAX_NOTE,
    ROUTES,
    UNITS,
    dose_number,
)
from kap.services.board.clinical_scales import DISSOCIATION_LABELS, SEDATION_LABELS
from kap.services.board.observations import MAX_NOTE_LENGTH
from kap.services.board.vitals import KINDS, PLAUSIBLE

RouteName = Literal[tuple(ROUTES)]  # type: ignore[valid-type]
UnitName = Literal[UNITS]  # type: ignore[valid-type]
KindName = Literal[tuple(KINDS)]  # type: ignore[valid-type]
DissociationName = Literal[tuple(DISSOCIATION_LABELS)]  # type: ignore[valid-type]
Flag = Literal["high", "low", "attention"]
Attention = Literal["attention"]
SEDATION_DESCRIPTION = (
    "MOAA/S: " + "; ".join(f"{level} {text}" for level, text in SEDATION_LABELS.items()) + "."
)
DOSE_LIMITS = {"gt": 0, "lt": 100000}
DOSE_DESCRIPTION = "As the clinician typed it (at most 3 decimals); never proposed by the app."
PERSON_DESCRIPTION = "Who did it, as {id, name}; null once that account is gone."
#: A reading's values are checked together: every wrong one is named under this message.
VALUES_MESSAGE = "Some values need another look."


class Administration(ResponseModel):
    """What was given (the note is kept encrypted and not echoed)."""

    id: Id
    medication: str
    route: RouteName
    dose: Annotated[
        int | float,
        BeforeValidator(dose_number),
        Field(**DOSE_LIMITS, description="A JSON number."),
    ]
    unit: UnitName
    lot: str
    at: Timestamp = Field(
        validation_alias="given_at",
        description="When it was given (ISO 8601 UTC, ending in Z).",
    )
    given_by: Named | None = Field(description=PERSON_DESCRIPTION)


class AdministrationAnswer(ResponseModel):
    """The recorded administration."""

    administration: Administration


class NewAdministration(RequestModel):
    """What was given; the service checks every field (its messages are the API's)."""

    required_by_service = ("medication", "route", "dose", "unit")

    medication: ServiceChecked[Annotated[str, Field(min_length=1, max_length=MAX_MEDICATION)]] = (
        None
    )
    route: ServiceChecked[RouteName] = None
    dose: ServiceChecked[
        Annotated[float, Field(**DOSE_LIMITS, description=DOSE_DESCRIPTION)]
        | Annotated[str, Field(pattern=r"^\s*[0-9]+(\.[0-9]{1,3})?\s*$")]
    ] = None
    unit: ServiceChecked[UnitName] = None
    lot: ServiceChecked[Annotated[str, Field(max_length=MAX_LOT)]] = None
    at: ServiceChecked[
        Annotated[
            str | None,
            WithJsonSchema(
                {**TIMESTAMP_SCHEMA, "description": "ISO 8601 with a zone; default now."}
            ),
        ]
    ] = None
    note: ServiceChecked[Annotated[str, Field(max_length=MAX_NOTE)]] = None


def _vital(name: str) -> object:
    """A vital sign: a whole number here; its plausible range is the service's rule."""
    low, high = PLAUSIBLE[name]
    return Annotated[
        StrictInt | None,
        WithJsonSchema({"type": "integer", "minimum": low, "maximum": high}),
        Says(VALUES_MESSAGE, "A whole number."),
    ]


class NewCheck(RequestModel):
    """A monitoring reading. The types are checked here (every wrong one named at once);
    which values a kind needs, and their ranges, are the service's rules."""

    kind: Annotated[
        StrictStr,
        WithJsonSchema({"type": "string", "enum": list(KINDS)}),
        Says("kind is required.", "pre_dose, post_dose, check or final."),
    ]
    systolic: _vital("systolic") = None  # type: ignore[valid-type]
    diastolic: _vital("diastolic") = None  # type: ignore[valid-type]
    heart_rate: _vital("heart_rate") = None  # type: ignore[valid-type]
    spo2: _vital("spo2") = None  # type: ignore[valid-type]
    sedation: Annotated[
        StrictInt | None,
        WithJsonSchema(
            {"type": "integer", "minimum": 0, "maximum": 5, "description": SEDATION_DESCRIPTION}
        ),
        Says(VALUES_MESSAGE, "A whole number."),
    ] = None
    dissociation: Annotated[
        StrictStr | None,
        WithJsonSchema({"type": "string", "enum": list(DISSOCIATION_LABELS)}),
        Says(VALUES_MESSAGE, "One of none, mild, moderate, severe."),
    ] = None
    respiratory_concern: Annotated[
        StrictBool | None,
        WithJsonSchema({"type": "boolean"}),
        Says(VALUES_MESSAGE, "true or false."),
    ] = None
    note: Annotated[
        StrictStr | None,
        WithJsonSchema({"type": "string", "maxLength": MAX_NOTE_LENGTH}),
        Says(VALUES_MESSAGE, "Text, please."),
    ] = None


class CheckFlags(ResponseModel):
    """Only what needs a look, by field: a vital outside the clinic's limits is "high" or
    "low"; sedation below 5, moderate or severe dissociation and a respiratory concern are
    "attention". E.g. {"systolic": "high", "sedation": "attention"}; {} when nothing."""

    systolic: Flag = None  # type: ignore[assignment]
    diastolic: Flag = None  # type: ignore[assignment]
    heart_rate: Flag = None  # type: ignore[assignment]
    spo2: Flag = None  # type: ignore[assignment]
    sedation: Attention = None  # type: ignore[assignment]
    dissociation: Attention = None  # type: ignore[assignment]
    respiratory_concern: Attention = None  # type: ignore[assignment]


def _nullable_vital(name: str) -> object:
    low, high = PLAUSIBLE[name]
    return Annotated[int | None, Field(ge=low, le=high)]


class MonitoringCheck(ResponseModel):
    """A reading with its flags."""

    id: Id
    kind: KindName
    recorded_at: Timestamp
    recorded_by: Named | None = Field(description=PERSON_DESCRIPTION)
    systolic: _nullable_vital("systolic")  # type: ignore[valid-type]
    diastolic: _nullable_vital("diastolic")  # type: ignore[valid-type]
    heart_rate: _nullable_vital("heart_rate")  # type: ignore[valid-type]
    spo2: _nullable_vital("spo2")  # type: ignore[valid-type]
    sedation: Annotated[int | None, Field(ge=0, le=5, description=SEDATION_DESCRIPTION)]
    dissociation: DissociationName | None
    respiratory_concern: bool | None
    note: str
    flags: CheckFlags


class CheckAnswer(ResponseModel):
    """The recorded reading."""

    check: MonitoringCheck
