"""Preparing for a session (checklist, intention), starting it, and integration afterwards.

Every action is a plain form post, so it works without JavaScript; with JavaScript the
page calls the API instead and stays put.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from kap.models import SessionStatus
from kap.models.base import utcnow
from kap.patient import bp
from kap.patient.forms import IntentionForm, JournalEntryForm
from kap.services.errors import Conflict, Invalid
from kap.services.people.care_teams import care_team_of
from kap.services.screening import intake as screening_intake
from kap.services.screening.consent import consent_missing
from kap.services.sessions import flow as session_flow
from kap.services.sessions.queries import music_over_today
from kap.services.sessions.start_window import start_state
from kap.web.forms import CsrfOnlyForm, attach_errors

#: Pages that stay in the dim session palette on the day of a session once its music is over.
DIM_AFTER_SESSION = frozenset(
    {"patient.integration", "patient.journal_list", "patient.new_entry", "patient.edit_entry"}
)


def _session_palette() -> bool:
    """Whether this page keeps session mode's dim palette: the integration page and the journal,
    on the calendar day (the clinic's) of a session whose music is over (downtime, integration or
    complete). The rule needs no state on the phone, holds after a reload or on another device,
    and ends by itself the next morning. Other pages, and other days, pay no query."""
    if request.endpoint not in DIM_AFTER_SESSION or not current_user.is_authenticated:
        return False
    return music_over_today(current_user)


@bp.context_processor
def session_palette_context() -> dict:
    """``session_palette()`` for base.html's <html> class (read only where it is called)."""
    return {"session_palette": _session_palette}


def _prepare_page(session, intention_form=None, status=200):
    done, total = session_flow.preparation_progress(session)
    intention_form = intention_form or IntentionForm(formdata=None, text=session.intention or "")
    ticked = {tick.item_id for tick in session.ticks}
    intake_status = (
        screening_intake.intake_status(current_user)
        if session.template_version.requires_intake
        else None
    )
    return render_template(
        "patient/prepare.html",
        # None: this session does not ask for an intake; else what stands in the way.
        intake_needed=intake_status not in (None, screening_intake.IntakeStatus.CLEARED),
        intake_status=intake_status,
        intake_labels=screening_intake.STATUS_LABELS,
        session=session,
        version=session.template_version,
        ticked=ticked,
        missing=session_flow.missing_required(session),
        start=start_state(session, utcnow()),
        done=done,
        total=total,
        intention_form=intention_form,
        form=CsrfOnlyForm(),
        care_team=care_team_of(current_user),
        consent_missing=consent_missing(session),
    ), status


@bp.route("/sessions/<int:session_id>")
def prepare(session_id: int):
    """The checklist, the intention and the Start session button."""
    session = session_flow.own_session(current_user, session_id)
    if session.status in (SessionStatus.SESSION, SessionStatus.DOWNTIME):
        return redirect(url_for("patient.session_mode", session_id=session.id))
    return _prepare_page(session)


@bp.route("/sessions/<int:session_id>/checklist", methods=["POST"])
def save_checklist(session_id: int):
    """Save the whole checklist (the no-JavaScript path; with it, each tick saves at once).

    Day-of items ticked before their day are not saved, and the page says which.
    """
    if CsrfOnlyForm().validate_on_submit():
        checked = {int(v) for v in request.form.getlist("item") if v.isdigit()}
        try:
            saved = session_flow.set_checklist(current_user, session_id, checked)
        except Conflict as error:
            flash(error.message, "error")
        else:
            flash("Checklist saved.", "info")
            if saved.message:
                flash(saved.message, "error")
    return redirect(url_for("patient.prepare", session_id=session_id) + "#checklist")


@bp.route("/sessions/<int:session_id>/intention", methods=["POST"])
def save_intention(session_id: int):
    """Save the intention; too long re-renders with the text kept."""
    session = session_flow.own_session(current_user, session_id)
    form = IntentionForm()
    if form.validate_on_submit():
        try:
            session_flow.set_intention(current_user, session_id, form.text.data or "")
        except (Invalid, Conflict) as error:
            attach_errors(form, error)
        else:
            flash("Intention saved. Your care team can read it.", "info")
            return redirect(url_for("patient.prepare", session_id=session_id) + "#intention")
    return _prepare_page(session, form, 400)


@bp.route("/sessions/<int:session_id>/start", methods=["POST"])
def start_session(session_id: int):
    """Start session: records the 'session' phase, then opens session mode."""
    session = session_flow.own_session(current_user, session_id)
    if not CsrfOnlyForm().validate_on_submit():
        return _prepare_page(session, status=400)
    try:
        session_flow.advance_phase(current_user, session_id, SessionStatus.SESSION)
    except Conflict as error:
        flash(error.message, "error")
        return redirect(url_for("patient.prepare", session_id=session_id))
    return redirect(url_for("patient.session_mode", session_id=session_id))


@bp.route("/sessions/<int:session_id>/phase", methods=["POST"])
def change_phase(session_id: int):
    """Move to the next phase by hand (the no-JavaScript path through session mode)."""
    phase = request.form.get("phase", "")
    if CsrfOnlyForm().validate_on_submit():
        try:
            session_flow.advance_phase(current_user, session_id, phase)
        except (Invalid, Conflict) as error:
            flash(error.message, "error")
    if phase in (SessionStatus.INTEGRATION, SessionStatus.COMPLETE):
        return redirect(url_for("patient.integration", session_id=session_id))
    return redirect(url_for("patient.session_mode", session_id=session_id))


@bp.route("/sessions/<int:session_id>/call-staff", methods=["POST"])
def call_staff(session_id: int):
    """Call staff without JavaScript: records the alert; session mode then shows its real state.

    No "someone is on the way" here: that is only true once staff acknowledge the call, which
    the session mode page shows.
    """
    if CsrfOnlyForm().validate_on_submit():
        session_flow.call_staff(current_user, session_id, request.form.get("client_id") or None)
    return redirect(url_for("patient.session_mode", session_id=session_id) + "#call")


@bp.route("/sessions/<int:session_id>/integration")
def integration(session_id: int):
    """First impressions after downtime: the template's prompts and a journal entry."""
    session = session_flow.own_session(current_user, session_id)
    if session.status in (SessionStatus.SCHEDULED, SessionStatus.CANCELLED):
        return redirect(url_for("patient.prepare", session_id=session.id))
    entry_form = JournalEntryForm(formdata=None, session_id=str(session.id))
    return render_template(
        "patient/integration.html",
        session=session,
        prompts=session.template_version.integration_prompts,
        entry_form=entry_form,
        form=CsrfOnlyForm(),
        care_team=care_team_of(current_user),
    )
