"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register template helpers."""
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
