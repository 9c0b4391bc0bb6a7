"""The audit chain never forks when writers race (issue 13, finding 4).

Before the fix, 20 simultaneous failed sign-ins on SQLite left `flask audit-verify` reporting
seven rows "changed" that nobody changed: two writers read the same last HMAC and both
chained to it. A false tamper alarm is as bad as a missed one.
"""

from __future__ import annotations

from kap.extensions import db
from kap.services import audit
from tests.integration.attacks.helpers import race

WRITERS = 20
ACCOUNTS = ["patient@demo.test", "patient2@demo.test", "therapist@demo.test", "admin@demo.test"]


def _failed_sign_ins(target) -> list[int]:
    """Twenty audited failures at once, spread over accounts so no account limit stops them."""
    return race(
        WRITERS,
        lambda i: target.sign_in(ACCOUNTS[i % len(ACCOUNTS)], f"wrong-{i}").status_code,
    )


def test_parallel_audited_writes_keep_the_chain_intact_in_process(dev_server):
    """The threaded dev server on SQLite: every row still chains to the one before."""
    before = dev_server.scalar("SELECT count(*) FROM audit_events")
    statuses = _failed_sign_ins(dev_server)
    assert all(status in (401, 429) for status in statuses), statuses
    after = dev_server.scalar("SELECT count(*) FROM audit_events")
    assert after - before == statuses.count(401) >= 16
    with dev_server.app.app_context():
        assert list(audit.verify_chain()) == []
        db.session.remove()


def test_parallel_audited_writes_keep_the_chain_intact_on_four_workers(gunicorn_server):
    """Four gunicorn workers (SQLite here, PostgreSQL in CI's second pass): audit-verify
    finds nothing, and every refused guess that was checked left its row."""
    before = gunicorn_server.scalar("SELECT count(*) FROM audit_events")
    statuses = _failed_sign_ins(gunicorn_server)
    assert all(status in (401, 429) for status in statuses), statuses
    after = gunicorn_server.scalar("SELECT count(*) FROM audit_events")
    assert after - before == statuses.count(401) >= 16
    result = gunicorn_server.flask("audit-verify")
    assert result.returncode == 0, result.stderr
    assert "Audit log intact." in result.stdout
