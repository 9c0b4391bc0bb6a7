"""``operation(...)``: an API route and its description, declared once.

It replaces ``bp.route`` for the JSON API: it registers the view (behind ``api_roles``
unless the operation is public) and records what ``kap.api.openapi.build_spec`` needs —
the path and method, the request and response models, the roles (``x-kap-roles``), the
summary and the error statuses. tests/integration/test_openapi.py holds the records to
``app.url_map`` and to real answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from kap.api import bp
from kap.models import Role
from kap.models.base import MAX_ID
from kap.web.roles import api_roles

Schema = dict[str, Any]
#: A response: its description and a model (or, rarely, a schema written out); None for an
#: answer without a body (204).
Answer = tuple[str, type[BaseModel] | Schema | None]

#: Error answers by status: what each means, and its name in components/responses.
ERROR_MEANINGS = {
    400: ("The input is not valid (see error.fields), or the CSRF token is missing.", "BadRequest"),
    401: ("Not signed in, or the session ended.", "Unauthenticated"),
    403: ("Signed in with a role that cannot do this.", "Forbidden"),
    404: ("Absent, or not the caller's to see.", "NotFound"),
    409: ("Conflicts with the current state (e.g. an out-of-order phase).", "Conflict"),
    413: ("The body is larger than 256 KB.", "TooLarge"),
    429: ("Too many attempts; wait for Retry-After seconds.", "RateLimited"),
}

#: What each path id names, for its description ("The session's id.").
PATH_IDS = {
    "session_id": "session",
    "item_id": "checklist item",
    "entry_id": "journal entry",
    "patient_id": "patient",
    "subscription_id": "push subscription",
}
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True)
class Operation:
    """One described route (see ``operation``)."""

    path: str
    method: str
    operation_id: str
    summary: str
    tag: str
    roles: tuple[str, ...] | None
    responses: dict[int, Answer]
    errors: tuple[int, ...] = ()
    body: type[BaseModel] | None = None
    parameters: tuple[Schema, ...] = ()
    description: str | None = None
    path_parameters: tuple[str, ...] = field(default=())
    #: The media type of the success answers (errors are always application/json).
    media_type: str = "application/json"

    @property
    def csrf(self) -> bool:
        """Signed-in writes send X-CSRFToken."""
        return self.method != "get" and self.roles is not None


#: Every operation, in the order the views declare them.
OPERATIONS: list[Operation] = []


def operation(
    rule: str,
    method: str = "GET",
    *,
    summary: str,
    tag: str,
    roles: tuple[Role, ...] | None,
    responses: dict[int, Answer],
    errors: tuple[int, ...] = (),
    body: type[BaseModel] | None = None,
    parameters: tuple[Schema, ...] | list[Schema] = (),
    description: str | None = None,
    media_type: str = "application/json",
) -> Callable:
    """Register an API view at ``rule`` (under /api/v1) and describe it.

    ``roles`` None: anyone, no sign-in; ``()``: any signed-in role (401 otherwise); named
    roles also answer 403. Signed-in writes take X-CSRFToken and answer 400 without it; a
    ``body`` (read with ``kap.api.io.read_body``) answers 400 when invalid and 413 when too
    large. ``errors`` are the other statuses the view may answer. ``media_type``: the success
    answers' type when not JSON's own (a FHIR export is ``application/fhir+json``).
    """

    def decorator(view: Callable) -> Callable:
        guarded = view if roles is None else api_roles(*roles)(view)
        bp.route(rule, methods=[method])(guarded)
        OPERATIONS.append(
            Operation(
                path=bp.url_prefix + _CONVERTER.sub(r"{\1}", rule),
                method=method.lower(),
                operation_id=view.__name__,
                summary=summary,
                tag=tag,
                roles=None if roles is None else tuple(str(role) for role in roles),
                responses=responses,
                errors=errors,
                body=body,
                parameters=tuple(parameters),
                description=description,
                path_parameters=tuple(_CONVERTER.findall(rule)),
                media_type=media_type,
            )
        )
        return guarded

    return decorator


def query_parameter(name: str, schema: Schema, description: str | None = None) -> Schema:
    """An optional query parameter."""
    parameter: Schema = {"name": name, "in": "query", "required": False}
    if description:
        parameter["description"] = description
    parameter["schema"] = schema
    return parameter


def paging(what: str) -> list[Schema]:
    """The `limit` and `offset` query parameters of a paged list of ``what``."""
    from kap.api.io import DEFAULT_PAGE, MAX_PAGE

    return [
        query_parameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            f"Page size (default {DEFAULT_PAGE}).",
        ),
        query_parameter(
            "offset",
            {"type": "integer", "minimum": 0, "maximum": MAX_ID},
            f"{what.capitalize()} to skip (default 0).",
        ),
    ]


def conflict(codes: list[str]) -> Schema:
    """A 409 answer's schema: the error format whose error.code is one of ``codes``."""
    return {
        "allOf": [
            {"$ref": "#/components/schemas/Error"},
            {"properties": {"error": {"properties": {"code": {"enum": codes}}}}},
        ]
    }
