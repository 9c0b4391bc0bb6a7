"""Role checks at the blueprint level: a redirect for pages, a JSON error for the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, redirect, url_for
from flask_login import current_user

from kap.extensions import login_manager
from kap.models import Role
from kap.web.errors import error_response, record_access_denied

HOME_ENDPOINTS = {
    Role.PATIENT: "patient.home",
    Role.THERAPIST: "therapist.dashboard",
    Role.CLINIC_ADMIN: "clinic.home",
}


def home_url_for(user) -> str:
    """Where ``user`` lands after signing in."""
    return url_for(HOME_ENDPOINTS[Role(user.role)])


def restrict_blueprint(blueprint: Blueprint, *roles: Role) -> None:
    """Every page of ``blueprint`` needs a signed-in user with one of ``roles``.

    Someone signed in with another role is sent to their own home: a wrong turn, not an attack.
    """

    @blueprint.before_request
    def check_role():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in roles:
            record_access_denied("role")
            return redirect(home_url_for(current_user))
        return None


def api_roles(*roles: Role) -> Callable:
    """Decorator for API views: 401 signed out, 403 signed in with another role."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return error_response(401)
            if roles and current_user.role not in roles:
                record_access_denied("role")
                return error_response(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # read by the access-matrix test
        return wrapped

    return decorator
