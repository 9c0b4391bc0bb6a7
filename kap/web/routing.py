"""Ids in URLs stay within what the database's integer columns hold."""

from __future__ import annotations

from flask import Flask, abort

from kap.models.base import MAX_ID


def init_app(app: Flask) -> None:
    """An id larger than any row can have is simply not found (not a database overflow)."""

    @app.url_value_preprocessor
    def ids_within_range(endpoint: str | None, values: dict | None) -> None:
        if values and any(isinstance(v, int) and v > MAX_ID for v in values.values()):
            abort(404)
