"""Clinic admin home."""

from flask import render_template
from flask_login import current_user

from kap.clinic import bp
from kap.models import Role
from kap.services.clinic.templates import templates_of_clinic
from kap.services.people.access import active_people_by_role
from kap.services.sessions.queries import todays_sessions


@bp.route("/")
def home():
    """Today's sessions and the clinic at a glance."""
    counts = active_people_by_role(current_user)
    return render_template(
        "clinic/home.html",
        todays_sessions=todays_sessions(current_user),
        patient_count=counts.get(Role.PATIENT, 0),
        therapist_count=counts.get(Role.THERAPIST, 0),
        templates=templates_of_clinic(current_user),
    )
