"""The app's own small routes: liveness and readiness, the favicon, and uploaded audio."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from kap.main import views  # noqa: E402,F401  (routes register on import)
