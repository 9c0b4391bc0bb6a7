"""The therapist's workspace."""

from flask import Blueprint

from kap.models import Role
from kap.web.roles import restrict_blueprint

bp = Blueprint("therapist", __name__, url_prefix="/therapist")
restrict_blueprint(bp, Role.THERAPIST)

from kap.therapist import consent_views, intake_views, measures_views, views  # noqa: E402,F401
