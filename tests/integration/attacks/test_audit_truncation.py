"""Rows cut off the end of the audit log are detected against a head kept outside the
database (issue 13, finding 10; SECURITY.md used to admit this could not be detected)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import delete, func, select

from kap.extensions import db
from kap.models import AuditEvent
from kap.services import audit


@pytest.fixture
def logged(app, client, auth, people):
    """A log with a few rows in it: three sign-ins, each audited."""
    for email in ("patient@demo.test", "therapist@demo.test", "admin@demo.test"):
        auth.login(email)
        auth.logout()


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def test_anchor_is_printed_and_logged(app, logged, caplog):
    """`flask audit-anchor` prints ID:HMAC of the newest row and writes it to the app log."""
    with caplog.at_level(logging.INFO, logger="kap.audit"):
        result = _cli(app, "audit-anchor")
    anchor = result.output.strip()
    with app.app_context():
        newest = db.session.scalar(select(func.max(AuditEvent.id)))
    assert anchor.startswith(f"{newest}:") and len(anchor.split(":")[1]) == 64
    assert f"audit chain head {anchor}" in caplog.text


def test_cutting_rows_off_the_end_fails_verification_against_the_anchor(app, logged):
    """The chain alone still verifies after its newest rows are deleted; with the anchor
    taken before, audit-verify fails and says rows were cut."""
    anchor = _cli(app, "audit-anchor").output.strip()
    assert _cli(app, "audit-verify", "--anchor", anchor).exit_code == 0
    with app.app_context():
        newest = db.session.scalar(select(func.max(AuditEvent.id)))
        db.session.execute(delete(AuditEvent).where(AuditEvent.id >= newest - 2))
        db.session.commit()
        assert list(audit.verify_chain()) == []  # what could not be seen before
    result = _cli(app, "audit-verify", "--anchor", anchor)
    assert result.exit_code == 1
    assert "rows were cut off the end of the log" in result.output


def test_later_rows_do_not_break_an_earlier_anchor(app, client, auth, logged):
    """New events after the anchor leave it valid: the anchored row is still there."""
    anchor = _cli(app, "audit-anchor").output.strip()
    auth.login("patient@demo.test")
    result = _cli(app, "audit-verify", "--anchor", anchor)
    assert result.exit_code == 0
    assert "It reaches the anchor." in result.output


def test_a_malformed_anchor_is_explained(app, people):
    """A mistyped anchor is refused with the expected form."""
    result = _cli(app, "audit-verify", "--anchor", "yesterday")
    assert result.exit_code == 1
    assert "ID:HMAC" in result.output
