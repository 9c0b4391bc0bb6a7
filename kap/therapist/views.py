"""Therapist dashboard."""

from flask import render_template
from flask_login import current_user

from kap.extensions import db
from kap.models import User
from kap.services.access import patients_visible_to
from kap.therapist import bp


@bp.route("/")
def dashboard():
    """The therapist's patients."""
    patients = db.session.scalars(patients_visible_to(current_user).order_by(User.name)).all()
    return render_template("therapist/dashboard.html", patients=patients)
