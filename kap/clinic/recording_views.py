"""Prompt recordings from the template editor (JSON for its script)."""

from flask import jsonify, request, url_for
from flask_login import current_user

from kap.clinic import bp
from kap.services.clinic.recordings import store_recording
from kap.services.errors import DomainError


@bp.route("/templates/recordings", methods=["POST"])
def upload_recording():
    """Keep a recorded (or uploaded) prompt; the editor puts its id in the cue's row."""
    upload = request.files.get("audio")
    if upload is None:
        return _error(400, "invalid", "Choose or record a prompt first.", {"audio": ["Send one."]})
    try:
        audio = store_recording(current_user, upload.stream)
    except DomainError as error:
        return _error(error.status, error.code, error.message, error.fields)
    return jsonify(
        id=audio.id,
        duration_seconds=audio.duration_seconds,
        url=url_for("main.audio", audio_id=audio.id),
    ), 201


def _error(status: int, code: str, message: str, fields: dict[str, list[str]] | None):
    """The API's error shape (DESIGN §4): this answer is read by script, not shown as a page."""
    body: dict = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return jsonify(body), status
