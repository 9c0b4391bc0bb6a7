"""The OpenAPI 3.1 description of the JSON API v1, generated, and GET /api/v1/openapi.json.

``build_spec()`` reads the routes recorded by ``kap.api.operations.operation`` and the JSON
schemas of their request and response models (kap/api/schemas/): nothing is written twice.
tests/integration/test_openapi.py compares it with ``app.url_map`` (both ways), with each
view's allowed roles and with real answers; the fuzzing tests load it directly.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import jsonify
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from kap.api.operations import ERROR_MEANINGS, OPERATIONS, PATH_IDS, Operation, operation
from kap.api.schemas.common import Error, Id, User

Schema = dict[str, Any]
REF_PREFIX = "#/components/schemas/"

DESCRIPTION = """\
The JSON API of KAP Companion. Sign in with POST /api/v1/session: the answer sets the
kap_session cookie (server-side, revocable) and carries a csrf_token. Every write sends that
token in the X-CSRFToken header. Timestamps are ISO 8601 in UTC. Errors always have the shape
{"error": {"code", "message", "fields"?}}. Bodies over 256 KB answer 413.
"""
TAGS = (
    "Sign-in",
    "Sessions",
    "Journal",
    "Patients",
    "Alerts",
    "Check-ins",
    "Reminders",
    "Audit",
    "Meta",
)
CSRF_HEADER: Schema = {
    "name": "X-CSRFToken",
    "in": "header",
    "required": True,
    "description": "The csrf_token from POST /api/v1/session or GET /api/v1/me.",
    "schema": {"type": "string", "minLength": 1},
}
#: Small nested shapes are written inline where they are used, not as components.
INLINE = frozenset(
    {"StartWindow", "ItemState", "Named", "CommentAuthor", "Cue", "CheckFlags", "Soundscape"}
)


class _KapJsonSchema(GenerateJsonSchema):
    """Pydantic's JSON schema without a title on every field, nor a null default where
    None only marks a field as optional (absent, not null)."""

    def field_title_should_be_set(self, schema) -> bool:
        return False

    def default_schema(self, schema) -> Schema:
        result = super().default_schema(schema)
        if "default" in result and result["default"] is None:
            del result["default"]
        return result


@cache
def _id_schema() -> Schema:
    """A path id's schema (32-bit, from 1)."""
    return TypeAdapter(Id).json_schema()


def _models(operations: list[Operation]) -> list[tuple[type[BaseModel], str]]:
    """Every model the description refers to, with its JSON schema mode."""
    found: dict[tuple[type[BaseModel], str], None] = {(Error, "serialization"): None}
    found[(User, "serialization")] = None
    for op in operations:
        if op.body is not None:
            found[(op.body, "validation")] = None
        for _, model in op.responses.values():
            if isinstance(model, type):
                found[(model, "serialization")] = None
    return list(found)


def _inline(node: Any, defs: dict[str, Schema]) -> Any:
    """``node`` with references to INLINE schemas replaced by the schemas themselves."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref", "")
    name = ref.removeprefix(REF_PREFIX)
    if name in INLINE:
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return {**_inline(defs[name], defs), **siblings}
    return {key: _inline(value, defs) for key, value in node.items()}


def _answer(description: str, schema: Schema, media_type: str = "application/json") -> Schema:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def _operation_object(op: Operation, refs: dict[type[BaseModel], Schema]) -> Schema:
    """One operation, with the error answers its kind implies."""
    result: Schema = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag]}
    if op.description:
        result["description"] = op.description
    errors = set(op.errors)
    params: list[Schema] = []
    if op.roles is None:
        result["security"] = []
    else:
        result["x-kap-roles"] = list(op.roles)
        errors.add(401)
        if op.roles:
            errors.add(403)
    if op.csrf:
        params.append({"$ref": "#/components/parameters/CSRFToken"})
        errors.add(400)
    params.extend(
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": f"The {PATH_IDS[name]}'s id.",
            "schema": _id_schema(),
        }
        for name in op.path_parameters
    )
    params.extend(op.parameters)
    if op.body is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[op.body]}},
        }
        errors.update({400, 413})
    if params:
        result["parameters"] = params
    responses = {
        str(status): {"description": description}  # no body (204)
        if model is None
        else _answer(description, refs[model] if isinstance(model, type) else model, op.media_type)
        for status, (description, model) in op.responses.items()
    }
    for status in sorted(errors):
        responses.setdefault(
            str(status), {"$ref": f"#/components/responses/{ERROR_MEANINGS[status][1]}"}
        )
    result["responses"] = responses
    return result


def _components_responses() -> Schema:
    """One shared answer per error status, all in the error format."""
    responses = {
        name: _answer(meaning, {"$ref": REF_PREFIX + "Error"})
        for meaning, name in ERROR_MEANINGS.values()
    }
    responses["RateLimited"]["headers"] = {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    }
    return responses


def build_spec() -> Schema:
    """The whole description as a JSON-ready dict (a new one on every call)."""
    operations = list(OPERATIONS)
    models = _models(operations)
    top, definitions = models_json_schema(
        models, ref_template=REF_PREFIX + "{model}", schema_generator=_KapJsonSchema
    )
    defs = definitions.get("$defs", {})
    refs = {model: _inline(top[(model, mode)], defs) for model, mode in models}
    paths: dict[str, Schema] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = _operation_object(op, refs)
    schemas = {name: _inline(schema, defs) for name, schema in defs.items() if name not in INLINE}
    return {
        "openapi": "3.1.0",
        "info": {"title": "KAP Companion API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"sessionCookie": []}],
        "tags": [{"name": name} for name in TAGS],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "kap_session",
                    "description": "Set by POST /api/v1/session; HttpOnly, SameSite=Lax.",
                }
            },
            "parameters": {"CSRFToken": CSRF_HEADER},
            "responses": _components_responses(),
            "schemas": dict(sorted(schemas.items())),
        },
    }


OPENAPI_DOCUMENT: Schema = {
    "type": "object",
    "required": ["openapi", "info", "paths"],
    "properties": {"openapi": {"type": "string", "pattern": r"^3\.1\."}},
}


@operation(
    "/openapi.json",
    summary="This OpenAPI 3.1 description",
    tag="Meta",
    roles=None,
    responses={200: ("The description.", OPENAPI_DOCUMENT)},
)
def openapi_json():
    """The description of every API route (public: it holds no data)."""
    return jsonify(build_spec())
