"""Password hashes made with other argon2id parameters are redone at sign-in (issue 18).

kap/config.py's ARGON2_* changed (OWASP's row instead of RFC 9106's low-memory profile), so
every stored hash is older than the parameters: each person's next sign-in verifies the old
hash and stores a new one, and nothing else about the sign-in changes.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from kap.demo.seed import DEMO_PASSWORD
from kap.extensions import db
from kap.models import AuditEvent, User
from kap.services import audit
from kap.services.auth.passwords import _hasher, check_password

#: Parameters the app does not use (cheap, like the tests' own): a hash "from before".
EARLIER = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=2, type=Type.ID)


def _stored_hash(email: str) -> str:
    return db.session.scalar(select(User.password_hash).where(User.email == email))


def _give_earlier_hash(email: str, password: str = DEMO_PASSWORD) -> str:
    earlier = EARLIER.hash(password)
    db.session.execute(update(User).where(User.email == email).values(password_hash=earlier))
    db.session.commit()
    return earlier


def test_an_earlier_hash_is_upgraded_when_its_owner_signs_in(app, client, patient):
    """The old hash still signs in; the stored hash then uses the configured parameters and
    still matches the password; the sign-in is audited as any other, the chain intact."""
    with app.app_context():
        earlier = _give_earlier_hash(patient.email)
        assert _hasher().check_needs_rehash(earlier)
        successes = db.session.scalar(
            select(func.count()).where(AuditEvent.action == "signin.success")
        )
    response = client.post(
        "/api/v1/session", json={"email": patient.email, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.json
    with app.app_context():
        stored = _stored_hash(patient.email)
        assert stored != earlier
        assert not _hasher().check_needs_rehash(stored)
        assert _hasher().verify(stored, DEMO_PASSWORD)
        assert (
            db.session.scalar(select(func.count()).where(AuditEvent.action == "signin.success"))
            == successes + 1
        )
        assert list(audit.verify_chain()) == []
    again = app.test_client().post(
        "/api/v1/session", json={"email": patient.email, "password": DEMO_PASSWORD}
    )
    assert again.status_code == 200


def test_a_wrong_password_leaves_an_earlier_hash_alone(app, client, patient):
    """Only a verified password is rehashed."""
    with app.app_context():
        earlier = _give_earlier_hash(patient.email)
    response = client.post("/api/v1/session", json={"email": patient.email, "password": "nope"})
    assert response.status_code == 401
    with app.app_context():
        assert _stored_hash(patient.email) == earlier


def test_a_password_changed_while_the_old_one_was_verified_is_kept(app, patient):
    """A sign-in that verified the old password while a new one was being set must not write a
    hash of the old password over it (compare-and-set: the stored hash must be the verified
    one). The same rule lets the first of two simultaneous sign-ins upgrade the hash."""
    with app.app_context():
        earlier = _give_earlier_hash(patient.email)
        user = db.session.scalar(select(User).where(User.email == patient.email))
        newer = _hasher().hash("a-brand-new-password")
        db.session.execute(update(User).where(User.id == user.id).values(password_hash=newer))
        set_committed_value(user, "password_hash", earlier)  # what the sign-in had read
        assert check_password(user, DEMO_PASSWORD)  # the old password, verified as read
        db.session.commit()
        assert _stored_hash(patient.email) == newer
        assert _hasher().verify(_stored_hash(patient.email), "a-brand-new-password")
