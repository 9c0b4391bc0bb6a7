"""The patient's pages (phone-first)."""

from flask import Blueprint

from kap.models import Role
from kap.web.roles import restrict_blueprint

bp = Blueprint("patient", __name__, url_prefix="/patient")
restrict_blueprint(bp, Role.PATIENT)

from kap.patient import (  # noqa: E402,F401
    calendar_views,
    checkin_views,
    consent_views,
    data_views,
    intake_views,
    journal_views,
    prompt_views,
    reminder_views,
    ride_views,
    session_mode_views,
    session_views,
    views,
)
