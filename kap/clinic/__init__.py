"""Clinic administration: templates, audio, people and care teams, scheduling, settings."""

from flask import Blueprint

from kap.auth.roles import restrict_blueprint
from kap.models import Role

bp = Blueprint("clinic", __name__, url_prefix="/clinic")
restrict_blueprint(bp, Role.CLINIC_ADMIN)

from kap.clinic import (  # noqa: E402,F401
    audio_views,
    audit_views,
    people_views,
    schedule_views,
    settings_views,
    template_views,
    views,
)
