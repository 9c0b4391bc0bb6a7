"""Clinic admin home."""

from flask import render_template
from flask_login import current_user

from kap.clinic import bp
from kap.extensions import db
from kap.models import User
from kap.services.access import users_of_clinic


@bp.route("/")
def home():
    """The clinic's people at a glance."""
    people = db.session.scalars(users_of_clinic(current_user).order_by(User.role, User.name)).all()
    return render_template("clinic/home.html", people=people)
