"""Board pages for the session-day records: staff check-in and what was given.

Like the rest of the board (``views``): post, then redirect back to the session's row; a
refused form re-renders the board with the problem beside the session, what was typed kept.
"""

from __future__ import annotations

from flask import flash
from flask_login import current_user

from kap.board import bp
from kap.board.forms import AdministrationForm, CheckInForm
from kap.board.views import _back_to, _board_page
from kap.models.base import utcnow
from kap.services.board import administrations, check_in
from kap.services.board import scope as board_scope
from kap.services.errors import Conflict, Invalid
from kap.web.forms import attach_errors


@bp.route("/sessions/<int:session_id>/check-in", methods=["POST"])
def check_in_patient(session_id: int):
    """Check the patient in: photo ID ticked and pre-dose vitals on record (400/409 if not)."""
    session = board_scope.get_board_session(current_user, session_id)
    form = CheckInForm()
    status = 400
    if form.validate_on_submit():
        try:
            check_in.check_in(
                current_user, session.id, photo_id_checked=bool(form.photo_id_checked.data)
            )
        except Invalid as error:
            attach_errors(form, error)
        except Conflict as error:
            form.form_errors.append(error.message)
            status = 409
        else:
            flash(f"{session.patient.name} checked in.", "info")
            return _back_to(session.id)
    return _board_page(status, failed={("check_in", session.id): form})


@bp.route("/sessions/<int:session_id>/administrations", methods=["POST"])
def record_administration(session_id: int):
    """Record a medication given: 400 with field messages when something is missing or wrong."""
    session = board_scope.get_board_session(current_user, session_id)
    form = AdministrationForm()
    if form.validate_on_submit():
        now = utcnow()
        fields = form.fields()
        fields["at"] = administrations.given_at_from_clock(
            form.given_time.data, current_user.clinic.timezone, now
        )
        try:
            administrations.record_administration(current_user, session.id, fields, now=now)
        except Invalid as error:
            if "at" in error.fields:  # the service's name for the time given
                error.fields["given_time"] = error.fields.pop("at")
            attach_errors(form, error)
        except Conflict as error:
            return _board_page(409, page_error=f"{session.patient.name}: {error.message}")
        else:
            flash(f"Administration recorded for {session.patient.name}.", "info")
            return _back_to(session.id)
    return _board_page(400, failed={("administration", session.id): form})
