"""Crowds against gunicorn with four workers (issue 18): thirty signed-in requests at once,
a revocation seen by every worker at once, and simultaneous sign-ins of one person whose
password hash is being upgraded to the configured argon2id parameters."""

from __future__ import annotations

import requests
from argon2 import PasswordHasher, Type
from sqlalchemy import create_engine, text

from kap.config import Config
from tests.integration.attacks.helpers import PASSWORD, race

#: Parameters the server does not use: a hash "from before" the change of ARGON2_*.
EARLIER = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=2, type=Type.ID)
#: The server's parameters (kap/config.py Config, which the gunicorn server runs).
CONFIGURED = PasswordHasher(
    time_cost=Config.ARGON2_TIME_COST,
    memory_cost=Config.ARGON2_MEMORY_COST,
    parallelism=Config.ARGON2_PARALLELISM,
    type=Type.ID,
)


def _write(target, sql: str, **params) -> None:
    engine = create_engine(target.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql), params)
    finally:
        engine.dispose()


def _session_cookie(target, email: str) -> dict[str, str]:
    response = target.sign_in(email)
    assert response.status_code == 200, response.text
    return dict(response.cookies)


def test_thirty_simultaneous_signed_in_requests_and_then_a_revocation(gunicorn_server):
    """Thirty requests of three people at once: each answered 200 with its own person. Then
    their sessions are revoked in the database: the next thirty, spread over every worker
    (each of which had just served them), are all 401."""
    emails = ["patient@demo.test", "patient2@demo.test", "therapist@demo.test"]
    cookies = [_session_cookie(gunicorn_server, email) for email in emails]

    def me(index: int):
        response = requests.get(
            f"{gunicorn_server.url}/api/v1/me", cookies=cookies[index % 3], timeout=60
        )
        body = response.json()
        return response.status_code, body.get("user", {}).get("email")

    answers = race(30, me)
    assert answers == [(200, emails[i % 3]) for i in range(30)]

    _write(
        gunicorn_server,
        "UPDATE auth_sessions SET revoked_at = CURRENT_TIMESTAMP WHERE revoked_at IS NULL",
    )
    assert [status for status, _ in race(30, me)] == [401] * 30


def test_simultaneous_sign_ins_of_one_person_upgrade_the_hash_once_and_lose_nothing(
    gunicorn_server,
):
    """Eight sign-ins of one person whose hash has earlier parameters, all at once: each
    succeeds and is audited, the stored hash ends with the configured parameters and still
    matches the password, and the audit chain verifies."""
    email = "patient2@demo.test"
    _write(
        gunicorn_server,
        "UPDATE users SET password_hash = :hash WHERE email = :email",
        hash=EARLIER.hash(PASSWORD),
        email=email,
    )
    before = gunicorn_server.scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'signin.success'"
    )
    statuses = race(8, lambda _: gunicorn_server.sign_in(email).status_code)
    assert statuses == [200] * 8
    stored = gunicorn_server.scalar("SELECT password_hash FROM users WHERE email = :e", e=email)
    assert not CONFIGURED.check_needs_rehash(stored)
    assert CONFIGURED.verify(stored, PASSWORD)
    after = gunicorn_server.scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'signin.success'"
    )
    assert after == before + 8
    gunicorn_server.flask("audit-verify", check=True)
    assert gunicorn_server.sign_in(email).status_code == 200
