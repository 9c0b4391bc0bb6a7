"""Serving uploaded audio to signed-in users of the same clinic, with range requests."""

from flask import Blueprint, send_file
from flask_login import current_user, login_required

from kap.services.clinic.audio import audio_path, get_audio_for

bp = Blueprint("media", __name__, url_prefix="/media")


@bp.route("/audio/<int:audio_id>")
@login_required
def audio(audio_id: int):
    """An audio file of the viewer's clinic (404 for others'), seekable via HTTP ranges."""
    audio_file = get_audio_for(current_user, audio_id)
    response = send_file(
        audio_path(audio_file),
        mimetype=audio_file.content_type,
        conditional=True,  # Range and If-None-Match support, so players can seek
        etag=audio_file.sha256,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response
