"""Signing in and out, and the current user."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from kap.api.schemas.common import NOT_BLANK, RequestModel, ResponseModel, Says, User, status_model


def _required_text(name: str, max_length: int) -> object:
    """A non-blank string of at most ``max_length`` characters, with today's messages."""
    return Annotated[
        str,
        Field(min_length=1, max_length=max_length, pattern=NOT_BLANK),
        Says(
            f"{name} is required.",
            "This field is required.",
            too_long=(f"{name} is too long.", f"At most {max_length} characters."),
        ),
    ]


def _optional_text(name: str, max_length: int, description: str) -> object:
    """A string of at most ``max_length`` characters when given ('' counts as absent)."""
    return Annotated[
        Annotated[str, Field(max_length=max_length)] | None,
        BeforeValidator(lambda value: None if value == "" else value),
        Field(description=description),
        Says(f"{name} is not valid.", f"A string of at most {max_length}."),
    ]


class SignIn(RequestModel):
    """Email and password, plus a second factor when the account needs one."""

    email: _required_text("email", 254)  # type: ignore[valid-type]
    password: _required_text("password", 1024)  # type: ignore[valid-type]
    otp: _optional_text(  # type: ignore[valid-type]
        "otp", 32, "The authenticator app's six-digit code, when the account needs one."
    ) = None
    recovery_code: _optional_text(  # type: ignore[valid-type]
        "recovery_code", 64, "One of the one-time recovery codes, instead of otp."
    ) = None


class SignedIn(ResponseModel):
    """The user and the CSRF token to send with later writes."""

    user: User
    csrf_token: str = Field(min_length=1)


SignedOut = status_model("SignedOut", "signed_out")
