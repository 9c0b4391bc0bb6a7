"""Therapist dashboard and a patient's course."""

from flask import render_template
from flask_login import current_user

from kap.extensions import db
from kap.models import User
from kap.services.access import get_patient_for, patients_visible_to
from kap.services.scheduling import sessions_of_patient
from kap.therapist import bp


@bp.route("/")
def dashboard():
    """The therapist's patients."""
    patients = db.session.scalars(patients_visible_to(current_user).order_by(User.name)).all()
    return render_template("therapist/dashboard.html", patients=patients)


@bp.route("/patients/<int:patient_id>")
def patient(patient_id: int):
    """One patient in the therapist's care: their sessions (404 for anyone else's)."""
    person = get_patient_for(current_user, patient_id)
    return render_template(
        "therapist/patient.html",
        patient=person,
        sessions=sessions_of_patient(current_user, person.id),
    )
