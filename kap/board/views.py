"""Board pages: today's sessions, vitals, monitoring checks, Call staff alerts, the record.

Every form posts and redirects back to the board (it works without JavaScript); a refused
form re-renders the board with the problem beside the session it concerns. Discharge and
reopening are in ``discharge_views``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from kap.board import bp
from kap.board.forms import (
    AdministrationForm,
    CheckForm,
    CheckInForm,
    DischargeForm,
    ReopenForm,
    ResolveCallForm,
    VitalsForm,
    scoped,
)
from kap.services.board import actions as board_actions
from kap.services.board import scope as board_scope
from kap.services.board import summary as board_summary
from kap.services.board import today as board_service
from kap.services.board.vitals import KINDS
from kap.services.errors import Conflict, Invalid
from kap.web.forms import CsrfOnlyForm, attach_errors


@dataclass
class RowForms:
    """The forms beside one session; ``open`` names the one to show unfolded."""

    vitals: VitalsForm
    check: CheckForm
    discharge: DischargeForm
    reopen: ReopenForm
    check_in: CheckInForm
    administration: AdministrationForm
    open: str = ""


@dataclass
class CallForms:
    acknowledge: CsrfOnlyForm
    resolve: ResolveCallForm


def _forms(board, failed: dict | None = None) -> tuple[dict, dict]:
    """Fresh forms for every row and call, except a refused one, which keeps what was typed."""
    failed = failed or {}
    rows = {}
    for row in board.active + board.discharged:
        sid = row.session.id
        rows[sid] = RowForms(
            vitals=scoped(VitalsForm(formdata=None, kind=row.suggested_kind), f"s{sid}-vitals"),
            check=scoped(CheckForm(formdata=None), f"s{sid}-check"),
            # The patient's own answer to "who is driving you home?" fills the driver in;
            # the clinician still checks it and submits the discharge (discharge_rules).
            discharge=scoped(
                DischargeForm(formdata=None, driver=row.session.ride_home or None),
                f"s{sid}-discharge",
            ),
            reopen=scoped(ReopenForm(formdata=None), f"s{sid}-reopen"),
            check_in=scoped(CheckInForm(formdata=None), f"s{sid}-check_in"),
            administration=scoped(
                # The route matching the template may be pre-selected; the dose never is.
                AdministrationForm(formdata=None, route=row.records.route or None),
                f"s{sid}-administration",
            ),
        )
    calls = {
        call.alert.id: CallForms(
            acknowledge=scoped(CsrfOnlyForm(formdata=None), f"a{call.alert.id}-ack"),
            resolve=scoped(ResolveCallForm(formdata=None), f"a{call.alert.id}-resolve"),
        )
        for call in board.calls
    }
    for (kind, key), value in failed.items():
        if kind == "resolve" and key in calls:
            calls[key].resolve = scoped(value, f"a{key}-resolve")
        elif key in rows:
            setattr(rows[key], kind, scoped(value, f"s{key}-{kind}"))
            rows[key].open = kind
    return rows, calls


def _unplaced(board, failed: dict | None) -> str:
    """Words for a refused form whose session or call is no longer on the board."""
    for kind, key in failed or {}:
        if kind == "resolve":
            ids = {c.alert.id for c in board.calls}
        elif kind == "reopen":
            ids = {r.session.id for r in board.discharged if r.can_reopen}
        else:
            ids = {r.session.id for r in board.active}
        if key not in ids:
            return "That was not saved: it is no longer on today's board."
    return ""


def _board_page(status: int = 200, failed: dict | None = None, page_error: str = ""):
    """The whole board, with any refused form in place."""
    board = board_service.board_for(current_user)
    rows, calls = _forms(board, failed)
    page_error = page_error or _unplaced(board, failed)
    return render_template(
        "board/index.html",
        board=board,
        row_forms=rows,
        call_forms=calls,
        page_error=page_error,
    ), status


def _back_to(session_id: int):
    return redirect(url_for("board.index", _anchor=f"session-{session_id}"))


@bp.route("/")
def index():
    """Today's sessions across the clinic, Call staff alerts first."""
    board_service.record_board_view(current_user)
    return _board_page()


@bp.route("/rows")
def rows():
    """The board's live part alone, fetched every few seconds by board.js."""
    board = board_service.board_for(current_user)
    rows, calls = _forms(board)
    return render_template("board/rows.html", board=board, row_forms=rows, call_forms=calls)


@bp.route("/sessions/<int:session_id>/vitals", methods=["POST"])
def record_vitals(session_id: int):
    """Record a vitals reading: 400 with field messages when a value is implausible."""
    session = board_scope.get_board_session(current_user, session_id)
    form = VitalsForm()
    if form.validate_on_submit():
        try:
            board_actions.record_vitals(
                current_user,
                session.id,
                kind=form.kind.data,
                values=form.values(),
                note=form.note.data,
            )
        except Invalid as error:
            attach_errors(form, error)
        except Conflict as error:
            return _board_page(409, page_error=f"{session.patient.name}: {error.message}")
        else:
            label = KINDS.get(form.kind.data, "Vitals")
            flash(f"{label} vitals recorded for {session.patient.name}.", "info")
            return _back_to(session.id)
    return _board_page(400, failed={("vitals", session.id): form})


@bp.route("/sessions/<int:session_id>/checks", methods=["POST"])
def record_check(session_id: int):
    """Log a monitoring check now: sedation, dissociation, breathing and/or a note."""
    session = board_scope.get_board_session(current_user, session_id)
    form = CheckForm()
    if form.validate_on_submit():
        try:
            board_actions.record_check(
                current_user, session.id, form.note.data, values=form.values()
            )
        except Invalid as error:
            attach_errors(form, error)
        except Conflict as error:
            return _board_page(409, page_error=f"{session.patient.name}: {error.message}")
        else:
            flash(f"Monitoring check logged for {session.patient.name}.", "info")
            return _back_to(session.id)
    return _board_page(400, failed={("check", session.id): form})


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
def acknowledge_alert(alert_id: int):
    """'I am on my way': the call stays on the board, acknowledged, until resolved."""
    board_actions.acknowledge_call(current_user, alert_id)
    return redirect(url_for("board.index", _anchor=f"call-{alert_id}"))


@bp.route("/alerts/<int:alert_id>/resolve", methods=["POST"])
def resolve_alert(alert_id: int):
    """Close a call with a note on what was done (400 without one)."""
    form = ResolveCallForm()
    if form.validate_on_submit():
        try:
            alert = board_actions.resolve_call(current_user, alert_id, form.note.data)
        except Invalid as error:
            attach_errors(form, error)
        else:
            flash(f"Call from {alert.patient.name} resolved.", "info")
            return redirect(url_for("board.index"))
    board_scope.get_call_for(current_user, alert_id)  # 404 before showing the form again
    return _board_page(400, failed={("resolve", alert_id): form})


@bp.route("/sessions/<int:session_id>/summary")
def summary(session_id: int):
    """A printable record of one session of the clinic: phases, vitals, checks, calls."""
    return render_template(
        "board/summary.html", summary=board_summary.summary_for(current_user, session_id)
    )
