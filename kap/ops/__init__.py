"""Operational endpoints: liveness (the database answers) and readiness (every shared part)."""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from kap.extensions import db, limiter
from kap.services.auth.attempt_limits import STORAGE_ERRORS

bp = Blueprint("ops", __name__)


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return False
    return True


def _limit_storage_answers() -> bool:
    """The sign-in attempt counters' storage (Redis in production) answers."""
    try:
        return bool(limiter.storage.check())
    except STORAGE_ERRORS:
        return False


@bp.route("/healthz")
def healthz():
    """200 when the database answers, 503 otherwise."""
    if not _database_answers():
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    """200 when every shared part a request may need answers (the database, and the storage of
    the sign-in attempt counters: without it nobody can sign in), 503 naming what does not."""
    checks = {
        "database": "ok" if _database_answers() else "unavailable",
        "rate_limit_storage": "ok" if _limit_storage_answers() else "unavailable",
    }
    ready = all(state == "ok" for state in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), (200 if ready else 503)
