"""The therapist's workspace."""

from flask import Blueprint

from kap.auth.roles import restrict_blueprint
from kap.models import Role

bp = Blueprint("therapist", __name__, url_prefix="/therapist")
restrict_blueprint(bp, Role.THERAPIST)

from kap.therapist import measures_views, views  # noqa: E402,F401
