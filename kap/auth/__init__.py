"""Signing in and out and account security, for people (forms) — the API has its own endpoints."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from kap.auth import security_views, views  # noqa: E402,F401
