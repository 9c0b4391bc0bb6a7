"""The audit chain's head, written outside the database so that cutting rows off its end shows.

The HMAC chain detects a changed or removed row, but not rows cut off the end: the shorter
chain is still a valid chain. So each process writes the newest row's id and HMAC to the
application log (which lives apart from the database) at most once an hour and when it shuts
down, and ``flask audit-anchor`` prints it for a scheduler to ship elsewhere. ``flask
audit-verify --anchor ID:HMAC`` then fails unless that row is still there, unchanged.
"""

from __future__ import annotations

import atexit
import logging
import time

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from kap.extensions import db
from kap.services import audit

log = logging.getLogger("kap.audit")
#: How often each process writes the head while it serves requests.
INTERVAL_SECONDS = 3600


def log_head() -> str | None:
    """Write the chain's head to the log; returns it as 'id:hmac' (None for an empty log)."""
    head = audit.chain_head()
    if head is None:
        return None
    anchor = f"{head[0]}:{head[1]}"
    log.info("audit chain head %s", anchor)
    return anchor


def init_app(app: Flask) -> None:
    """Log the head once an hour (checked after requests) and when the process exits.

    The first hourly write comes an hour after start; the exit write covers shorter lives.
    Test apps (hundreds per run, each on a throwaway database), and apps configured with
    ``AUDIT_ANCHOR_AT_EXIT = False``, register no exit write.
    """
    last_logged = [time.monotonic()]

    @app.teardown_request
    def hourly(_error: BaseException | None) -> None:
        now = time.monotonic()
        if now - last_logged[0] < INTERVAL_SECONDS:
            return
        last_logged[0] = now
        try:
            log_head()
        except SQLAlchemyError:  # the database is down: the next request tries again
            db.session.rollback()
            last_logged[0] = 0.0

    if app.testing or not app.config.get("AUDIT_ANCHOR_AT_EXIT", True):
        return

    def at_exit() -> None:
        try:
            with app.app_context():
                log_head()
        except Exception:  # shutting down: nothing more can be done
            log.warning("audit chain head could not be written at shutdown")

    atexit.register(at_exit)
