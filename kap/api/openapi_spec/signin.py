"""Signing in and out, the current user, and this description itself."""

from __future__ import annotations

from kap.api.openapi_spec.common import NOT_BLANK, answer, closed, operation, ref, request_object

SIGNED_IN = closed({"user": ref("User"), "csrf_token": {"type": "string", "minLength": 1}})

SIGN_IN_BODY = request_object(
    {
        "email": {"type": "string", "minLength": 1, "maxLength": 254, "pattern": NOT_BLANK},
        "password": {"type": "string", "minLength": 1, "maxLength": 1024, "pattern": NOT_BLANK},
        "otp": {
            "type": "string",
            "maxLength": 32,
            "description": "The authenticator app's six-digit code, when the account needs one.",
        },
        "recovery_code": {
            "type": "string",
            "maxLength": 64,
            "description": "One of the one-time recovery codes, instead of otp.",
        },
    },
    required=("email", "password"),
)

PATHS = {
    "/api/v1/session": {
        "post": operation(
            "create_session",
            "Sign in",
            tag="Sign-in",
            roles=None,
            body=SIGN_IN_BODY,
            description=(
                "Starts a server-side session (the kap_session cookie) and answers the user "
                "and the CSRF token to send with later writes. Needs no CSRF token: there is "
                "no session yet, and only a JSON body is accepted. 401 codes: "
                "invalid_credentials, second_factor_required (send otp or recovery_code), "
                "invalid_second_factor, second_factor_enrollment_required. Failed passwords "
                "and codes are limited per account and per address (429 with Retry-After)."
            ),
            responses={"200": answer("Signed in.", SIGNED_IN)},
            statuses=(401, 429),
        ),
        "delete": operation(
            "delete_session",
            "Sign out",
            tag="Sign-in",
            roles=(),
            csrf=True,
            description=(
                "Revokes the server-side session: the cookie is useless afterwards. Like the "
                'sign-out page, answers Clear-Site-Data: "cache", "storage", so the browser '
                "drops what the app kept."
            ),
            responses={
                "200": answer(
                    "Signed out.",
                    closed({"status": {"type": "string", "const": "signed_out"}}),
                )
            },
        ),
    },
    "/api/v1/me": {
        "get": operation(
            "me",
            "The signed-in user",
            tag="Sign-in",
            roles=(),
            description="Also answers a fresh CSRF token, for clients whose token went stale.",
            responses={"200": answer("The user.", SIGNED_IN)},
        )
    },
    "/api/v1/openapi.json": {
        "get": operation(
            "openapi_json",
            "This OpenAPI 3.1 description",
            tag="Meta",
            roles=None,
            responses={
                "200": answer(
                    "The description.",
                    {
                        "type": "object",
                        "required": ["openapi", "info", "paths"],
                        "properties": {"openapi": {"type": "string", "pattern": r"^3\.1\."}},
                    },
                )
            },
        )
    },
}
