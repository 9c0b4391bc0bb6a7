"""Board pages for discharge: check, confirm, discharge; and reopening a recent discharge.

Discharge takes two posts, both without JavaScript: the board's form (driver, any override
reason) is checked and answered with a confirmation page naming the patient, the time and
the driver; that page posts again with ``step=confirm`` and "I have seen the patient" ticked.
The confirmation carries what it showed (the counted final check and its concern codes): if
new readings changed that meanwhile, the page is shown again with them and nothing is written.
A refusal re-renders the board with each blocker beside the field or session it concerns.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from kap.board import bp
from kap.board.forms import DischargeForm, ReopenForm, scoped
from kap.board.views import _back_to, _board_page
from kap.models.base import utcnow
from kap.services.board import discharge as discharge_service
from kap.services.board import scope as board_scope
from kap.services.errors import Conflict, Invalid
from kap.web.forms import attach_errors

#: Blockers shown beside a field of the discharge form; the others above it.
FIELD_BLOCKERS = (discharge_service.DRIVER, discharge_service.OVERRIDE_REASON)
NEW_READINGS = "New readings since you started: review them before you confirm again."
SEEN_PATIENT_MISSING = "Tick this once you have seen the patient and they are ready to leave."


def _refused(form: DischargeForm, error: Conflict | Invalid):
    """The board again, the discharge form open with every blocker in its place."""
    for key, messages in error.fields.items():
        if key in FIELD_BLOCKERS:
            getattr(form, key).errors = [*getattr(form, key).errors, *messages]
        else:
            form.form_errors.extend(messages)
    if not error.fields:
        form.form_errors.append(error.message)
    return form


def _confirmation(form: DischargeForm, asked, status: int = 200):
    """The page that names the patient, the time and the driver before anything is written."""
    form.step.data = "confirm"
    shown = discharge_service.Confirmed.of(asked.ready)
    form.confirmed_final.data = "" if shown.final_id is None else str(shown.final_id)
    form.confirmed_concerns.data = shown.concerns_field
    scoped(form, f"s{asked.session.id}-confirm")
    return render_template(
        "board/confirm_discharge.html", form=form, asked=asked, now=utcnow()
    ), status


def _changed_since(form: DischargeForm, session_id: int, answers: dict):
    """The confirmation again, with the newer readings, when they changed before the confirm."""
    try:
        asked = discharge_service.check(current_user, session_id, **answers)
    except Conflict as error:  # the newer readings now block (e.g. an override reason needed)
        if error.code != discharge_service.BLOCKED_CODE:
            return _board_page(409, page_error=error.message)
        return _board_page(409, failed={("discharge", session_id): _refused(form, error)})
    form.seen_patient.data = False
    form.form_errors.append(NEW_READINGS)
    return _confirmation(form, asked, 409)


@bp.route("/sessions/<int:session_id>/discharge", methods=["POST"])
def discharge(session_id: int):
    """Check a discharge (then confirm it), or 409 with every blocker beside the session."""
    session = board_scope.get_board_session(current_user, session_id)
    form = DischargeForm()
    if not form.validate_on_submit():
        return _board_page(400, failed={("discharge", session.id): form})
    answers = {"driver": form.driver.data, "override_reason": form.override_reason.data}
    try:
        if not form.confirming:
            asked = discharge_service.check(current_user, session.id, **answers)
            return _confirmation(form, asked)
        if not form.seen_patient.data:
            asked = discharge_service.check(current_user, session.id, **answers)
            form.seen_patient.errors = [SEEN_PATIENT_MISSING]
            return _confirmation(form, asked, 400)
        confirmed = discharge_service.Confirmed.parse(
            form.confirmed_final.data, form.confirmed_concerns.data
        )
        discharge_service.discharge(current_user, session.id, confirmed=confirmed, **answers)
    except Invalid as error:
        attach_errors(form, error)
        return _board_page(400, failed={("discharge", session.id): form})
    except Conflict as error:
        if error.code == discharge_service.READINGS_CHANGED:
            return _changed_since(form, session.id, answers)
        if error.code != discharge_service.BLOCKED_CODE:
            return _board_page(409, page_error=f"{session.patient.name}: {error.message}")
        return _board_page(409, failed={("discharge", session.id): _refused(form, error)})
    flash(f"{session.patient.name} discharged.", "info")
    return redirect(url_for("board.index", _anchor="discharged"))


@bp.route("/sessions/<int:session_id>/discharge/reopen", methods=["POST"])
def reopen_discharge(session_id: int):
    """Reopen a discharge within the window, with a reason; 409 after it."""
    session = board_scope.get_board_session(current_user, session_id)
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            discharge_service.reopen(current_user, session.id, form.reason.data)
        except Invalid as error:
            attach_errors(form, error)
        except Conflict as error:
            return _board_page(409, page_error=f"{session.patient.name}: {error.message}")
        else:
            flash(f"Discharge of {session.patient.name} reopened.", "info")
            return _back_to(session.id)
    return _board_page(400, failed={("reopen", session.id): form})
