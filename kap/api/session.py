"""API sign-in, sign-out and the current user."""

from flask import jsonify, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from kap.api import bp
from kap.api.io import json_body, require_string, user_json
from kap.auth.roles import api_roles
from kap.auth.sessions import end_session, start_session
from kap.extensions import csrf
from kap.services.signin import authenticate


# Exempt from CSRF because there is no session yet; requiring a JSON body keeps cross-site
# forms out (they cannot send application/json without a CORS preflight, which we never allow).
@bp.route("/session", methods=["POST"])
@csrf.exempt
def create_session():
    """Sign in with email and password; answers the user and a CSRF token for later writes."""
    body = json_body()
    email = require_string(body, "email", 254)
    password = require_string(body, "password", 1024)
    user = authenticate(email, password, request.remote_addr or "")
    start_session(user)
    return jsonify(user=user_json(user), csrf_token=generate_csrf())


@bp.route("/session", methods=["DELETE"])
@api_roles()
def delete_session():
    """Sign out: the server-side session is revoked."""
    end_session()
    return jsonify(status="signed_out")


@bp.route("/me")
@api_roles()
def me():
    """The signed-in user, and a fresh CSRF token (for clients whose token went stale)."""
    return jsonify(user=user_json(current_user), csrf_token=generate_csrf())
