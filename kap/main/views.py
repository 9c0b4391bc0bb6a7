"""Liveness and readiness for the load balancer, the favicon, and audio for signed-in users."""

from flask import jsonify, redirect, url_for
from flask_login import current_user, login_required

from kap.main import bp
from kap.services.clinic.audio import get_audio_for
from kap.web.health import database_answers, limit_storage_answers
from kap.web.media import media_response


@bp.route("/healthz")
def healthz():
    """200 when the database answers, 503 otherwise."""
    if not database_answers():
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    """200 when every shared part a request may need answers (the database, and the storage of
    the sign-in attempt counters: without it nobody can sign in), 503 naming what does not."""
    checks = {
        "database": "ok" if database_answers() else "unavailable",
        "rate_limit_storage": "ok" if limit_storage_answers() else "unavailable",
    }
    ready = all(state == "ok" for state in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), (200 if ready else 503)


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: send them to the app icon."""
    return redirect(url_for("static", filename="icons/icon.svg"), 301)


@bp.route("/media/audio/<int:audio_id>")
@login_required
def audio(audio_id: int):
    """An audio file of the viewer's clinic (404 for others'), seekable via HTTP ranges."""
    audio_file = get_audio_for(current_user, audio_id)
    # Range and If-None-Match support, so players can seek and revalidate.
    response = media_response(
        audio_file.storage_name, mimetype=audio_file.content_type, etag=audio_file.sha256
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response
