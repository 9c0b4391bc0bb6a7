"""The app's background tasks, registered on a Huey instance, and the instance an app uses.

``send_due_reminders`` runs every minute, ``prepare_prompt_tracks`` every five. A task lock
keeps two workers from working the same tick at once (less work, fewer collisions), but
exactly once does not rest on it: each delivery claims its own unique row first
(services.reminders.deliver). An error (the database unreachable, say) fails the tick, which
Huey retries with a growing delay; the next minute's tick tries again anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from huey import Huey, crontab
from huey.exceptions import TaskLockedException

from kap.jobs.observe import observe
from kap.jobs.queue import make_huey
from kap.models.base import utcnow

log = logging.getLogger(__name__)

#: The lock one tick of reminder sending holds.
SEND_DUE_LOCK = "send-due-reminders"
#: Retries of a failed tick: after 15 s, 30 s, then 60 s (the next tick comes meanwhile).
TICK_RETRIES = 3
TICK_RETRY_DELAY_SECONDS = 15
TICK_RETRY_BACKOFF = 2
#: The lock of one round of making the coming sessions' prompt tracks.
PROMPT_TRACKS_LOCK = "prepare-prompt-tracks"
#: Where an app keeps its Huey instance (``jobs_for``).
JOBS_EXTENSION = "kap_jobs"


@dataclass(frozen=True)
class JobTasks:
    """The tasks registered on one Huey instance (call one to enqueue it)."""

    huey: Huey
    send_due_reminders: Any  # a huey TaskWrapper
    prepare_prompt_tracks: Any


def register_tasks(huey: Huey, app: Flask, *, clock: Callable[[], datetime] = utcnow) -> JobTasks:
    """Register the app's tasks on ``huey``. Each runs in an app context of ``app``;
    ``clock`` is "now" (tests freeze it). Its jobs are counted and their log lines carry
    their id (kap/jobs/observe.py)."""
    observe(huey)

    @huey.periodic_task(
        crontab(minute="*"),
        retries=TICK_RETRIES,
        retry_delay=TICK_RETRY_DELAY_SECONDS,
        retry_backoff=TICK_RETRY_BACKOFF,
        name="send_due_reminders",
    )
    def send_due_reminders() -> dict[str, int]:
        """Deliver every reminder due now; the counts per outcome (never who or what)."""
        from kap.services.reminders.deliver import send_due

        try:
            # Leaving the app context ends the database session (Flask-SQLAlchemy).
            with huey.lock_task(SEND_DUE_LOCK), app.app_context():
                return send_due(clock()).counts
        except TaskLockedException:
            log.info("reminder tick skipped: another worker is on it")
            return {"locked": 1}

    @huey.periodic_task(crontab(minute="*/5"), name="prepare_prompt_tracks")
    def prepare_prompt_tracks() -> dict[str, int]:
        """Make the prompt tracks of the next two days' sessions ahead of the phones asking
        (a long track takes seconds to encode; a phone asking first still gets it made)."""
        from kap.services.audio.prompt_track import prepare_upcoming

        try:
            with huey.lock_task(PROMPT_TRACKS_LOCK), app.app_context():
                return {"made": prepare_upcoming(clock())}
        except TaskLockedException:
            return {"locked": 1}

    return JobTasks(huey, send_due_reminders, prepare_prompt_tracks)


def jobs_for(app: Flask) -> JobTasks:
    """The app's queue (KAP_JOBS_URL) with its tasks registered, made once per app."""
    tasks = app.extensions.get(JOBS_EXTENSION)
    if tasks is None:
        tasks = register_tasks(make_huey(app.config["JOBS_URL"]), app)
        app.extensions[JOBS_EXTENSION] = tasks
    return tasks
