"""Development-only helpers: the local mail sink and its page (registered only when
ENV_NAME is development, so no other profile has the route at all)."""

from flask import Blueprint

bp = Blueprint("dev", __name__, url_prefix="/dev")

from kap.dev import views  # noqa: E402,F401 - registers the routes
