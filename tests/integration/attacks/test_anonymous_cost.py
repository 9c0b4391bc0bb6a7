"""An anonymous visitor costs no database row (issue 13, finding 3).

Before the fix every anonymous GET /signin wrote an auth_sessions row kept two hours: one
client wrote 226 rows a second, and 500,000 rows slowed every sign-in by ~90 ms because the
prune on the sign-in path scanned the table.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from kap.extensions import db
from kap.models import AuthSession
from kap.models.base import utcnow
from kap.services.auth.signin import PRUNE_BATCH, prune_expired_sessions
from tests.formscrape import form_data

VISITS = 10_000


def _rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuthSession))


def test_ten_thousand_anonymous_visits_add_no_session_rows(app, people):
    """10,000 sign-in pages for 10,000 cookie-less visitors: not one row."""
    before = _rows(app)
    for _ in range(VISITS):
        client = app.test_client()
        assert client.get("/signin").status_code == 200
    assert _rows(app) == before


def test_the_sign_in_form_works_from_the_anonymous_cookie_alone(app, people):
    """The CSRF token travels in the signed anonymous cookie, and the form still signs in."""
    client = app.test_client()
    page = client.get("/signin")
    assert client.get_cookie("kap_session_anon") is not None
    assert client.get_cookie("kap_session") is None
    data = form_data(page.text, "/signin")
    data.update(email="patient@demo.test", password="demo-password")
    assert client.post("/signin", data=data).status_code == 302
    assert client.get_cookie("kap_session") is not None
    assert _rows(app) == 1


def test_a_forged_anonymous_cookie_is_a_fresh_visitor(app, people):
    """A cookie not signed by the server is ignored: its CSRF token does not pass."""
    client = app.test_client()
    client.set_cookie("kap_session_anon", "eyJjc3JmX3Rva2VuIjoiZm9yZ2VkIn0.forged.signature")
    page = client.get("/signin")
    data = form_data(page.text, "/signin")
    data.update(email="patient@demo.test", password="demo-password")
    assert client.post("/signin", data=data).status_code == 302


def test_pruning_on_sign_in_is_bounded_and_uses_the_expiry(app, people):
    """The sign-in path removes at most one batch of expired rows; revoked rows expire at once."""
    now = utcnow()
    with app.app_context():
        db.session.add_all(
            AuthSession(id=f"{n:064d}", expires_at=now - timedelta(minutes=1), data={})
            for n in range(PRUNE_BATCH + 50)
        )
        db.session.commit()
        assert prune_expired_sessions() == PRUNE_BATCH
        assert prune_expired_sessions() == 50
        assert prune_expired_sessions() == 0


def test_sign_out_leaves_a_row_that_the_next_prune_removes(app, client, auth, people):
    """Signing out sets the row's expiry to now, so the bounded prune finds it by the index."""
    auth.login("patient@demo.test")
    auth.logout()
    with app.app_context():
        assert prune_expired_sessions() >= 1
    assert _rows(app) == 0
