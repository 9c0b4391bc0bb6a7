"""Liveness and readiness for the load balancer, metrics for Prometheus, the favicon, and
audio for signed-in users."""

import hmac

from flask import Response, abort, current_app, jsonify, redirect, request, url_for
from flask_login import current_user, login_required

from kap.main import bp
from kap.metrics import CONTENT_TYPE, ScrapeTimeGauge, exposition
from kap.services.alerts import open_call_staff_by_clinic
from kap.services.clinic.audio import get_audio_for
from kap.web.health import database_answers, limit_storage_answers, worker_heartbeat
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
    the sign-in attempt counters: without it nobody can sign in), 503 naming what does not.

    It also reports the job worker's heartbeat (ok, stale or missing, and its age in
    seconds); in production a stale or missing worker fails it too: reminders stop without one.
    """
    worker, worker_age = worker_heartbeat()
    checks = {
        "database": "ok" if database_answers() else "unavailable",
        "rate_limit_storage": "ok" if limit_storage_answers() else "unavailable",
        "worker": worker,
    }
    needed = [checks["database"], checks["rate_limit_storage"]]
    if current_app.config["READY_NEEDS_WORKER"]:
        needed.append(worker)
    ready = all(state == "ok" for state in needed)
    return jsonify(
        status="ok" if ready else "unavailable", checks=checks, worker_age_seconds=worker_age
    ), (200 if ready else 503)


@bp.route("/metrics")
def metrics():
    """Prometheus metrics (text format) for a scraper holding KAP_METRICS_TOKEN as a bearer
    token; 404 to everyone else, and to everyone when no token is configured."""
    token = current_app.config.get("METRICS_TOKEN")
    sent = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        abort(404)
    open_calls = ScrapeTimeGauge(
        "kap_open_call_staff_alerts",
        "Call staff alerts not yet resolved, by clinic id (read from the database at scrape).",
        "clinic_id",
        open_call_staff_by_clinic,
    )
    response = Response(exposition([open_calls]), mimetype=None)
    response.headers["Content-Type"] = CONTENT_TYPE
    response.headers["Cache-Control"] = "no-store"
    return response


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
