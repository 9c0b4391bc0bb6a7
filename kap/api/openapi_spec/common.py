"""Building blocks of the OpenAPI description: shared schemas, parameters and error answers.

Response objects are closed (``additionalProperties: false``): a field the API starts to
return without describing it here fails the schema tests, so the description stays exact.
Request objects stay open, because the API ignores fields it does not know.
"""

from __future__ import annotations

from typing import Any

from kap.models import Role, SessionStatus

Schema = dict[str, Any]

#: Ids are 32-bit (PostgreSQL INTEGER columns).
MAX_ID = 2**31 - 1
ID: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
NULLABLE_ID: Schema = {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID}
TIMESTAMP: Schema = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 in UTC, ending in Z.",
}
NULLABLE_TIMESTAMP: Schema = {**TIMESTAMP, "type": ["string", "null"]}
#: Text that must hold more than white space.
NOT_BLANK = r"\S"
#: A device-chosen id that makes a write exactly-once (a UUID fits).
CLIENT_ID: Schema = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9_.:-]{1,64}$",
    "minLength": 1,
    "maxLength": 64,
}

ROLES = [role.value for role in Role]
SESSION_STATUSES = [status.value for status in SessionStatus]


#: Paged lists take `limit` and `offset` and answer `next_offset` (null on the last page).
NEXT_OFFSET: Schema = {"type": ["integer", "null"], "minimum": 1}


def paging(what: str) -> list[Schema]:
    """The `limit` and `offset` query parameters of a paged list of ``what``."""
    from kap.api.io import DEFAULT_PAGE, MAX_PAGE

    return [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": f"Page size (default {DEFAULT_PAGE}).",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
        },
        {
            "name": "offset",
            "in": "query",
            "required": False,
            "description": f"{what.capitalize()} to skip (default 0).",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
        },
    ]


def ref(name: str) -> Schema:
    """A reference to ``components/schemas/<name>``."""
    return {"$ref": f"#/components/schemas/{name}"}


def closed(properties: dict[str, Schema], optional: tuple[str, ...] = ()) -> Schema:
    """A response object with exactly these properties, all present but ``optional``."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def request_object(properties: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    """A request body object; unknown fields are ignored by the API."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def array(items: Schema, **constraints: Any) -> Schema:
    """A JSON array of ``items``."""
    return {"type": "array", "items": items, **constraints}


def path_id(name: str, what: str) -> Schema:
    """A numeric id in the path."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": ID,
    }


def json_content(schema: Schema) -> dict[str, Schema]:
    """The ``content`` of a JSON request or response."""
    return {"application/json": {"schema": schema}}


def answer(description: str, schema: Schema) -> Schema:
    """A JSON response."""
    return {"description": description, "content": json_content(schema)}


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


def error_responses(*statuses: int) -> dict[str, Schema]:
    """References to the shared error answers for ``statuses``."""
    return {
        str(status): {"$ref": f"#/components/responses/{ERROR_MEANINGS[status][1]}"}
        for status in statuses
    }


def components_responses() -> dict[str, Schema]:
    """One shared answer per error status, all in the error format."""
    responses = {name: answer(meaning, ref("Error")) for meaning, name in ERROR_MEANINGS.values()}
    responses["RateLimited"]["headers"] = {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    }
    return responses


ERROR: Schema = closed(
    {
        "error": closed(
            {
                "code": {
                    "type": "string",
                    "pattern": "^[a-z][a-z0-9_]*$",
                    "description": (
                        "Machine-readable: invalid, csrf_failed, unauthenticated, "
                        "invalid_credentials, forbidden, not_found, conflict, too_large, "
                        "rate_limited, …"
                    ),
                },
                "message": {"type": "string", "minLength": 1, "description": "For people."},
                "fields": {
                    "type": "object",
                    "description": "What is wrong with each named input field.",
                    "additionalProperties": array({"type": "string"}),
                },
            },
            optional=("fields",),
        )
    }
)

USER: Schema = closed(
    {
        "id": ID,
        "email": {"type": "string"},
        "name": {"type": "string"},
        "role": {"type": "string", "enum": ROLES},
        "clinic": closed({"id": ID, "name": {"type": "string"}}),
    }
)

CSRF_HEADER: Schema = {
    "name": "X-CSRFToken",
    "in": "header",
    "required": True,
    "description": "The csrf_token from POST /api/v1/session or GET /api/v1/me.",
    "schema": {"type": "string", "minLength": 1},
}


def operation(
    operation_id: str,
    summary: str,
    *,
    tag: str,
    roles: tuple[str, ...] | None,
    responses: dict[str, Schema],
    statuses: tuple[int, ...] = (),
    body: Schema | None = None,
    parameters: list[Schema] | None = None,
    csrf: bool = False,
    description: str | None = None,
) -> Schema:
    """One operation, with the error answers its kind implies.

    ``roles`` None: anyone, no sign-in; ``()``: any signed-in role (401 otherwise); named
    roles also answer 403. ``csrf`` writes take X-CSRFToken and answer 400 without it; a
    ``body`` is JSON, answering 400 when invalid and 413 when too large. ``x-kap-roles``
    is checked against the view's ``allowed_roles`` by tests/integration/test_openapi.py.
    """
    result: Schema = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        result["description"] = description
    errors = set(statuses)
    params = list(parameters or [])
    if roles is None:
        result["security"] = []
    else:
        result["x-kap-roles"] = list(roles)
        errors.add(401)
        if roles:
            errors.add(403)
    if csrf:
        params.insert(0, {"$ref": "#/components/parameters/CSRFToken"})
        errors.add(400)
    if body is not None:
        result["requestBody"] = {"required": True, "content": json_content(body)}
        errors.update({400, 413})
    if params:
        result["parameters"] = params
    result["responses"] = {**responses, **error_responses(*sorted(errors))}
    return result
