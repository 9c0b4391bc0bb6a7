"""What a job worker tells the outside: counts of its jobs (kap/metrics.py) and, on every log
line a job writes, the job's id (kap/web/logs.py). Both come from Huey's signals, which fire
in the thread (or process) that queues or runs the task."""

from __future__ import annotations

from typing import Any

from huey import Huey
from huey import signals as huey_signals

from kap.metrics import JOB_EVENTS
from kap.web.logs import CURRENT_JOB_ID

#: Huey's signals counted, as the event label they become.
EVENTS = {
    huey_signals.SIGNAL_ENQUEUED: "queued",
    huey_signals.SIGNAL_COMPLETE: "succeeded",
    huey_signals.SIGNAL_ERROR: "failed",
}
#: Signals after which this thread runs no task any more.
DONE = (
    huey_signals.SIGNAL_COMPLETE,
    huey_signals.SIGNAL_ERROR,
    huey_signals.SIGNAL_CANCELED,
    huey_signals.SIGNAL_INTERRUPTED,
    huey_signals.SIGNAL_TIMEOUT,
    huey_signals.SIGNAL_LOCKED,
    huey_signals.SIGNAL_RATE_LIMITED,
    huey_signals.SIGNAL_EXPIRED,
    huey_signals.SIGNAL_REVOKED,
)


def observe(huey: Huey) -> None:
    """Count ``huey``'s jobs by task and event, and tag log lines with the running job's id."""

    @huey.signal(*EVENTS)
    def count(signal: str, task: Any, *args: Any) -> None:
        JOB_EVENTS.labels(task.name, EVENTS[signal]).inc()

    @huey.signal(huey_signals.SIGNAL_EXECUTING)
    def job_started(signal: str, task: Any) -> None:
        CURRENT_JOB_ID.set(task.id)

    @huey.signal(*DONE)
    def job_done(signal: str, task: Any, *args: Any) -> None:
        CURRENT_JOB_ID.set(None)
