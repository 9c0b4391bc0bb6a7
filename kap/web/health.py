"""Whether the shared parts a request may need answer: the database and the limit storage;
and whether a job worker is alive (its heartbeat in the jobs store)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from kap.extensions import db, limiter
from kap.jobs.heartbeat import worker_state
from kap.jobs.tasks import jobs_for
from kap.services.auth.attempt_limits import STORAGE_ERRORS


def database_answers() -> bool:
    """The database runs a trivial statement."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return False
    return True


def limit_storage_answers() -> bool:
    """The sign-in attempt counters' storage (Redis in production) answers."""
    try:
        return bool(limiter.storage.check())
    except STORAGE_ERRORS:
        return False


def worker_heartbeat() -> tuple[str, int | None]:
    """(ok|stale|missing, the heartbeat's age in seconds or None) for the app's job queue."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return worker_state(lambda: jobs_for(app).huey, app.config["WORKER_STALE_SECONDS"])
