"""API sign-in, sign-out and the current user."""

from flask import jsonify, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from kap.api import bp
from kap.api.io import json_body, require_string, user_json
from kap.auth.login import end_session, start_session
from kap.auth.views import CLEAR_SITE_DATA
from kap.extensions import csrf
from kap.services.auth import second_factor
from kap.services.auth.second_factor import EnrollmentRequired, Requirement
from kap.services.auth.signin import authenticate
from kap.services.errors import Invalid
from kap.web.roles import api_roles


def _optional_string(body: dict, name: str, max_length: int) -> str | None:
    """``body[name]`` when given: a string of at most ``max_length`` characters."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise Invalid(f"{name} is not valid.", {name: [f"A string of at most {max_length}."]})
    return value


# Exempt from CSRF because there is no session yet; requiring a JSON body keeps cross-site
# forms out (they cannot send application/json without a CORS preflight, which we never allow).
@bp.route("/session", methods=["POST"])
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
    body = json_body()
    email = require_string(body, "email", 254)
    password = require_string(body, "password", 1024)
    otp = _optional_string(body, "otp", 32)
    recovery_code = _optional_string(body, "recovery_code", 64)
    user = authenticate(email, password, request.remote_addr or "")
    need = second_factor.requirement(user)
    if need is Requirement.ENROL:
        raise EnrollmentRequired()
    if need is Requirement.CODE:
        second_factor.check_sign_in(
            user, code=otp, recovery_code=recovery_code, client_address=request.remote_addr or ""
        )
    start_session(user)
    return jsonify(user=user_json(user), csrf_token=generate_csrf())


@bp.route("/session", methods=["DELETE"])
@api_roles()
def delete_session():
    """Sign out: the server-side session is revoked, and the browser clears what the site kept
    (the same Clear-Site-Data as the sign-out page)."""
    end_session()
    return jsonify(status="signed_out"), 200, {"Clear-Site-Data": CLEAR_SITE_DATA}


@bp.route("/me")
@api_roles()
def me():
    """The signed-in user, and a fresh CSRF token (for clients whose token went stale)."""
    return jsonify(user=user_json(current_user), csrf_token=generate_csrf())
