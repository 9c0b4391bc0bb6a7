"""The patient's journal pages: list, write, edit, share, delete, reply."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from kap.models import SessionStatus
from kap.patient import bp
from kap.patient.forms import CommentForm, JournalEntryForm
from kap.services.errors import Conflict, Invalid
from kap.services.journal import entries as journal
from kap.services.journal.page import journal_page
from kap.services.people.care_teams import care_team_names, care_team_of
from kap.services.sessions.queries import visible_sessions
from kap.web.forms import CsrfOnlyForm, attach_errors


def _entry_fields(form: JournalEntryForm) -> dict:
    session_id = form.session_id.data
    return {
        "body": form.body.data or "",
        "mood": _mood(form),
        "shared": bool(form.shared.data),
        "session_id": int(session_id) if session_id and session_id.isdigit() else None,
    }


def _mood(form: JournalEntryForm) -> int | None:
    """The mood, or None when the slider was shown and "Note my mood" left unticked.

    A range input always sends a value, so the form says whether it counts; a post without
    the slider (an older page) is taken as it is.
    """
    if request.form.get("mood_field") == "range" and request.form.get("mood_given") != "y":
        return None
    return form.mood.data


#: A session an entry can be about: one that has begun (not a future or cancelled one).
STARTED = frozenset(
    {
        SessionStatus.SESSION,
        SessionStatus.DOWNTIME,
        SessionStatus.INTEGRATION,
        SessionStatus.COMPLETE,
    }
)


def _session_choices(keep: int | None) -> list:
    """Past sessions, newest first, plus the one an entry being edited is already about."""
    chosen = [s for s in visible_sessions(current_user) if s.status in STARTED or s.id == keep]
    return sorted(chosen, key=lambda s: s.scheduled_at, reverse=True)


ENTRIES_PER_PAGE = 20


def group_by_session(entries: list) -> list[tuple]:
    """(session, entries) pairs: each session once, in the order its newest entry comes.

    Entries about different sessions interleave in time (a note on last week's session
    written after today's); each session still gets one group, not one per run.
    """
    groups: dict[int | None, tuple] = {}
    for entry in entries:
        groups.setdefault(entry.session_id, (entry.session, []))[1].append(entry)
    return list(groups.values())


@bp.route("/journal")
def journal_list():
    """Entries newest first, 20 a page, grouped by session, each saying who can read it."""
    page = journal_page(current_user, ENTRIES_PER_PAGE)
    return render_template(
        "patient/journal.html",
        page=page,
        groups=group_by_session(page.items),
        care_team_names=care_team_names(current_user),
    )


def _render_form(form, entry=None, status=200):
    sessions = _session_choices(entry.session_id if entry else None)
    chosen = next((s for s in sessions if str(s.id) == (form.session_id.data or "")), None)
    if chosen is None:
        form.session_id.data = ""  # a future or unknown session is not offered
    return render_template(
        "patient/journal_form.html",
        form=form,
        entry=entry,
        care_team=care_team_of(current_user),
        sessions=sessions,
        prompts=list(chosen.template_version.integration_prompts or []) if chosen else [],
    ), status


@bp.route("/journal/new", methods=["GET", "POST"])
def new_entry():
    """Write an entry; private unless the patient ticks Share. Resubmitting creates it once."""
    form = JournalEntryForm()
    if request.method == "GET":
        form.client_id.data = str(uuid.uuid4())
        form.session_id.data = request.args.get("session_id", "")
        return _render_form(form)
    if form.validate_on_submit():
        try:
            entry, _created = journal.create_entry(
                current_user, form.client_id.data or "", _entry_fields(form)
            )
        except (Invalid, Conflict) as error:
            attach_errors(form, error)
        else:
            flash(_saved_message(entry.shared), "info")
            return redirect(url_for("patient.journal_list") + f"#entry-{entry.id}")
    return _render_form(form, status=400)


def _saved_message(shared: bool) -> str:
    if shared:
        return "Saved and shared with your care team."
    return "Saved. Only you can read it."


@bp.route("/journal/<int:entry_id>/edit", methods=["GET", "POST"])
def edit_entry(entry_id: int):
    """Edit text, mood or sharing; an edit made elsewhere meanwhile is kept as a copy."""
    entry = journal.get_entry_for(current_user, entry_id)
    form = JournalEntryForm(obj=entry) if request.method == "GET" else JournalEntryForm()
    if request.method == "GET":
        form.session_id.data = str(entry.session_id or "")
        return _render_form(form, entry)
    if form.validate_on_submit():
        base = request.form.get("base_revision", "")
        try:
            journal.update_entry(
                current_user, entry.id, _entry_fields(form), int(base) if base.isdigit() else None
            )
        except (Invalid, Conflict) as error:
            attach_errors(form, error)
        else:
            flash(_saved_message(bool(form.shared.data)), "info")
            return redirect(url_for("patient.journal_list") + f"#entry-{entry.id}")
    return _render_form(form, entry, 400)


@bp.route("/journal/<int:entry_id>/sharing", methods=["POST"])
def set_sharing(entry_id: int):
    """Share an entry with the care team, or stop sharing it (it disappears for them)."""
    if CsrfOnlyForm().validate_on_submit():
        shared = request.form.get("shared") == "y"
        journal.update_entry(current_user, entry_id, {"shared": shared})
        flash(
            "Shared with your care team." if shared else "No longer shared. Only you can read it.",
            "info",
        )
    return redirect(url_for("patient.journal_list") + f"#entry-{entry_id}")


@bp.route("/journal/<int:entry_id>/delete", methods=["GET", "POST"])
def delete_entry(entry_id: int):
    """Ask, then delete an entry and its comments for good."""
    entry = journal.get_entry_for(current_user, entry_id)
    form = CsrfOnlyForm()
    if request.method == "POST" and form.validate_on_submit():
        journal.delete_entry(current_user, entry.id)
        flash("Entry deleted.", "info")
        return redirect(url_for("patient.journal_list"))
    return render_template("patient/journal_delete.html", entry=entry, form=form)


@bp.route("/journal/<int:entry_id>/comments", methods=["POST"])
def reply(entry_id: int):
    """Reply under an entry (the care team sees replies on shared entries)."""
    form = CommentForm()
    if form.validate_on_submit():
        try:
            comment = journal.add_comment(current_user, entry_id, form.body.data or "")
        except Invalid as error:
            flash(error.message, "error")
        else:
            flash("Reply added." if comment.entry.shared else "Note added.", "info")
    return redirect(url_for("patient.journal_list") + f"#entry-{entry_id}")
