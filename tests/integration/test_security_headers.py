"""Security headers and cookie flags on every kind of response."""

import pytest

from kap import create_app
from kap.config import ProductionConfig


@pytest.mark.parametrize(
    "path", ["/signin", "/healthz", "/api/v1/me", "/static/icons/icon.svg", "/no-such-page"]
)
def test_every_response_carries_the_security_headers(client, path):
    """CSP without inline script, nosniff, referrer, permissions and framing rules everywhere."""
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert "screen-wake-lock=(self)" in headers["Permissions-Policy"]


@pytest.mark.parametrize("path", ["/static/css/app.css", "/static/js/pages/session-mode.js"])
def test_scripts_and_stylesheets_carry_only_what_applies_to_a_subresource(client, path):
    """A script or stylesheet is never a document: nosniff, and none of the policies that
    govern a page (the page's own apply), as nginx serves them in production."""
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    for document_only in (
        "Content-Security-Policy",
        "Permissions-Policy",
        "X-Frame-Options",
        "Cross-Origin-Opener-Policy",
        "Cross-Origin-Resource-Policy",
        "Referrer-Policy",
        "Strict-Transport-Security",
    ):
        assert document_only not in headers


def test_the_service_worker_script_keeps_its_content_security_policy(client):
    """/sw.js is a script whose own CSP governs the worker: it keeps the full set."""
    headers = client.get("/sw.js").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_signed_in_pages_are_not_stored_but_static_files_are_cacheable(client, auth, people):
    """Signed-in responses say private, no-store; static files do not."""
    auth.login("patient@demo.test")
    assert client.get("/patient/").headers["Cache-Control"] == "private, no-store"
    assert client.get("/api/v1/me").headers["Cache-Control"] == "private, no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_session_cookie_is_httponly_and_samesite_lax(client, people, auth):
    """The session cookie cannot be read by scripts and is not sent on cross-site posts."""
    response = auth.login("patient@demo.test")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development runs on http://127.0.0.1


def test_production_adds_hsts_and_secure_cookies(monkeypatch):
    """In production, HSTS is sent and the session cookie is Secure."""
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 48)
    monkeypatch.setattr(ProductionConfig, "AUDIT_KEY", "y" * 48)
    monkeypatch.setattr(ProductionConfig, "DATA_KEYS", "k1:" + "A" * 43 + "=")
    monkeypatch.setattr(ProductionConfig, "SQLALCHEMY_DATABASE_URI", "sqlite://")
    # A production app in a test process: no audit-head write when the test run exits.
    monkeypatch.setattr(ProductionConfig, "AUDIT_ANCHOR_AT_EXIT", False)
    app = create_app(ProductionConfig())
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/signin")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
