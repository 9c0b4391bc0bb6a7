"""Real servers for the tests that need one: a free port, the app's commands, gunicorn.

The attack tests (tests/integration/attacks) and the browser tests (tests/browser) serve the
app on 127.0.0.1 and run its `flask` commands and small scripts against the served database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: The repository: where `wsgi.py` is, so commands run from here.
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 30, process: subprocess.Popen | None = None) -> None:
    """Return once ``url`` answers 200; fail after ``seconds`` or if ``process`` exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds}s")


def server_env(instance: Path, database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a served app in development mode on ``database_url``, with
    ``settings`` (KAP_* names) on top; never the test suite's own database."""
    env = {
        **os.environ,
        "KAP_ENV": "development",
        "KAP_INSTANCE_PATH": str(instance),
        "KAP_DATABASE_URL": database_url,
        **settings,
    }
    env.pop("KAP_TEST_DATABASE_URL", None)
    return env


def start_gunicorn(
    env: dict[str, str], port: int, *options: str, stderr: IO[bytes] | None = None
) -> subprocess.Popen:
    """gunicorn serving ``wsgi:app`` on 127.0.0.1:``port`` (``options``: workers, threads),
    with the repository's gunicorn.conf.py; ``stderr``: where its log lines go."""
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *options, "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stderr=stderr,
    )  # fmt: skip


def stop(process: subprocess.Popen | None) -> None:
    """Stop a server politely (SIGTERM), and by force after ten seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


_MIGRATE_AND_SEED = """
from flask_migrate import upgrade
from wsgi import app
with app.app_context():
    upgrade()
result = app.test_cli_runner().invoke(args=["seed-demo"])
assert result.exit_code == 0, result.output
"""


@dataclass
class Server:
    """A served app: its URL, and the environment that reaches its database from outside."""

    url: str
    env: dict[str, str]

    def flask(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        """A `flask --app wsgi` command against this server's database (``check``: fail the
        test if it fails)."""
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check:
            assert result.returncode == 0, f"flask {' '.join(args)} failed:\n{result.stderr}"
        return result

    def migrate_and_seed(self) -> None:
        """``flask db upgrade`` then ``flask seed-demo``, in one process: importing the app is
        most of either command's time (4 s on these machines, more under load), and every
        module with a live server of its own paid it twice."""
        self.python(_MIGRATE_AND_SEED)

    def python(self, script: str, *args: str) -> str:
        """Run ``script`` (``from wsgi import app`` gives the app) against this server's
        database with ``args`` in sys.argv; its output. Fails the test if the script fails."""
        result = subprocess.run(
            [sys.executable, "-c", script, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"script failed:\n{result.stderr}"
        return result.stdout


def redis_missing(url: str) -> str | None:
    """Why the Redis at ``url`` cannot be used (a skip reason), or None when it answers."""
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=1).ping()
    except redis.RedisError as error:
        return f"needs Redis at {url} ({type(error).__name__})"
    return None
