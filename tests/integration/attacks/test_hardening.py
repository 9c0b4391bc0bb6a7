"""Smaller hardening from the review (issue 13, finding 10): the cookie prefix, the server's
version, the database file's permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import requests

from kap.config import ProductionConfig, TestConfig


def test_production_names_its_cookie_with_the_host_prefix():
    """__Host-: the browser keeps it only if Secure, for '/', from this exact host."""
    assert ProductionConfig.SESSION_COOKIE_NAME == "__Host-kap_session"
    assert ProductionConfig.SESSION_COOKIE_SECURE is True


def test_host_prefixed_cookies_meet_the_prefix_rules(monkeypatch, people):
    """Signed in over HTTPS with the production cookie settings, both cookies are Secure,
    Path=/ and carry no Domain (else browsers drop a __Host- cookie)."""
    from kap import create_app
    from tests.database import seed_demo_database

    monkeypatch.setattr(TestConfig, "SESSION_COOKIE_NAME", "__Host-kap_session")
    monkeypatch.setattr(TestConfig, "SESSION_COOKIE_SECURE", True)
    app = create_app(TestConfig())
    with app.app_context():
        from kap.extensions import db

        db.create_all()
        seed_demo_database()
    client = app.test_client()
    page = client.get("/signin", base_url="https://localhost")
    anonymous = page.headers["Set-Cookie"]
    response = client.post(
        "/api/v1/session",
        json={"email": "patient@demo.test", "password": "demo-password"},
        base_url="https://localhost",
    )
    cookies = [anonymous, *response.headers.getlist("Set-Cookie")]
    named = [c for c in cookies if c.startswith("__Host-kap_session")]
    assert {c.split("=", 1)[0] for c in named} >= {"__Host-kap_session", "__Host-kap_session_anon"}
    for cookie in named:
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie


def test_the_production_server_announces_no_version(gunicorn_server):
    """gunicorn names itself without a version, and the app adds no X-Powered-By. (The dev
    server of `make run`, on 127.0.0.1 only, still names Werkzeug's and Python's.)"""
    headers = requests.get(f"{gunicorn_server.url}/signin", timeout=10).headers
    assert headers["Server"] == "gunicorn"
    assert "X-Powered-By" not in headers


def test_the_database_file_is_readable_by_its_owner_only(dev_server):
    """The SQLite file (and its WAL files) hold patient data: mode 0600."""
    database = Path(dev_server.database_url.removeprefix("sqlite:///"))
    for file in (database, Path(f"{database}-wal")):
        if file.exists():
            assert stat.S_IMODE(os.stat(file).st_mode) & 0o077 == 0, oct(file.stat().st_mode)
