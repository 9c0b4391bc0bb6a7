"""One place that turns errors into answers: JSON under /api/, a page everywhere else."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request, session
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from kap.extensions import db
from kap.services.errors import DomainError, NotFound, RateLimited
from kap.web import logs
from kap.web.server_session import UnavailableSession

log = logging.getLogger(__name__)

#: Machine-readable codes for the API error format.
CODES = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}

MESSAGES = {
    400: "The request was not valid.",
    401: "Please sign in.",
    403: "Your role cannot do that.",
    404: "Not found.",
    405: "That method is not allowed here.",
    409: "That conflicts with the current state.",
    413: "That is too large to send here. Go back: what you typed is still in the form.",
    429: "Too many requests. Please wait and try again.",
    500: "Something went wrong on our side. Nothing you sent was lost; please try again.",
    503: "The service is briefly unavailable. Please try again in a moment.",
}


def wants_json() -> bool:
    """API paths always answer JSON."""
    return request.path.startswith("/api/")


def record_access_denied(reason: str) -> None:
    """Audit a signed-in user reaching for something that is not theirs (or not there)."""
    from flask_login import current_user

    from kap.services import audit
    from kap.services.unit_of_work import unit_of_work

    if current_user and current_user.is_authenticated:
        db.session.rollback()  # nothing of the refused request is kept, only its audit row
        with unit_of_work():
            audit.record(
                "access.denied", actor=current_user, detail=f"{reason} {request.endpoint or ''}"
            )


def error_response(
    status: int,
    message: str | None = None,
    code: str | None = None,
    fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
):
    """The error in the API format or as a page, by path."""
    message = message or MESSAGES.get(status, "Error.")
    if wants_json():
        body = {"error": {"code": code or CODES.get(status, "error"), "message": message}}
        if fields:
            body["error"]["fields"] = fields
        return jsonify(body), status, headers or {}
    page = render_template("errors/error.html", status=status, message=message, fields=fields)
    return page, status, headers or {}


#: A write the database had no room for (a full disk): nothing was saved, and the person's
#: words are still on their side — in the form (Back) or in the phone's outbox.
STORAGE_FULL_MESSAGES = {
    "page": "We could not save this just now. Nothing was saved. Go back: what you wrote is "
    "still in the form. Please send it again in a few minutes.",
    "api": "The server has no room to save this just now. Nothing was saved; send it again later.",
}
#: SQLite's "database or disk is full"; PostgreSQL's disk_full SQLSTATE.
_SQLITE_FULL = 13
_POSTGRES_DISK_FULL = "53100"


def storage_full(error: OperationalError) -> bool:
    """Whether the database refused a write because its disk (or size limit) is full."""
    original = error.orig
    return (
        getattr(original, "sqlite_errorcode", None) == _SQLITE_FULL
        or getattr(original, "sqlstate", None) == _POSTGRES_DISK_FULL
        or "database or disk is full" in str(original)
    )


def _unavailable(message: str | None = None):
    """The 503 answer, rendered as for a signed-out visitor: the page must not need the
    database (loading the signed-in user would fail again)."""
    from kap.extensions import login_manager

    g._login_user = login_manager.anonymous_user()
    return error_response(503, message)


def init_app(app: Flask) -> None:
    """Register the handlers, and keep tokens out of the request log."""
    logs.init_app(app)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        if isinstance(error, NotFound):
            record_access_denied("not_found")
        headers = (
            {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
        )
        return error_response(error.status, error.message, error.code, error.fields, headers)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        if wants_json():
            return error_response(
                400,
                "The CSRF token is missing or expired. Fetch a fresh one from GET /api/v1/me "
                "and send it in the X-CSRFToken header.",
                "csrf_failed",
            )
        # A page, not a redirect: the browser's Back button still holds what was typed.
        return error_response(
            400, "This form expired before it was sent. Go back, reload the page and send it again."
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if isinstance(getattr(error, "original_exception", None), DBAPIError):
            # A database error raised while finishing a response (after the view's commit):
            # Flask sends it here as a 500, but the write may well be stored. 503 tells the
            # outbox to retry, and its replay is exactly-once.
            return database_unavailable(error.original_exception)
        status = error.code or 500
        # What the protocol says besides the body: Allow on a 405, Retry-After on a 429 or
        # 503, WWW-Authenticate on a 401. Only the body's own type is ours to set.
        headers = {
            name: value for name, value in error.get_headers() if name.lower() != "content-type"
        }
        if status == 429 and not wants_json():
            return error_response(429, MESSAGES[429], headers=headers)
        message = MESSAGES.get(status) if status >= 500 else (error.description or None)
        if status in MESSAGES and error.description == type(error).description:
            message = MESSAGES[status]  # werkzeug's defaults are for developers, not people
        return error_response(status, message, headers=headers)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error: DBAPIError):
        db.session.rollback()  # nothing of the failed write is kept
        if isinstance(error, OperationalError) and storage_full(error):
            log.error("database storage is full: a write was refused (%s)", request.endpoint)
            return _unavailable(STORAGE_FULL_MESSAGES["api" if wants_json() else "page"])
        log.error("database unavailable: %s", type(error.orig).__name__)
        return _unavailable()

    def database_unreachable():
        """The session could not be loaded because the database is down: say so at once.

        Runs first on every request: the session is taken from its proxy once, since
        ``isinstance`` of a proxy asks it for ``__class__`` through a failed lookup.
        """
        current = session._get_current_object()  # type: ignore[attr-defined]
        if isinstance(current, UnavailableSession) and request.endpoint not in (
            "static",
            "main.healthz",
            "main.readyz",
            "main.metrics",
        ):
            return _unavailable()
        return None

    # First of all hooks: the CSRF check would otherwise answer 400 (an outbox must retry a
    # 503, but may give up on a 400).
    app.before_request_funcs.setdefault(None, []).insert(0, database_unreachable)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        db.session.rollback()
        logs.log_unexpected(log, error)  # where it happened; its message may quote input
        return error_response(500)
