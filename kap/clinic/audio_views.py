"""The clinic's audio library: upload and list files."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kap.clinic import bp
from kap.services.clinic import audio as media
from kap.services.clinic.templates import clinic_audio_files, music_files
from kap.services.errors import DomainError
from kap.web.forms import CsrfOnlyForm


def _render_library(errors=None, status=200):
    # Newest first; recorded prompts live with their template, not in the music library.
    files = sorted(
        music_files(clinic_audio_files(current_user.clinic_id)),
        key=lambda a: a.created_at,
        reverse=True,
    )
    return render_template(
        "clinic/audio.html",
        files=files,
        form=CsrfOnlyForm(),
        errors=errors or [],
        max_size=media.megabytes(current_app.config["MAX_UPLOAD_BYTES"]),
        accepted=media.ACCEPTED,
    ), status


@bp.route("/audio", methods=["GET", "POST"])
def audio_library():
    """Uploaded tracks; a new upload is checked by its content, not its name."""
    if request.method == "GET":
        return _render_library()
    if not CsrfOnlyForm().validate_on_submit():
        return _render_library(["This form expired. Please choose the file again."], 400)
    upload = request.files.get("upload")
    if upload is None or not upload.filename:
        return _render_library(["Choose an audio file to upload."], 400)
    try:
        audio = media.store_upload(current_user, upload.stream, upload.filename)
    except DomainError as error:
        return _render_library(error.fields.get("file", [error.message]), error.status)
    flash(f"Uploaded “{audio.original_name}”.", "info")
    return redirect(url_for("clinic.audio_library"))
