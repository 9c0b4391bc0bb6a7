"""Domain errors raised by services and turned into HTTP answers in one place (kap.web.errors)."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a message safe to show, an HTTP status and a machine-readable code."""

    status = 400
    code = "invalid"

    def __init__(
        self, message: str, fields: dict[str, list[str]] | None = None, *, code: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:  # a more specific machine-readable code than the class's, e.g. "not_today"
            self.code = code


class Invalid(DomainError):
    """The input breaks a rule; ``fields`` says which field and why."""


class NotFound(DomainError):
    """Absent, or not the caller's to know about (never 403 for other people's records)."""

    status = 404
    code = "not_found"

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class Conflict(DomainError):
    """A state conflict: an invalid transition or a concurrent change."""

    status = 409
    code = "conflict"


class TooLarge(DomainError):
    """An upload or body over its size limit."""

    status = 413
    code = "too_large"


class RateLimited(DomainError):
    """Too many attempts; ``retry_after`` says how many seconds to wait."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A part the request needs (the attempt counter's storage, say) cannot be reached now."""

    status = 503
    code = "unavailable"


class InvalidCredentials(DomainError):
    """Email or password wrong. Deliberately says nothing about which."""

    status = 401
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("That email and password do not match an account.")
