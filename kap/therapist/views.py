"""Therapist workspace: dashboard, a patient's timeline, shared entries, notes, alerts."""

from __future__ import annotations

from functools import partial

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from kap.models.base import utcnow
from kap.services.alert_details import alert_details
from kap.services.alerts import acknowledge_alert, open_alerts, resolve_alert
from kap.services.board.administrations import ROUTE_WORDS, administrations_of, dose_text
from kap.services.board.scope import observations_of
from kap.services.errors import Conflict, Invalid
from kap.services.journal import entries as journal
from kap.services.journal import reads
from kap.services.journal.clinical_notes import add_note, notes_about
from kap.services.measures.checkins import checkins_due_for, measures_overview
from kap.services.measures.schedule import REASON_LABELS
from kap.services.measures.signals import rules_in_words, signals_for
from kap.services.people.access import get_patient_for, read_patient
from kap.services.people.workspace import dashboard_rows
from kap.services.screening.consent import signatures_of
from kap.services.screening.intake import STATUS_LABELS, intake_status, intakes_awaiting
from kap.services.sessions.queries import timeline_sessions
from kap.therapist import bp
from kap.therapist.forms import CommentForm, NoteForm, ResolveForm
from kap.web.forms import CsrfOnlyForm
from kap.web.pagination import page_from
from kap.web.redirects import safe_next_path


@bp.route("/")
def dashboard():
    """Assigned patients, open alerts first, then unread entries, then the soonest session."""
    alerts = open_alerts(current_user)
    rows = dashboard_rows(current_user, alerts=alerts)
    return render_template(
        "therapist/dashboard.html",
        rows=rows,
        unread_total=sum(row.unread_entries for row in rows),
        alerts=alerts,
        alert_details=alert_details(current_user, alerts) if alerts else {},
        intakes=intakes_awaiting(current_user),
        form=CsrfOnlyForm(),
        resolve_form=ResolveForm(formdata=None),
    )


ENTRIES_PER_PAGE = 20  # shared entries on a timeline page, newest first


@bp.route("/patients/<int:patient_id>")
def patient(patient_id: int):
    """A patient's timeline: sessions, shared entries, measures, notes (an audited read)."""
    person = read_patient(current_user, patient_id)
    measures = measures_overview(current_user, person.id)
    entries_page = page_from(
        partial(journal.read_shared_entries, current_user, person.id), ENTRIES_PER_PAGE
    )
    entries = entries_page.items
    sessions = timeline_sessions(current_user, person.id)
    alerts = open_alerts(current_user, person.id)
    now = utcnow()
    return render_template(
        "therapist/patient.html",
        patient=person,
        sessions=sessions,
        observations=observations_of([s.id for s in sessions]),
        administrations=administrations_of([s.id for s in sessions]),
        route_words=ROUTE_WORDS,
        dose_text=dose_text,
        entries=entries,
        entries_page=entries_page,
        read_ids=journal.read_entry_ids(current_user, [e.id for e in entries]),
        unread_here=reads.unread_count(current_user, person.id),
        notes=notes_about(current_user, person.id),
        note_form=NoteForm(formdata=None),
        alerts=alerts,
        alert_details=alert_details(current_user, alerts) if alerts else {},
        form=CsrfOnlyForm(),
        resolve_form=ResolveForm(formdata=None),
        consent=signatures_of(current_user, person.id).status,
        intake_status=intake_status(person),
        intake_labels=STATUS_LABELS,
        charts=measures.charts,
        unscored=measures.unscored,
        now=now,
        due=checkins_due_for(person.clinic, [person.id], now)[person.id],
        reason_labels=REASON_LABELS,
        signals=signals_for([person.id], now)[person.id],
        signal_rules=rules_in_words(),
    )


@bp.route("/entries/<int:entry_id>")
def entry(entry_id: int):
    """One shared entry with its thread; opening it marks it read and is audited."""
    item = journal.read_entry(current_user, entry_id)
    return render_template(
        "therapist/entry.html",
        entry=item,
        patient=get_patient_for(current_user, item.patient_id),
        intention=reads.read_intention_of(current_user, item),
        unread_left=reads.unread_count(current_user),
        comment_form=CommentForm(formdata=None),
        form=CsrfOnlyForm(),
    )


@bp.route("/entries/<int:entry_id>/read", methods=["POST"])
def mark_entry_read(entry_id: int):
    """Mark a shared entry read without opening it (from the patient's list)."""
    if CsrfOnlyForm().validate_on_submit():
        item = reads.mark_entry_read(current_user, entry_id)
        flash("Marked read.", "info")
        return redirect(_back_to_list(item.patient_id, entry_id))
    return redirect(url_for("therapist.dashboard"))


@bp.route("/entries/<int:entry_id>/unread", methods=["POST"])
def mark_entry_unread(entry_id: int):
    """Put a shared entry back among my unread ones. Back to the list, not to the entry:
    opening the entry again would mark it read at once."""
    if CsrfOnlyForm().validate_on_submit():
        item = reads.mark_entry_unread(current_user, entry_id)
        flash("Marked unread. It stays unread until you open it.", "info")
        return redirect(_back_to_list(item.patient_id, entry_id))
    return redirect(url_for("therapist.dashboard"))


def _back_to_list(patient_id: int, entry_id: int) -> str:
    """The page the button was on (a page of the patient's list), at the entry's line."""
    back = (safe_next_path(request.form.get("back")) or "").partition("#")[0]
    return (back or url_for("therapist.patient", patient_id=patient_id)) + f"#entry-{entry_id}"


@bp.route("/entries/next-unread")
def next_unread():
    """Open the next unread shared entry: the patient's own first (``?patient=``), then the
    oldest unread of my other patients; the dashboard when all are read."""
    patient_id = request.args.get("patient", type=int)
    entry_id = reads.next_unread_entry_id(current_user, patient_id)
    if entry_id is None:
        flash("No unread shared entries: you have read everything your patients shared.", "info")
        return redirect(url_for("therapist.dashboard"))
    return redirect(url_for("therapist.entry", entry_id=entry_id))


@bp.route("/entries/<int:entry_id>/comments", methods=["POST"])
def comment(entry_id: int):
    """Comment on a shared entry; the patient sees it under their entry."""
    form = CommentForm()
    if form.validate_on_submit():
        try:
            journal.add_comment(current_user, entry_id, form.body.data or "")  # audited there
        except Invalid as error:
            flash(error.message, "error")
        else:
            flash("Comment added. The patient will see it under their entry.", "info")
    return redirect(url_for("therapist.entry", entry_id=entry_id) + "#thread")


@bp.route("/patients/<int:patient_id>/notes", methods=["POST"])
def add_clinical_note(patient_id: int):
    """Write a private clinical note."""
    form = NoteForm()
    if form.validate_on_submit():
        try:
            add_note(current_user, patient_id, form.body.data or "")
        except Invalid as error:
            flash(error.message, "error")
        else:
            flash("Note saved. Only the care team can read it.", "info")
    return redirect(url_for("therapist.patient", patient_id=patient_id) + "#notes")


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
def acknowledge(alert_id: int):
    """I have seen this alert and I am acting on it."""
    if CsrfOnlyForm().validate_on_submit():
        alert = acknowledge_alert(current_user, alert_id)
        flash(f"Alert acknowledged for {alert.patient.name}.", "info")
    return redirect(safe_next_path(request.form.get("back")) or url_for("therapist.dashboard"))


@bp.route("/alerts/<int:alert_id>/resolve", methods=["POST"])
def resolve(alert_id: int):
    """Close an alert with a note on what was done."""
    form = ResolveForm()
    if form.validate_on_submit():
        try:
            alert = resolve_alert(current_user, alert_id, form.note.data or "")
        except (Invalid, Conflict) as error:
            flash(error.message, "error")
        else:
            flash(f"Alert for {alert.patient.name} resolved.", "info")
    return redirect(url_for("therapist.dashboard"))
