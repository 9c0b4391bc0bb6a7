"""API sign-in, sign-out and the current user."""

from flask import jsonify, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from kap.api.io import read_body
from kap.api.operations import operation
from kap.api.schemas.common import User
from kap.api.schemas.signin import SignedIn, SignedOut, SignIn
from kap.auth.login import end_session, start_session
from kap.auth.views import CLEAR_SITE_DATA
from kap.extensions import csrf
from kap.services.auth import second_factor
from kap.services.auth.second_factor import EnrollmentRequired, Requirement
from kap.services.auth.signin import authenticate


def _signed_in(user) -> dict:
    """The user and a fresh CSRF token."""
    return {
        "user": User.answer(user),
        "csrf_token": generate_csrf(),
    }


# Exempt from CSRF because there is no session yet; requiring a JSON body keeps cross-site
# forms out (they cannot send application/json without a CORS preflight, which we never allow).
@operation(
    "/session",
    "POST",
    summary="Sign in",
    tag="Sign-in",
    roles=None,
    body=SignIn,
    description=(
        "Starts a server-side session (the kap_session cookie) and answers the user and the "
        "CSRF token to send with later writes. Needs no CSRF token: there is no session yet, "
        "and only a JSON body is accepted. 401 codes: invalid_credentials, "
        "second_factor_required (send otp or recovery_code), invalid_second_factor, "
        "second_factor_enrollment_required. Failed passwords and codes are limited per "
        "account and per address (429 with Retry-After)."
    ),
    responses={200: ("Signed in.", SignedIn)},
    errors=(401, 429),
)
@csrf.exempt
def create_session():
    """Sign in with ``email`` and ``password``, plus ``otp`` or ``recovery_code`` when needed.

    200 ``{user, csrf_token}``. Accounts with two-step sign-in (and clinicians of clinics
    that require it) also send ``otp``, the six-digit code of their authenticator app, or
    ``recovery_code``, one of their one-time recovery codes. Errors: 400 ``invalid`` (a
    missing or mistyped field); 401 ``invalid_credentials`` (email and password do not
    match), ``second_factor_required`` (right password, no code sent: send it again with
    ``otp``), ``invalid_second_factor`` (wrong, expired or already used code),
    ``second_factor_enrollment_required`` (the clinic requires a second factor and none is
    set up: sign in on the web once); 429 ``rate_limited`` with Retry-After after too many
    failed passwords or codes.
    """
    body = read_body(SignIn)
    user = authenticate(body.email, body.password, request.remote_addr or "")
    need = second_factor.requirement(user)
    if need is Requirement.ENROL:
        raise EnrollmentRequired()
    if need is Requirement.CODE:
        second_factor.check_sign_in(
            user,
            code=body.otp,
            recovery_code=body.recovery_code,
            client_address=request.remote_addr or "",
        )
    start_session(user)
    return jsonify(_signed_in(user))


@operation(
    "/session",
    "DELETE",
    summary="Sign out",
    tag="Sign-in",
    roles=(),
    description=(
        "Revokes the server-side session: the cookie is useless afterwards. Like the sign-out "
        'page, answers Clear-Site-Data: "cache", "storage", so the browser drops what the '
        "app kept."
    ),
    responses={200: ("Signed out.", SignedOut)},
)
def delete_session():
    """Sign out: the server-side session is revoked, and the browser clears what the site kept
    (the same Clear-Site-Data as the sign-out page)."""
    end_session()
    return jsonify(status="signed_out"), 200, {"Clear-Site-Data": CLEAR_SITE_DATA}


@operation(
    "/me",
    summary="The signed-in user",
    tag="Sign-in",
    roles=(),
    description="Also answers a fresh CSRF token, for clients whose token went stale.",
    responses={200: ("The user.", SignedIn)},
)
def me():
    """The signed-in user, and a fresh CSRF token (for clients whose token went stale)."""
    return jsonify(_signed_in(current_user))
