"""With Redis down, sign-in fails closed with a clear 503, and /readyz says why (issue 13,
finding 6). Before, every sign-in answered 500 while /healthz said ok."""

from __future__ import annotations

import pytest

from kap.config import TestConfig
from tests.formscrape import form_data

CLOSED_PORT_REDIS = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


@pytest.fixture
def redis_down(monkeypatch):
    """The attempt counters live in a Redis that does not answer."""
    monkeypatch.setattr(TestConfig, "RATELIMIT_STORAGE_URI", CLOSED_PORT_REDIS)


def test_api_sign_in_answers_503_when_the_counters_cannot_be_reached(redis_down, client, people):
    """No password is checked uncounted: 503 in the API error format, with a message."""
    response = client.post(
        "/api/v1/session", json={"email": "patient@demo.test", "password": "demo-password"}
    )
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "unavailable"
    assert "try again" in error["message"]
    assert client.get_cookie("kap_session") is None


def test_sign_in_page_keeps_the_email_and_says_why(redis_down, client, people):
    """The form re-renders with the message and what was typed (but never the password)."""
    data = form_data(client.get("/signin").text, "/signin")
    data.update(email="patient@demo.test", password="demo-password")
    response = client.post("/signin", data=data)
    assert response.status_code == 503
    assert "Signing in is unavailable for a moment" in response.text
    assert 'value="patient@demo.test"' in response.text
    assert "demo-password" not in response.text


def test_readyz_reports_the_counter_storage(redis_down, client, people):
    """/healthz is about the database alone; /readyz names the storage that is down."""
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "rate_limit_storage": "unavailable", "worker": "missing"},
        "worker_age_seconds": None,  # no worker in this test (reported, not required here)
    }


def test_readyz_is_ok_when_everything_answers(client, people):
    """With memory counters and a database, the app is ready."""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"
