"""Clinic administration: templates, audio, people and care teams, scheduling, settings."""

from flask import Blueprint

from kap.models import Role
from kap.web.roles import restrict_blueprint

bp = Blueprint("clinic", __name__, url_prefix="/clinic")
restrict_blueprint(bp, Role.CLINIC_ADMIN)

from kap.clinic import (  # noqa: E402,F401
    audio_views,
    audit_views,
    consent_views,
    instrument_views,
    people_views,
    recording_views,
    schedule_views,
    settings_views,
    template_views,
    views,
)
