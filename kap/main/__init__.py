"""The app's own small routes: liveness and readiness, the favicon, uploaded audio, and the
private calendar feed."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from kap.main import calendar_feed, views  # noqa: E402,F401  (routes register on import)
