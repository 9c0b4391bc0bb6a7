"""The OpenAPI 3.1 description of the JSON API v1, built from one module per area.

Every route under /api/ must be described here: tests/integration/test_openapi.py compares
this description with ``app.url_map`` (both ways) and with each view's allowed roles.
"""

from __future__ import annotations

import copy
from typing import Any

from kap.api.openapi_spec import audit, clinical, discharge, journal, monitoring, sessions, signin
from kap.api.openapi_spec.common import (
    CSRF_HEADER,
    ERROR,
    USER,
    components_responses,
)

AREAS = (signin, sessions, monitoring, discharge, journal, clinical, audit)

DESCRIPTION = """\
The JSON API of KAP Companion. Sign in with POST /api/v1/session: the answer sets the
kap_session cookie (server-side, revocable) and carries a csrf_token. Every write sends that
token in the X-CSRFToken header. Timestamps are ISO 8601 in UTC. Errors always have the shape
{"error": {"code", "message", "fields"?}}. Bodies over 256 KB answer 413.
"""


def build_spec() -> dict[str, Any]:
    """The whole description as a JSON-ready dict (a new one on every call)."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR, "User": USER}
    for area in AREAS:
        paths.update(area.PATHS)
        schemas.update(getattr(area, "SCHEMAS", {}))
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "KAP Companion API",
            "version": "1.0.0",
            "description": DESCRIPTION,
        },
        "servers": [{"url": "/"}],
        "security": [{"sessionCookie": []}],
        "tags": [
            {"name": name}
            for name in (
                "Sign-in",
                "Sessions",
                "Journal",
                "Patients",
                "Alerts",
                "Check-ins",
                "Audit",
                "Meta",
            )
        ],
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
            "responses": components_responses(),
            "schemas": dict(sorted(schemas.items())),
        },
    }
    return copy.deepcopy(document)  # the areas' dicts are shared; callers may change theirs
