"""The clinic session board: today's sessions for staff on session days."""

from flask import Blueprint

from kap.models import Role
from kap.web.roles import restrict_blueprint

bp = Blueprint("board", __name__, url_prefix="/board")
restrict_blueprint(bp, Role.THERAPIST, Role.CLINIC_ADMIN)

from kap.board import discharge_views, records_views, summary_pdf_views, views  # noqa: E402,F401
