"""Reading JSON bodies into request models, and query parameters, for the API."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from kap.api.schemas.common import Says
from kap.models.base import MAX_ID
from kap.services.errors import Invalid
from kap.services.queries import rows_and_more
from kap.web.pagination import Fetch, Query

#: Lists that grow are paged: `limit` (default 100, at most 500) and `offset`.
DEFAULT_PAGE = 100
MAX_PAGE = 500


Body = TypeVar("Body", bound=BaseModel)


def read_body(model: type[Body]) -> Body:
    """The request's JSON object as ``model``, or Invalid in the API's error format.

    The first field that fails (in the model's order) gives the message; every failing
    field with that same message is listed in ``fields``, each with its hint (``Says``).
    """
    try:
        return model.model_validate(_json_object())
    except ValidationError as error:
        raise invalid_from(model, error) from None


def invalid_from(model: type[BaseModel], error: ValidationError) -> Invalid:
    """The API's Invalid for ``model``'s validation ``error`` (messages from ``Says``)."""
    message = None
    fields: dict[str, list[str]] = {}
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else ""
        says = _says(model, name)
        field_message, hint = says.for_error(problem["type"])
        if message is None:
            message = field_message
        if field_message == message and name not in fields:
            fields[name] = [hint]
    return Invalid(message or "The body is not valid.", fields)


def _says(model: type[BaseModel], name: str) -> Says:
    """What ``model`` answers when its field ``name`` is not valid."""
    info = model.model_fields.get(name)
    for item in info.metadata if info else ():
        if isinstance(item, Says):
            return item
    return Says(f"{name} is not valid.", "Not valid.")


def _json_object() -> dict[str, Any]:
    """The request's JSON object, or Invalid with a clear message."""
    if not request.is_json:
        raise Invalid("Send a JSON object with Content-Type: application/json.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # absurdly deep nesting is bad input, not a server error
        raise Invalid("The body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise Invalid("The body is not a valid JSON object.")
    _check_text(body)
    return body


def _check_text(value: Any) -> None:
    """Refuse strings that are not valid Unicode text (JSON allows lone surrogates like
    "\ud800"; they cannot be stored or sent back, so they are a 400, not a 500)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("The body contains text that is not valid Unicode.") from None
        if "\x00" in value:  # PostgreSQL text cannot hold NUL
            raise Invalid("The body contains a NUL character.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


_DIGITS = re.compile(r"[0-9]{1,12}")


def query_int(name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high] (ASCII digits only), or Invalid."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise Invalid(
            f"{name} must be a whole number from {low} to {high}.",
            {name: [f"From {low} to {high}."]},
        )
    return int(raw)


def paged(query: Query) -> tuple[list[Any], int | None]:
    """The rows of ``query`` (ordered by the caller) that `limit` and `offset` ask for, and
    the offset of the next page (None on the last one; one row past the page tells)."""
    return paged_from(lambda limit, offset: rows_and_more(query, limit, offset))


def paged_from(fetch: Fetch) -> tuple[list[Any], int | None]:
    """As ``paged``, for a service's read that takes ``limit`` and ``offset`` and returns the
    rows and whether more follow (an audited read returns rows, never a query)."""
    limit = query_int("limit", DEFAULT_PAGE, 1, MAX_PAGE)
    offset = query_int("offset", 0, 0, MAX_ID)
    rows, more = fetch(limit=limit, offset=offset)
    return rows, (offset + limit if more else None)


def query_text(name: str, max_length: int = 100) -> str | None:
    """A short text query parameter (no NUL), or None when absent."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > max_length or "\x00" in raw:
        raise Invalid(f"{name} is not valid.", {name: [f"Up to {max_length} characters."]})
    return raw
