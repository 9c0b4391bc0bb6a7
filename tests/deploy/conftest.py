"""Two app servers behind the real nginx of deploy/, as production runs them (issue 18).

``cluster`` (one per module): a fresh PostgreSQL database, one Redis for the sign-in counters,
two gunicorn instances in the production profile on their own ports, each with its own
instance folder (media included: separate machines share only the database and Redis), and
nginx with deploy/nginx/kap.conf in front of them (kap/dev/proxy.py). Each instance writes its
own access log, which is how a test proves which instance answered a request.

Without nginx, PostgreSQL or Redis the module is skipped with the reason, unless
KAP_REQUIRE_NGINX / KAP_REQUIRE_POSTGRES / KAP_REQUIRE_REDIS is 1 (.ci/run), when it fails.
"""

from __future__ import annotations

import os
import secrets
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from kap.dev.proxy import Nginx, nginx_missing, start_nginx
from tests.servers import ROOT, free_port, redis_missing, server_env, start_gunicorn, stop, wait_for

POSTGRES_SERVER = os.environ.get(
    "KAP_TEST_POSTGRES_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432"
)
REDIS_URL = os.environ.get("KAP_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
PASSWORD = "demo-password"  # the public demo password (README, "Demo accounts")
SETTINGS = {
    "KAP_ENV": "production",
    "KAP_SECRET_KEY": "deploy-tests-secret-key-0123456789abcdef",
    "KAP_AUDIT_KEY": "deploy-tests-audit-key-0123456789abcdef",
    "KAP_DATA_KEYS": "test1:" + "dGVzdC1rZXktMzItYnl0ZXMtbG9uZy0wMTIzNDU2Nzg=",
    "KAP_TRUSTED_PROXIES": "1",
    "KAP_RATELIMIT_STORAGE_URI": REDIS_URL,
}
#: gunicorn's access log line: which request (the test's probe is in the query), its status,
#: and the X-Forwarded-For the app received.
ACCESS_FORMAT = '%(m)s %(U)s?%(q)s %(s)s xff="%({x-forwarded-for}i)s"'


#: Migrate the database and seed the demo, in one process.
SETUP_SCRIPT = """
from flask_migrate import upgrade
from kap.demo.seed import seed_demo
from kap.extensions import db
from wsgi import app
with app.app_context():
    upgrade()
    seed_demo()
    db.session.commit()
"""


def _require(what: str, missing: str | None) -> None:
    """Skip for ``missing`` (a reason), or fail when KAP_REQUIRE_<what>=1 says it must run."""
    if missing is None:
        return
    if os.environ.get(f"KAP_REQUIRE_{what}") == "1":
        pytest.fail(f"KAP_REQUIRE_{what}=1 but {missing}")
    pytest.skip(missing)


def _postgres_missing() -> str | None:
    engine = create_engine(f"{POSTGRES_SERVER}/postgres", connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            return None
    except Exception as error:  # any failure to connect is a reason to skip
        return f"needs PostgreSQL at {POSTGRES_SERVER} ({type(error).__name__})"
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database of this module's own, dropped afterwards."""
    _require("POSTGRES", _postgres_missing())
    name = f"kap_deploy_{secrets.token_hex(4)}"
    admin = create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Instance:
    """One app server: its gunicorn process, port and access log."""

    name: str
    port: int
    process: subprocess.Popen
    access_log: Path

    def logged(self) -> str:
        return self.access_log.read_text() if self.access_log.exists() else ""


@dataclass
class Cluster:
    """Two app servers behind nginx, one database: where to send requests and what to check."""

    proxy: Nginx
    instances: list[Instance]
    database_url: str
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.proxy.https_url

    def client(self, local_address: str | None = None) -> httpx.Client:
        """An HTTP/2 client of nginx that trusts its certificate (``local_address``: the
        loopback address it connects from, so the client is not where nginx is)."""
        context = ssl.create_default_context(cafile=str(self.proxy.cert))
        transport = httpx.HTTPTransport(verify=context, http2=True, local_address=local_address)
        # A browser sends its page as Referer; Flask-WTF requires it on HTTPS writes.
        client = httpx.Client(
            base_url=self.url,
            transport=transport,
            timeout=60,
            headers={"Referer": f"{self.url}/"},
        )
        self._clients.append(client)
        return client

    def signed_in(self, email: str, local_address: str | None = None) -> httpx.Client:
        """A client signed in as ``email`` through the API, sending its CSRF token on writes."""
        client = self.client(local_address)
        response = client.post("/api/v1/session", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, (email, response.status_code, response.text)
        client.headers["X-CSRFToken"] = response.json()["csrf_token"]
        return client

    def copy(self, client: httpx.Client) -> httpx.Client:
        """Another connection for the same signed-in browser (cookies and CSRF header)."""
        other = self.client()
        other.cookies = httpx.Cookies(client.cookies)
        other.headers["X-CSRFToken"] = client.headers["X-CSRFToken"]
        return other

    def served_by(self, probe: str, seconds: float = 10) -> list[str]:
        """The names of the instances whose access log has ``probe`` (gunicorn logs just after
        the response is sent, so this waits for the first line to appear)."""
        deadline = time.monotonic() + seconds
        while True:
            found = [i.name for i in self.instances for _ in range(i.logged().count(probe))]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def scalar(self, sql: str, **params):
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return connection.execute(text(sql), params).scalar()
        finally:
            engine.dispose()

    def rows(self, sql: str, **params) -> list[tuple]:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql), params)]
        finally:
            engine.dispose()


def probe(label: str) -> str:
    """A unique marker to put in a request's query string and find in the access logs."""
    return f"probe={label}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, postgres_url) -> Iterator[Cluster]:
    """Two gunicorn instances (one process of four threads each) behind deploy/'s nginx, one
    PostgreSQL, one Redis; the demo data seeded once."""
    _require("NGINX", nginx_missing())
    _require("REDIS", redis_missing(REDIS_URL))
    root = tmp_path_factory.mktemp("two-app-servers")
    settings = {
        **SETTINGS,
        "KAP_RATELIMIT_KEY_PREFIX": f"kap-deploy-{secrets.token_hex(4)}",
        # One jobs store every process shares, as in production (the test's own database):
        # the worker's heartbeat there is what /readyz on either app server reads.
        "KAP_JOBS_URL": postgres_url,
    }
    setup_env = server_env(root / "setup", postgres_url, **settings)
    # Migrations and demo data in one process, while the app servers start beside it (each
    # import of the app costs seconds on a busy machine; nothing reads the database before
    # the first request).
    seeding = subprocess.Popen([sys.executable, "-c", SETUP_SCRIPT], cwd=ROOT, env=setup_env)
    instances: list[Instance] = []
    proxy = worker = None
    try:
        for name in ("a", "b"):
            instance_path = root / f"instance-{name}"
            env = server_env(
                instance_path,
                postgres_url,
                **settings,
                KAP_MEDIA_DIR=str(instance_path / "media"),
            )
            port, log = free_port(), root / f"access-{name}.log"
            # One process with threads per instance: two instances are the several processes.
            process = start_gunicorn(
                env, port, "--worker-class", "gthread", "--workers", "1", "--threads", "4",
                "--access-logfile", str(log), "--access-logformat", ACCESS_FORMAT,
            )  # fmt: skip
            instances.append(Instance(name, port, process, log))
        assert seeding.wait(300) == 0, "migrating or seeding the demo database failed"
        # The job worker (deploy/systemd/kap-worker.service), after the tables exist.
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker", "--workers", "1"],
            cwd=ROOT,
            env=server_env(root / "worker", postgres_url, **settings),
        )
        for instance in instances:
            wait_for(f"http://127.0.0.1:{instance.port}/healthz", 120, instance.process)
        # Ready once the worker has beaten (production's /readyz needs a worker).
        wait_for(f"http://127.0.0.1:{instances[0].port}/readyz", 120, worker)
        proxy = start_nginx(root / "nginx", [f"127.0.0.1:{i.port}" for i in instances])
        cluster = Cluster(proxy, instances, postgres_url)
        try:
            yield cluster
        finally:
            for client in cluster._clients:
                client.close()
    finally:
        stop(seeding)
        stop(worker)
        if proxy is not None:
            proxy.stop()
        for instance in instances:
            stop(instance.process)
