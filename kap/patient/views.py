"""Patient home and the Crisis support page."""

from flask import render_template
from flask_login import current_user

from kap.patient import bp


@bp.route("/")
def home():
    """The patient's start page."""
    return render_template("patient/home.html")


@bp.route("/crisis-support")
def crisis_support():
    """The clinic's crisis contacts, one tap from every patient page."""
    return render_template(
        "patient/crisis_support.html", contacts=current_user.clinic.crisis_contacts
    )
