"""Real servers for the tests that need one: a free port, the app's commands, gunicorn.

The attack tests (tests/integration/attacks) and the browser tests (tests/browser) serve the
app on 127.0.0.1 and run its `flask` commands and small scripts against the served database.
"""

from __future__ import annotations

import json
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
    wait_or_kill(process)


def wait_or_kill(process: subprocess.Popen) -> None:
    """Wait ten seconds for ``process`` to end, then kill it."""
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


#: The loop of a ScriptRunner: one request per line on stdin ({"script", "argv"}), one answer
#: per line on the channel that was stdout ({"ok", "stdout", "error"}); anything else the app
#: prints to fd 1 (a log handler, a C library) goes to stderr instead, so it cannot garble one.
_SCRIPT_LOOP = """
import contextlib, io, json, os, sys, traceback
channel = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr
for line in sys.stdin:
    job = json.loads(line)
    sys.argv = ["-c", *job["argv"]]
    printed = io.StringIO()
    answer = {"ok": True, "error": ""}
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(job["script"], "<test script>", "exec"), {"__name__": "__main__"})
    except SystemExit as done:
        if done.code not in (None, 0):
            answer = {"ok": False, "error": f"exit status {done.code}"}
    except BaseException:
        answer = {"ok": False, "error": traceback.format_exc()}
    channel.write(json.dumps({**answer, "stdout": printed.getvalue()}) + "\\n")
    channel.flush()
"""


class ScriptRunner:
    """One Python process that imports the app once and then runs script after script in it.

    A test script run as its own process spends about two seconds importing the app before
    its few statements (more on a loaded machine), and the browser modules run dozens. Each
    script still runs in fresh globals with its own sys.argv, and opens its own app context.
    Its log lines go to ``log`` and are shown when a script fails.
    """

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _SCRIPT_LOOP],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )

    def run(self, script: str, *args: str) -> str:
        """Run ``script`` with ``args`` in sys.argv; what it printed. Fails the test if it
        fails (or the process is gone)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"script": script, "argv": list(args)}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the script runner exited:\n{self.log.read_text()[-4000:]}"
        answer = json.loads(line)
        assert answer["ok"], f"script failed:\n{answer['error']}\n{self.log.read_text()[-4000:]}"
        return answer["stdout"]

    def close(self) -> None:
        """End the process (its stdin closes; it exits when its loop ends)."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        wait_or_kill(self.process)


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
