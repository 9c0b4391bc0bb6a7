"""JSON API v1: cookie-session auth, CSRF in X-CSRFToken, one error format."""

from flask import Blueprint, request

from kap.web.errors import error_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: API bodies are small JSON documents; uploads have their own pages.
MAX_JSON_BYTES = 256 * 1024


@bp.before_request
def limit_body_size():
    """Refuse oversized bodies before reading them."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        return error_response(413, f"The body is larger than {MAX_JSON_BYTES // 1024} KB.")
    return None


from kap.api import (  # noqa: E402,F401
    alerts,
    audit,
    calendar,
    discharge,
    fhir,
    journal,
    measures,
    monitoring,
    openapi,
    patients,
    push_subscriptions,
    reminders,
    ride,
    session_actions,
    sessions,
    signin,
)
