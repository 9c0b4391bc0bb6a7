"""The ride home: the patient says who is driving them (the evening-before reminder opens it).

A plain form post, so it works from a notification on any phone; bad input re-renders with
the answer kept and the problem beside the field.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField

from kap.models import SessionStatus
from kap.patient import bp
from kap.services.board.discharge_rules import MAX_DRIVER_LENGTH
from kap.services.errors import Conflict, Invalid
from kap.services.sessions.flow import own_session
from kap.services.sessions.ride import confirm_ride
from kap.web.forms import attach_errors


class RideForm(FlaskForm):
    """One field; the service holds the rule (trimmed, 1 to 120 characters)."""

    driver = StringField(
        "Who is driving you home?",
        render_kw={"autocomplete": "off", "maxlength": MAX_DRIVER_LENGTH},
    )


def _ride_page(session, form: RideForm, status: int = 200):
    return render_template(
        "patient/ride.html",
        session=session,
        form=form,
        open_for_answers=session.status == SessionStatus.SCHEDULED,
    ), status


@bp.route("/sessions/<int:session_id>/ride")
def ride(session_id: int):
    """The question, with what the patient said before (if anything) in the field."""
    session = own_session(current_user, session_id)
    return _ride_page(session, RideForm(formdata=None, driver=session.ride_home or None))


@bp.route("/sessions/<int:session_id>/ride", methods=["POST"])
def confirm_ride_home(session_id: int):
    """Save the answer and show it; a refused one is shown again with the reason."""
    session = own_session(current_user, session_id)
    form = RideForm()
    if form.validate_on_submit():
        try:
            confirm_ride(current_user, session_id, form.driver.data or "")
        except (Invalid, Conflict) as error:
            attach_errors(form, error)
        else:
            flash("Thank you. The clinic's staff will see who is driving you home.", "info")
            return redirect(url_for("patient.ride", session_id=session_id))
    return _ride_page(session, form, 400)
