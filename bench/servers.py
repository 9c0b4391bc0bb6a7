"""Databases and servers for ``make bench``: a fresh PostgreSQL database, gunicorn processes.

The orchestrator never imports the app (its settings are read from the environment at
import time); every step that needs the app runs as a subprocess with the bench's KAP_*.
"""

# ruff: noqa: S603 - a benchmark tool: it runs the commands it is written to run

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _admin_connection(server_url: str):
    import psycopg

    dsn = server_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    return psycopg.connect(dsn, autocommit=True)


def create_database(server_url: str, name: str) -> str:
    """CREATE DATABASE ``name`` on the server; returns its SQLAlchemy URL."""
    with _admin_connection(server_url) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


def drop_database(server_url: str, name: str) -> None:
    """DROP DATABASE ``name`` (its connections are cut first)."""
    with _admin_connection(server_url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_app_command(env: dict, *args: str, capture: bool = False) -> str:
    """``python -m ...`` or ``flask ...`` with the bench environment, from the repository."""
    command = [str(BIN / "flask"), "--app", "wsgi", *args[1:]] if args[0] == "flask" else [
        str(BIN / "python"), "-m", *args
    ]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, env=env, check=False, capture_output=capture, text=True)
    if run.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{run.stdout or ''}{run.stderr or ''}")
    return run.stdout or ""


def gunicorn_command(app: str, port: int, workers: int) -> list[str]:
    """The production profile's gunicorn (the same settings as ``make serve``)."""
    return [
        str(BIN / "gunicorn"),
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "30",
        "--log-level",
        "warning",
        app,
    ]


@contextmanager
def gunicorn(app: str, port: int, workers: int, env: dict, ready_path: str, log: Path):
    """Serve ``app`` until the block ends; waits until ``ready_path`` answers 200."""
    with open(log, "w") as output:
        process = subprocess.Popen(
            gunicorn_command(app, port, workers),
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=2):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(
                            f"gunicorn {app} did not start:\n{log.read_text()}"
                        ) from None
                    time.sleep(0.3)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def free_port() -> int:
    """A TCP port nobody listens on (for the bench's servers)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def default_workers() -> int:
    """KAP_WORKERS, or two per core (gunicorn's usual advice for sync workers)."""
    return int(os.environ.get("KAP_WORKERS") or 2 * (os.cpu_count() or 1))
