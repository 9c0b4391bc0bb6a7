"""Shared pieces of the API models: base classes, ids, timestamps, field messages.

Response models are closed (``additionalProperties: false``): a field the API starts to
return without describing it fails the schema tests, so the description stays exact.
Request models stay open, because the API ignores fields it does not know.

Where a service holds the rule for a field (a journal entry's body, a dose, a phase), the
request model documents the field with ``ServiceChecked``: the type and limits reach the
OpenAPI document, but the value goes to the service as sent, so the service's error
messages stay the API's (docs/architecture.md, "Where does this rule live?").
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, create_model
from pydantic.json_schema import WithJsonSchema

from kap.models import Role, SessionStatus
from kap.models.base import MAX_ID


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Says:
    """What the API answers when a request field is not valid: the error's ``message`` and
    the hint listed under the field in ``error.fields``; ``too_long`` overrides both when
    only the length is wrong. Attached to a field as ``Annotated`` metadata."""

    message: str
    hint: str
    too_long: tuple[str, str] | None = None

    def for_error(self, kind: str) -> tuple[str, str]:
        """The (message, hint) for a pydantic error of type ``kind``."""
        if kind == "string_too_long" and self.too_long:
            return self.too_long
        return self.message, self.hint


def _document_required(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """List ``required_by_service`` fields as required (their defaults only let the body
    reach the service, whose message the API answers)."""
    names = getattr(model, "required_by_service", ())
    if not names:
        return
    for name in names:
        schema["properties"][name].pop("default", None)
    schema["required"] = [*schema.get("required", []), *names]


class RequestModel(BaseModel):
    """A JSON request body: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_document_required)

    #: Fields the service requires (and answers for when absent); documented as required.
    required_by_service: ClassVar[tuple[str, ...]] = ()

    def values(self, names: Iterable[str] | None = None, *, sent_only: bool = False) -> dict:
        """The fields ``names`` (default: all) as the service takes them, by name; with
        ``sent_only``, only those the client sent. Read as attributes, not serialised:
        ``ServiceChecked`` values are as sent, of any JSON type."""
        chosen = self.model_fields_set if sent_only else type(self).model_fields
        wanted = chosen if names is None else [name for name in names if name in chosen]
        return {name: getattr(self, name) for name in wanted}


class ResponseModel(BaseModel):
    """A JSON answer: exactly these fields (``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    @classmethod
    def answer(cls, obj: Any) -> dict[str, Any]:
        """``obj`` (a model row, or a dict) shaped as this answer, ready for JSON.

        The attributes are read here, not by pydantic: pydantic turns any error raised while
        reading one into a validation error, and reading an expired row may hit a database
        that just dropped its connection — which must stay an OperationalError (answered 503:
        the write may be stored, try again), not become a 500."""
        return cls.model_validate(_attributes_of(obj, cls)).model_dump(mode="json")


def _attributes_of(obj: Any, model: type[BaseModel]) -> Any:
    """The fields of ``model`` read from ``obj`` into a dict, nested answers included."""
    if isinstance(obj, dict) or obj is None:
        return obj
    values = {}
    for source, nested in _reading_plan(model):
        value = getattr(obj, source)
        if nested is not None:
            if isinstance(value, list | tuple):
                value = [_attributes_of(item, nested) for item in value]
            else:
                value = _attributes_of(value, nested)
        values[source] = value
    return values


@functools.cache
def _reading_plan(model: type[BaseModel]) -> tuple[tuple[str, type[BaseModel] | None], ...]:
    """Per field of ``model``: the attribute to read and the answer model nested in it (worked
    out once per model: lists of entries are on hot paths)."""
    return tuple(
        (
            field.validation_alias if isinstance(field.validation_alias, str) else name,
            _nested_model(field.annotation),
        )
        for name, field in model.model_fields.items()
    )


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The answer model inside ``annotation`` (``Model``, ``list[Model]``, ``Model | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _nested_model(argument)
        if found is not None:
            return found
    return None


#: Documented as the type given, passed to the service unchecked (it holds the rule).
ServiceChecked = SkipValidation

#: Ids are 32-bit (PostgreSQL INTEGER columns).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
TIMESTAMP_SCHEMA = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 in UTC, ending in Z.",
}
#: A moment, answered as ISO 8601 in UTC ending in Z: pydantic's own JSON form of a
#: datetime is exactly ``iso`` (tests/unit/test_api_schemas.py holds them together), and
#: serialising it natively keeps lists of entries cheap (docs/architecture.md, performance).
Timestamp = Annotated[datetime | str, WithJsonSchema(TIMESTAMP_SCHEMA)]
#: A moment as a device sends it (ISO 8601 with a zone); the service parses it.
DEVICE_TIME_SCHEMA = {
    **TIMESTAMP_SCHEMA,
    "description": "When it happened on the device (ISO 8601 with a zone); default now.",
}
#: Text that must hold more than white space.
NOT_BLANK = r"\S"
#: A device-chosen id that makes a write exactly-once (a UUID fits).
ClientId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
#: Paged lists answer `next_offset`: where the next page starts, null on the last page.
NextOffset = Annotated[int | None, Field(ge=1)]

RoleName = Literal[tuple(role.value for role in Role)]  # type: ignore[valid-type]
SessionStatusName = Literal[tuple(status.value for status in SessionStatus)]  # type: ignore[valid-type]


class Named(ResponseModel):
    """Someone (or something) by id and name."""

    id: Id
    name: str


class User(ResponseModel):
    """The user shape of the published API."""

    id: Id
    email: str
    name: str
    role: RoleName
    clinic: Named


class ErrorDetail(ResponseModel):
    """What went wrong, for machines (code) and people (message)."""

    code: str = Field(
        pattern="^[a-z][a-z0-9_]*$",
        description=(
            "Machine-readable: invalid, csrf_failed, unauthenticated, invalid_credentials, "
            "forbidden, not_found, conflict, too_large, rate_limited, …"
        ),
    )
    message: str = Field(min_length=1, description="For people.")
    fields: dict[str, list[str]] = Field(
        default=None,  # type: ignore[assignment]
        description="What is wrong with each named input field.",
    )


class Error(ResponseModel):
    """Every error answer: {"error": {"code", "message", "fields"?}}."""

    error: ErrorDetail


def status_model(name: str, value: str) -> type[ResponseModel]:
    """A {"status": value} answer model called ``name``."""
    return create_model(name, __base__=ResponseModel, status=(Literal[value], ...))  # type: ignore[valid-type]
