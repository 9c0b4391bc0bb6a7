"""Clinic administration."""

from flask import Blueprint

from kap.auth.roles import restrict_blueprint
from kap.models import Role

bp = Blueprint("clinic", __name__, url_prefix="/clinic")
restrict_blueprint(bp, Role.CLINIC_ADMIN)

from kap.clinic import views  # noqa: E402,F401
