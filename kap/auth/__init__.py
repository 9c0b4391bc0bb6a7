"""Signing in and out, for people (forms) — the API has its own endpoints."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from kap.auth import views  # noqa: E402,F401
