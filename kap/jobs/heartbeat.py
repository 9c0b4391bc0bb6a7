"""The worker's heartbeat: proof, readable by every app server, that a job worker is running.

A worker (`flask jobs worker`, or the runner embedded in `make run`) writes the time into the
jobs store every WORKER_HEARTBEAT_SECONDS; /readyz reads it (kap/web/health.py). The jobs
store rather than the database: it is what the heartbeat is about (a worker that beats is
one that can reach the queue), every app server already reaches it through KAP_JOBS_URL, and
a write every 15 s belongs in Redis, not in the clinical database's write-ahead log or its
backups. One key for the whole queue: "some worker is alive" is the question; the freshest
worker's beat answers it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from huey import Huey

#: The key in the jobs store's key-value area.
KEY = "kap:worker-heartbeat"
#: States /readyz reports.
OK, STALE, MISSING = "ok", "stale", "missing"

log = logging.getLogger(__name__)


def beat(huey: Huey, now: float | None = None) -> None:
    """Write the heartbeat (``now``: Unix time; tests write old ones)."""
    huey.put(KEY, time.time() if now is None else now)


def last_beat(huey: Huey) -> float | None:
    """The newest heartbeat's Unix time, or None if no worker ever wrote one."""
    value = huey.get(KEY, peek=True)
    return float(value) if value is not None else None


def worker_state(queue: Callable[[], Huey], stale_after: float) -> tuple[str, int | None]:
    """(ok|stale|missing, age in whole seconds or None) of the heartbeat in ``queue()``'s
    store. A store that cannot be opened or read counts as missing: then no app server can
    tell that a worker runs."""
    try:
        at = last_beat(queue())
    except Exception as error:  # Redis, SQLite or PostgreSQL errors alike
        log.warning("worker heartbeat unreadable: %s", type(error).__name__)
        return MISSING, None
    if at is None:
        return MISSING, None
    age = max(0, int(time.time() - at))
    return (OK if age <= stale_after else STALE), age


class Heartbeat:
    """A daemon thread that beats every ``interval`` seconds until ``stop()``.

    A thread of its own rather than a periodic task: Huey's periodic tasks run once a
    minute at best, and a busy worker's queue would delay the beat behind real work.
    """

    def __init__(self, huey: Huey, interval: float) -> None:
        self.huey, self.interval = huey, interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kap-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                beat(self.huey)
            except Exception as error:  # the store is away: try again next time
                log.warning("worker heartbeat not written: %s", type(error).__name__)
            self._stopped.wait(self.interval)
