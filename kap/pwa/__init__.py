"""The installable, offline-first app: service worker, web app manifest and offline pages."""

from flask import Blueprint

bp = Blueprint("pwa", __name__)

from kap.pwa import views  # noqa: E402,F401
