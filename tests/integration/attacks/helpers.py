"""What the attack tests share: the barrier that releases attackers together, the target, and
an app with a database of its own for races against the services."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from flask import Flask
from sqlalchemy import create_engine, text

from tests.database import own_postgres_database
from tests.servers import Server

PASSWORD = "demo-password"  # the public demo password (README, "Demo accounts")


def race(count: int, attempt: Callable[[int], object], timeout: float = 120) -> list[object]:
    """Run ``attempt(i)`` in ``count`` threads released together by a barrier; their results."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = attempt(index)
        except Exception as error:  # reported to the test as a result
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "an attacker never finished"
    return results


@dataclass
class Target(Server):
    """A server under attack: its URL, its database and how to run code against it."""

    database_url: str = ""

    def sign_in(self, email: str, password: str = PASSWORD, **extra) -> requests.Response:
        """POST /api/v1/session as ``email`` (``extra``: more fields, such as otp)."""
        return requests.post(
            f"{self.url}/api/v1/session",
            json={"email": email, "password": password, **extra},
            timeout=60,
        )

    def scalar(self, sql: str, **params):
        """One value from this server's database (read-only checks)."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return connection.execute(text(sql), params).scalar()
        finally:
            engine.dispose()


def seeded_app(instance: Path) -> Iterator[Flask]:
    """The app on its own database (a SQLite file in ``instance``, or a fresh PostgreSQL
    database when KAP_TEST_DATABASE_URL names PostgreSQL), demo data seeded; the database is
    dropped afterwards. For a module fixture: ``yield from seeded_app(tmp_path_factory…)``."""
    from kap import create_app
    from kap.config import Config
    from kap.demo.seed import seed_demo
    from kap.extensions import db

    postgres = own_postgres_database()
    database_url = postgres[0] if postgres else f"sqlite:///{instance / 'kap.db'}"

    class RaceConfig(Config):
        AUDIT_ANCHOR_AT_EXIT = False  # its database is gone by the time the process exits
        SQLALCHEMY_DATABASE_URI = database_url
        SECRET_KEY = "race-tests-secret-key-0123456789abcdef"
        AUDIT_KEY = "race-tests-audit-key-0123456789abcdef"
        DATA_KEYS = "test1:" + "dGVzdC1rZXktMzItYnl0ZXMtbG9uZy0wMTIzNDU2Nzg="
        RATELIMIT_STORAGE_URI = "memory://"
        ARGON2_TIME_COST, ARGON2_MEMORY_COST, ARGON2_PARALLELISM = 1, 1024, 1

    app = create_app(RaceConfig())
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.remove()
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        if postgres:
            postgres[1]()
