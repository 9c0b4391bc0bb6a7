"""Running the queue: embedded in the app's own process (`make run`), or as a worker process.

Embedded, the consumer's scheduler and workers are threads beside the development server;
the server keeps the process's signal handlers (Ctrl-C stops it) and stops the consumer on
its way out. A worker process (`flask jobs worker`) is Huey's own consumer loop, signals
included: SIGINT/SIGTERM stop it, finishing the task at hand. Both beat a heartbeat into the
jobs store while they run (kap/jobs/heartbeat.py), which /readyz reads.
"""

from __future__ import annotations

from typing import Any

from huey import Huey
from huey.consumer import Consumer

from kap.jobs.heartbeat import Heartbeat

#: Threads that run tasks in the embedded consumer (sending waits on SMTP and push services).
EMBEDDED_WORKERS = 2
#: Seconds between heartbeats unless the caller says otherwise (WORKER_HEARTBEAT_SECONDS).
HEARTBEAT_SECONDS = 15


class BeatingConsumer(Consumer):  # type: ignore[misc]
    """A consumer that writes the worker heartbeat from its start to its stop. The beat
    starts after Huey's own start, so a consumer that forks task processes has closed its
    store connection first."""

    def __init__(
        self, huey: Huey, *, heartbeat_seconds: float = HEARTBEAT_SECONDS, **options: Any
    ) -> None:
        super().__init__(huey, **options)
        self.heartbeat = Heartbeat(huey, heartbeat_seconds)

    def start(self) -> None:
        super().start()
        self.heartbeat.start()

    def stop(self, graceful: bool = False) -> None:
        self.heartbeat.stop()
        super().stop(graceful=graceful)


class EmbeddedConsumer(BeatingConsumer):
    """A consumer that runs in threads of a process it does not own: no signal handlers."""

    def _set_signal_handlers(self) -> None:
        """The host process keeps its own (the dev server's Ctrl-C)."""


def start_embedded(
    huey: Huey, *, workers: int = EMBEDDED_WORKERS, heartbeat_seconds: float = HEARTBEAT_SECONDS
) -> EmbeddedConsumer:
    """Start a consumer in this process (threads, periodic tasks on); ``stop()`` it after.

    Locks a crashed process left behind are flushed first: with SQLite the queue has this
    process to itself.
    """
    consumer = EmbeddedConsumer(
        huey,
        heartbeat_seconds=heartbeat_seconds,
        workers=workers,
        worker_type="thread",
        periodic=True,
        flush_locks=True,
    )
    consumer.start()
    return consumer


def run_worker(
    huey: Huey,
    *,
    workers: int,
    worker_type: str,
    periodic: bool,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> None:
    """Run a production worker until it is told to stop (blocks).

    ``periodic``: this process also enqueues the every-minute tick. Several that do are
    harmless (the tick's lock and the delivery rows keep it to one send), one is enough.
    """
    consumer = BeatingConsumer(
        huey,
        heartbeat_seconds=heartbeat_seconds,
        workers=workers,
        worker_type=worker_type,
        periodic=periodic,
        flush_locks=True,
    )
    consumer.run()
