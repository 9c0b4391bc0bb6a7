"""gunicorn's settings for KAP Companion (read from the working directory, or `-c` this file).

Only what the app needs from the server: Prometheus' multiprocess mode. Each worker keeps its
counters in files of PROMETHEUS_MULTIPROC_DIR and a scrape of any worker adds up all of them
(kap/metrics.py). The variable must be set before a worker imports the app, so it is set
here, in the master: to a private temporary folder unless the operator named one (give every
gunicorn instance its own). The folder is emptied when gunicorn starts, as prometheus_client
requires (files of an earlier run would be counted again), and a worker that exits is marked
dead so its live gauges stop being reported.

With JSON logs (KAP_LOG_FORMAT, production's default) gunicorn's own lines are JSON too. Its
access log stays off: the app logs each request itself, by endpoint, never by URL.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

#: gunicorn 27's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl): a
#: second instance on the machine (kap-web@8001 and @8002, the tests' two app servers) takes
#: it over from the first, and whichever stops first removes the other's. Nothing here uses
#: it; signals (systemd's ExecReload, SIGTERM) do the same work.
control_socket_disable = True

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Set when the folder is this file's own, so a reload (which reads this file again) knows.
OWN_FOLDER_ENV = "KAP_METRICS_DIR_IS_TEMPORARY"

if not os.environ.get(MULTIPROC_ENV):
    os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="kap-metrics-")
    os.environ[OWN_FOLDER_ENV] = "1"


def _json_lines(server) -> None:
    """gunicorn's own log lines as JSON objects when the app logs JSON."""
    from kap.config import CONFIGS

    profile = CONFIGS.get(os.environ.get("KAP_ENV", "development"), CONFIGS["development"])
    if profile.LOG_FORMAT == "json":
        from kap.web.logs import JsonFormatter

        for handler in server.log.error_log.handlers:
            handler.setFormatter(JsonFormatter())


def on_starting(server) -> None:
    """Start with an empty metrics folder: only this run's workers are counted."""
    folder = Path(os.environ[MULTIPROC_ENV])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    _json_lines(server)


def on_reload(server) -> None:
    """A reload sets gunicorn's log handlers up anew."""
    _json_lines(server)


def child_exit(server, worker) -> None:
    """A worker has gone: its counters stay counted, its live gauges are dropped."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    """Remove the temporary metrics folder this file made (an operator's own stays)."""
    if os.environ.get(OWN_FOLDER_ENV) == "1":
        shutil.rmtree(os.environ[MULTIPROC_ENV], ignore_errors=True)
