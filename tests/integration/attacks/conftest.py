"""Servers to attack with real concurrency, and the barrier that releases the attackers.

Two servers, each on its own database so no other test's tables are touched:

- ``dev_server``: the app in this process under werkzeug's threaded server (what `make run`
  serves), rate-limit counters in memory, a SQLite file.
- ``gunicorn_server``: gunicorn with four worker processes, counters in Redis (what several
  workers need, DESIGN §7), on a SQLite file - or on a fresh PostgreSQL database when
  KAP_TEST_DATABASE_URL names PostgreSQL (CI's second pass). Without a Redis server it is
  skipped with the reason, unless KAP_REQUIRE_REDIS=1, when it fails.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("KAP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "demo-password"  # the public demo password (DESIGN §4)


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Target:
    """A server under attack: its URL, its database and how to run code against it."""

    url: str
    database_url: str
    env: dict[str, str] = field(default_factory=dict)

    def sign_in(self, email: str, password: str = PASSWORD, **extra) -> requests.Response:
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

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        """A `flask --app wsgi` command against this server's database."""
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def python(self, code: str) -> str:
        """Run ``code`` (with ``app`` from wsgi) against this server's database; its output."""
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds}s")


def _server_env(instance: Path, database_url: str, **settings: str) -> dict[str, str]:
    env = {
        **os.environ,
        "KAP_ENV": "development",
        "KAP_INSTANCE_PATH": str(instance),
        "KAP_DATABASE_URL": database_url,
        "KAP_SECRET_KEY": "attack-tests-secret-key-0123456789abcdef",
        "KAP_AUDIT_KEY": "attack-tests-audit-key-0123456789abcdef",
        **settings,
    }
    env.pop("KAP_TEST_DATABASE_URL", None)
    return env


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory) -> Iterator[Target]:
    """The app in this process, threaded, counters in memory, on its own SQLite file."""
    from kap import create_app
    from kap.config import Config
    from kap.demo.seed import seed_demo
    from kap.extensions import db

    instance = tmp_path_factory.mktemp("dev-instance")
    database_url = f"sqlite:///{instance / 'kap.db'}"

    class DevConfig(Config):
        SQLALCHEMY_DATABASE_URI = database_url
        SECRET_KEY = "attack-tests-secret-key-0123456789abcdef"
        AUDIT_KEY = "attack-tests-audit-key-0123456789abcdef"
        DATA_KEYS = "test1:" + "dGVzdC1rZXktMzItYnl0ZXMtbG9uZy0wMTIzNDU2Nzg="
        RATELIMIT_STORAGE_URI = "memory://"
        AUDIT_ANCHOR_AT_EXIT = False  # its database is gone by the time the process exits
        ARGON2_TIME_COST, ARGON2_MEMORY_COST, ARGON2_PARALLELISM = 1, 1024, 1

    app = create_app(DevConfig())
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.remove()
    server = make_server("127.0.0.1", _free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    target = Target(
        f"http://127.0.0.1:{server.server_port}",
        database_url,
        _server_env(instance, database_url, KAP_DATA_KEYS=DevConfig.DATA_KEYS),
    )
    target.app = app  # type: ignore[attr-defined]
    try:
        _wait_for(f"{target.url}/healthz")
        yield target
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


def _redis_missing() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError as error:
        return f"needs Redis at {REDIS_URL} ({type(error).__name__})"
    return None


def _own_postgres_database() -> tuple[str, Callable[[], None]] | None:
    """A fresh PostgreSQL database beside KAP_TEST_DATABASE_URL's, and how to drop it."""
    url = os.environ.get("KAP_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return None
    server, _, name = url.rpartition("/")
    own = f"{name}_attack_{secrets.token_hex(3)}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{own}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
        admin.dispose()

    return f"{server}/{own}", drop


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory) -> Iterator[Target]:
    """gunicorn with four workers sharing Redis counters, as production runs it."""
    missing = _redis_missing()
    if missing:
        if os.environ.get("KAP_REQUIRE_REDIS") == "1":
            pytest.fail(f"KAP_REQUIRE_REDIS=1 but the attack server {missing}")
        pytest.skip(missing)
    instance = tmp_path_factory.mktemp("gunicorn-instance")
    postgres = _own_postgres_database()
    database_url = postgres[0] if postgres else f"sqlite:///{instance / 'kap.db'}"
    port = _free_port()
    env = _server_env(
        instance,
        database_url,
        KAP_RATELIMIT_STORAGE_URI=REDIS_URL,
        KAP_RATELIMIT_KEY_PREFIX=f"kap-attack-{secrets.token_hex(4)}",
    )
    target = Target(f"http://127.0.0.1:{port}", database_url, env)
    for command in (("db", "upgrade"), ("seed-demo",)):
        result = target.flask(*command)
        assert result.returncode == 0, result.stderr
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "4", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        _wait_for(f"{target.url}/healthz")
        yield target
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if postgres:
            postgres[1]()
