"""What the attack tests share: the barrier that releases attackers together, and the target."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import requests
from sqlalchemy import create_engine, text

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
