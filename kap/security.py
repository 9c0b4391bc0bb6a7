"""Response headers that keep signed-in pages out of caches (more headers come with issue 7)."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user


def init_app(app: Flask) -> None:
    """Register the after-request hook."""

    @app.after_request
    def no_store_when_signed_in(response: Response) -> Response:
        # Patient data must never sit in a shared or back-button cache (DESIGN §6). Static
        # files carry no patient data and stay cacheable (and need no user lookup).
        if request.endpoint != "static" and current_user.is_authenticated:
            response.headers["Cache-Control"] = "private, no-store"
        return response
