"""A patient's screening intake for the care team: the answers, and the decision on them."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from kap.services.errors import Conflict, Invalid
from kap.services.screening import intake as screening
from kap.therapist import bp
from kap.therapist.forms import IntakeDecisionForm
from kap.web.forms import attach_errors


def _intake_page(patient_id: int, form: IntakeDecisionForm | None = None, status: int = 200):
    review = screening.read_intake(current_user, patient_id)  # audited: intake.read
    return render_template(
        "therapist/intake.html",
        review=review,
        labels=screening.STATUS_LABELS,
        form=form or IntakeDecisionForm(formdata=None),
    ), status


@bp.route("/patients/<int:patient_id>/intake")
def intake(patient_id: int):
    """The newest intake: answers needing review first, then the rest, and the decision form."""
    return _intake_page(patient_id)


@bp.route("/patients/<int:patient_id>/intake/<int:intake_id>/decision", methods=["POST"])
def decide_intake(patient_id: int, intake_id: int):
    """Record cleared / not cleared / needs assessment; bad input re-renders with the note."""
    form = IntakeDecisionForm()
    if form.validate_on_submit():
        try:
            screening.decide(
                current_user,
                intake_id,
                form.decision.data,
                form.note.data or "",
                patient_id=patient_id,
            )
        except Invalid as error:
            attach_errors(form, error)
        except Conflict as error:
            flash(error.message, "error")
            return redirect(url_for("therapist.intake", patient_id=patient_id))
        else:
            flash("Decision recorded.", "info")
            return redirect(url_for("therapist.intake", patient_id=patient_id))
    return _intake_page(patient_id, form, 400)
