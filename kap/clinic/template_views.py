"""Session template list and editor."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from kap.clinic import bp
from kap.clinic.template_editor import apply_list_action, error_summary
from kap.clinic.template_form import draft_from_form
from kap.models import PROMPT_FALLBACK_LABELS, ROUTE_LABELS, TrackKind
from kap.services.clinic import audio as media
from kap.services.clinic import template_defaults as defaults
from kap.services.clinic.reminder_choices import REMINDER_CHOICES
from kap.services.clinic.templates import (
    SCHEDULES,
    ChecklistRow,
    CueRow,
    TemplateDraft,
    TrackRow,
    archive_template,
    clinic_audio_files,
    create_template,
    draft_from_version,
    get_template_for,
    music_files,
    new_template_draft,
    restore_template,
    save_template,
    sessions_using,
    templates_of_clinic,
)
from kap.services.errors import Conflict, DomainError, Invalid
from kap.services.measures.library import instruments_for
from kap.services.sessions.playlist import format_duration, parse_duration, playlist_length
from kap.web.forms import CsrfOnlyForm


@bp.route("/templates")
def templates():
    """Every template of the clinic, archived ones last."""
    return render_template(
        "clinic/templates.html",
        templates=templates_of_clinic(current_user, include_archived=True),
        form=CsrfOnlyForm(),
    )


def _summary(draft: TemplateDraft, audio_files) -> dict:
    """Lengths shown above the editor (best effort while the draft may be invalid)."""
    durations = []
    for track in draft.tracks:
        if track.kind == TrackKind.UPLOAD and track.audio_file_id in audio_files:
            durations.append(audio_files[track.audio_file_id].duration_seconds)
        else:
            durations.append(float(parse_duration(track.duration) or 0))
    crossfade = int(draft.crossfade_seconds) if draft.crossfade_seconds.isdigit() else 0
    return {"playlist": format_duration(playlist_length(durations, crossfade))}


def _instrument_choices(draft: TemplateDraft) -> dict[str, list]:
    """Per schedule, the clinic's questionnaires: the chosen ones first, in their order (the
    order patients are asked them), then the rest."""
    offered = instruments_for(current_user.clinic_id)
    choices = {}
    for name in SCHEDULES:
        chosen = getattr(draft, name)
        choices[name] = sorted(
            offered, key=lambda spec: chosen.index(spec.code) if spec.code in chosen else 99
        )
    return choices


#: The empty rows the editor's script clones when a row is added (one per list).
EMPTY_ROWS = {"checklist": ChecklistRow(), "track": TrackRow(), "cue": CueRow()}


def _render_editor(draft, *, template=None, errors=None, status=200, form_errors=()):
    audio_files = clinic_audio_files(current_user.clinic_id)
    errors = errors or {}
    version = template.current_version if template else None
    return (
        render_template(
            "clinic/template_edit.html",
            draft=draft,
            template=template,
            version=version,
            in_use=sessions_using(version) if version else 0,
            errors=errors,
            error_summary=error_summary(errors),
            form_errors=list(form_errors),
            empty=EMPTY_ROWS,
            prompt_fallback_labels=PROMPT_FALLBACK_LABELS,
            fallback=draft.prompt_fallback,
            recordings_url=url_for("clinic.upload_recording"),
            # Each cue's recording by id (played back from main.audio).
            recordings=audio_files,
            form=CsrfOnlyForm(),
            audio_files=music_files(audio_files),
            routes=ROUTE_LABELS,
            keys=defaults.SOUNDSCAPE_KEYS,
            textures=defaults.TEXTURE_LABELS,
            summary=_summary(draft, audio_files),
            instruments=_instrument_choices(draft),
            reminder_choices=REMINDER_CHOICES,
        ),
        status,
    )


def _take_upload(draft: TemplateDraft) -> DomainError | None:
    """Store a file posted with the editor and add it to the playlist."""
    upload = request.files.get("upload")
    if upload is None or not upload.filename:
        return None
    try:
        audio = media.store_upload(current_user, upload.stream, upload.filename)
    except DomainError as error:
        return error
    draft.tracks.append(
        TrackRow(
            title=media.title_from_filename(upload.filename),
            kind=TrackKind.UPLOAD,
            audio_file_id=audio.id,
            duration=format_duration(audio.duration_seconds),
        )
    )
    flash(
        f"Uploaded “{audio.original_name}” ({format_duration(audio.duration_seconds)}) and "
        "added it to the playlist. Save to keep the change.",
        "info",
    )
    return None


def _handle_editor_post(template=None):
    """Apply a list action or save; re-render with everything typed when anything is wrong."""
    if not CsrfOnlyForm().validate_on_submit():
        return _render_editor(
            draft_from_form(request.form),
            template=template,
            status=400,
            form_errors=["This form expired. Check your changes and save again."],
        )
    draft = draft_from_form(request.form)
    upload_error = _take_upload(draft)
    if upload_error is not None:
        errors = {"upload": upload_error.fields.get("file", [upload_error.message])}
        return _render_editor(draft, template=template, errors=errors, status=upload_error.status)
    action = request.form.get("action", "save")
    if action == "add-upload":  # the file (if any) was added above; show the result
        return _render_editor(draft, template=template)
    if action != "save":
        if not apply_list_action(draft, action):
            return _render_editor(
                draft,
                template=template,
                status=400,
                form_errors=["That button did not work; please try again."],
            )
        return _render_editor(draft, template=template)
    try:
        if template is None:
            template = create_template(current_user, draft)
            flash(f"Template “{template.name}” created.", "info")
        else:
            result = save_template(
                current_user, template, draft, int(request.form.get("revision") or 0)
            )
            if result.new_version:
                flash(
                    f"Saved as version {result.version.number}. The {result.sessions_kept} "
                    "session(s) already scheduled keep the previous version.",
                    "info",
                )
            else:
                flash("Template saved.", "info")
    except Invalid as error:
        return _render_editor(
            draft, template=template, errors=error.fields, status=400, form_errors=[error.message]
        )
    except Conflict as error:
        return _render_editor(draft, template=template, status=409, form_errors=[error.message])
    return redirect(url_for("clinic.edit_template", template_id=template.id))


@bp.route("/templates/new", methods=["GET", "POST"])
def new_template():
    """Start a template from the clinic's defaults."""
    if request.method == "POST":
        return _handle_editor_post()
    return _render_editor(new_template_draft(current_user.clinic, request.args.get("route", "")))


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
def edit_template(template_id: int):
    """Edit a template; a version in use is kept and a new one made."""
    template = get_template_for(current_user, template_id)
    if request.method == "POST":
        return _handle_editor_post(template)
    return _render_editor(draft_from_version(template, template.current_version), template=template)


@bp.route("/templates/<int:template_id>/archive", methods=["POST"])
def archive(template_id: int):
    """Archive a template: no new sessions from it; past sessions keep it."""
    template = get_template_for(current_user, template_id)
    if CsrfOnlyForm().validate_on_submit():
        archive_template(current_user, template)
        flash(f"“{template.name}” archived. Sessions already scheduled keep it.", "info")
    return redirect(url_for("clinic.templates"))


@bp.route("/templates/<int:template_id>/restore", methods=["POST"])
def restore(template_id: int):
    """Bring an archived template back."""
    template = get_template_for(current_user, template_id)
    if CsrfOnlyForm().validate_on_submit():
        try:
            restore_template(current_user, template)
            flash(f"“{template.name}” restored.", "info")
        except Conflict as error:
            flash(error.message, "error")
    return redirect(url_for("clinic.templates"))
