"""Servers to attack with real concurrency (the barrier that releases the attackers is
``race`` in tests/integration/attacks/helpers.py).

Two servers, each on its own database so no other test's tables are touched:

- ``dev_server``: the app in this process under werkzeug's threaded server (what `make run`
  serves), rate-limit counters in memory, a SQLite file.
- ``gunicorn_server``: gunicorn with four worker processes, counters in Redis (what several
  workers need, docs/architecture.md), on a SQLite file - or on a fresh PostgreSQL database
  when KAP_TEST_DATABASE_URL names PostgreSQL (CI's second pass). Without a Redis server it is
  skipped with the reason, unless KAP_REQUIRE_REDIS=1, when it fails.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from tests.database import own_postgres_database
from tests.integration.attacks.helpers import Target
from tests.servers import free_port, redis_missing, server_env, start_gunicorn, stop, wait_for

REDIS_URL = os.environ.get("KAP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET_KEYS = {
    "KAP_SECRET_KEY": "attack-tests-secret-key-0123456789abcdef",
    "KAP_AUDIT_KEY": "attack-tests-audit-key-0123456789abcdef",
}


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
        SECRET_KEY = SECRET_KEYS["KAP_SECRET_KEY"]
        AUDIT_KEY = SECRET_KEYS["KAP_AUDIT_KEY"]
        DATA_KEYS = "test1:" + "dGVzdC1rZXktMzItYnl0ZXMtbG9uZy0wMTIzNDU2Nzg="
        RATELIMIT_STORAGE_URI = "memory://"
        AUDIT_ANCHOR_AT_EXIT = False  # its database is gone by the time the process exits
        ARGON2_TIME_COST, ARGON2_MEMORY_COST, ARGON2_PARALLELISM = 1, 1024, 1

    app = create_app(DevConfig())
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.remove()
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = server_env(instance, database_url, **SECRET_KEYS, KAP_DATA_KEYS=DevConfig.DATA_KEYS)
    target = Target(f"http://127.0.0.1:{server.server_port}", env, database_url)
    target.app = app  # type: ignore[attr-defined]
    try:
        wait_for(f"{target.url}/healthz")
        yield target
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory) -> Iterator[Target]:
    """gunicorn with four workers sharing Redis counters, as production runs it."""
    missing = redis_missing(REDIS_URL)
    if missing:
        if os.environ.get("KAP_REQUIRE_REDIS") == "1":
            pytest.fail(f"KAP_REQUIRE_REDIS=1 but the attack server {missing}")
        pytest.skip(missing)
    instance = tmp_path_factory.mktemp("gunicorn-instance")
    postgres = own_postgres_database()
    database_url = postgres[0] if postgres else f"sqlite:///{instance / 'kap.db'}"
    port = free_port()
    env = server_env(
        instance,
        database_url,
        **SECRET_KEYS,
        KAP_RATELIMIT_STORAGE_URI=REDIS_URL,
        KAP_RATELIMIT_KEY_PREFIX=f"kap-attack-{secrets.token_hex(4)}",
    )
    target = Target(f"http://127.0.0.1:{port}", env, database_url)
    target.migrate_and_seed()
    process = start_gunicorn(env, port, "--workers", "4")
    try:
        wait_for(f"{target.url}/healthz", process=process)
        yield target
    finally:
        stop(process)
        if postgres:
            postgres[1]()
