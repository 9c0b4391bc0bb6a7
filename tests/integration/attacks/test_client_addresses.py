"""Behind the TLS proxy, each client keeps its own address (issue 13, finding 1).

Without ProxyFix every request seemed to come from the proxy: 50 failed sign-ins by anyone
locked everyone out, and every audit row recorded the proxy. X-Forwarded-For is believed for
exactly KAP_TRUSTED_PROXIES hops, and never by default (a client could write it itself).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kap.config import TestConfig
from kap.extensions import db
from kap.models import AuditEvent, AuthSession

PROXY = "10.0.0.7"


@pytest.fixture
def one_trusted_proxy(monkeypatch):
    """The app is built behind one trusted proxy (KAP_TRUSTED_PROXIES=1)."""
    monkeypatch.setattr(TestConfig, "TRUSTED_PROXIES", 1)


def _fail_sign_in(client, forwarded_for: str | None, remote: str = PROXY):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post(
        "/api/v1/session",
        json={"email": "patient@demo.test", "password": "not-the-password"},
        headers=headers,
        environ_base={"REMOTE_ADDR": remote},
    )


def _last_failure_address(app) -> str:
    with app.app_context():
        return db.session.scalar(
            select(AuditEvent.ip_address)
            .where(AuditEvent.action == "signin.failure")
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )


def test_forged_forwarded_for_is_ignored_without_a_trusted_proxy(app, client, people):
    """By default the header is the client's own words: the audit keeps the real peer."""
    assert _fail_sign_in(client, "203.0.113.99", remote="198.51.100.4").status_code == 401
    assert _last_failure_address(app) == "198.51.100.4"


def test_one_trusted_hop_gives_the_address_the_proxy_saw(one_trusted_proxy, app, client, people):
    """With one proxy, the last X-Forwarded-For entry (the one it appended) is the client;
    an entry the client forged in front of it is ignored."""
    assert _fail_sign_in(client, "6.6.6.6, 203.0.113.7").status_code == 401
    assert _last_failure_address(app) == "203.0.113.7"


def test_session_rows_record_the_client_behind_the_proxy(one_trusted_proxy, app, client, people):
    """The signed-in session's row names the client, not the proxy."""
    response = client.post(
        "/api/v1/session",
        json={"email": "patient@demo.test", "password": "demo-password"},
        headers={"X-Forwarded-For": "203.0.113.8"},
        environ_base={"REMOTE_ADDR": PROXY},
    )
    assert response.status_code == 200
    with app.app_context():
        addresses = set(db.session.scalars(select(AuthSession.ip_address)))
    assert addresses == {"203.0.113.8"}


def test_one_client_behind_the_proxy_cannot_lock_out_another(
    one_trusted_proxy, app, client, people
):
    """Fifty failures from one client leave another client's sign-in through the same proxy
    working (before, the proxy's address was everyone's, and everyone got 429)."""
    for attempt in range(50):
        client.post(
            "/api/v1/session",
            json={"email": f"nobody{attempt}@demo.test", "password": "x"},
            headers={"X-Forwarded-For": "203.0.113.66"},
            environ_base={"REMOTE_ADDR": PROXY},
        )
    blocked = client.post(
        "/api/v1/session",
        json={"email": "nobody@demo.test", "password": "x"},
        headers={"X-Forwarded-For": "203.0.113.66"},
        environ_base={"REMOTE_ADDR": PROXY},
    )
    assert blocked.status_code == 429
    other = client.post(
        "/api/v1/session",
        json={"email": "therapist@demo.test", "password": "demo-password"},
        headers={"X-Forwarded-For": "203.0.113.67"},
        environ_base={"REMOTE_ADDR": PROXY},
    )
    assert other.status_code == 200


def test_links_carry_the_scheme_and_port_the_proxy_was_reached_on(
    one_trusted_proxy, api_as, people
):
    """Behind nginx on port 8443, url_for(..., _external=True) links (the calendar feed) are
    https on 8443: the proxy's X-Forwarded-Proto and -Port are believed for its one hop."""
    patient = api_as("patient@demo.test")
    response = patient.get(
        "/api/v1/me/calendar",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Port": "8443"},
        environ_base={"REMOTE_ADDR": PROXY},
    )
    assert response.status_code == 200
    assert response.json["url"].startswith("https://localhost:8443/")


def test_forwarded_port_is_ignored_without_a_trusted_proxy(api_as, people):
    """By default a client's X-Forwarded-Port changes nothing."""
    patient = api_as("patient@demo.test")
    response = patient.get("/api/v1/me/calendar", headers={"X-Forwarded-Port": "8443"})
    assert response.json["url"].startswith("http://localhost/")


def test_proxy_count_must_be_a_small_whole_number(monkeypatch):
    """A mistyped KAP_TRUSTED_PROXIES stops start-up with a clear message."""
    from kap.config import _proxy_count

    assert _proxy_count("2") == 2
    for bad in ("-1", "one", "99"):
        with pytest.raises(RuntimeError, match="KAP_TRUSTED_PROXIES"):
            _proxy_count(bad)
