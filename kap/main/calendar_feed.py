"""The private calendar feed a calendar app subscribes to: no sign-in, the secret in the URL.

The calendar app fetches without a cookie and none is set. A wrong or revoked secret answers
404, exactly like a URL that never existed. Fetches are rate-limited per client address and
logged without the secret (kap/web/logs.py redacts it from the request log too); with the
counters' storage down they answer 503, like sign-in, not a 500. They are not audited: a
calendar polls every few minutes, and creating or revoking the feed is.

Caching: ``private, no-store``, the app's rule for personal data. The feed holds appointment
times, so no shared cache may keep it, and no browser cache should either: a revoked URL
must stop showing anything at once, and a calendar app polls rarely enough (15 minutes and
more) that a cached copy would save nothing worth the risk.
"""

from __future__ import annotations

import math
import time

from flask import Response, abort, current_app, request
from limits import parse

from kap.extensions import limiter
from kap.main import bp
from kap.services.auth.attempt_limits import STORAGE_ERRORS
from kap.services.errors import RateLimited, Unavailable
from kap.services.reminders.calendar import feed_calendar

#: Per client address: a calendar app polls a few times an hour; a script guessing does not
#: get far (a guess is one of 2**256 anyway).
FEED_LIMIT = parse("30 per minute")


def _count_fetch() -> None:
    """Count this fetch against the client address's allowance: RateLimited (429) past it,
    Unavailable (503, not a 500) when the counters' storage cannot be reached."""
    keys = (current_app.config.get("RATELIMIT_KEY_PREFIX") or "kap", "calendar-feed")
    client = request.remote_addr or "-"
    try:
        if limiter.limiter.hit(FEED_LIMIT, *keys, client):
            return
        reset_at, _ = limiter.limiter.get_window_stats(FEED_LIMIT, *keys, client)
    except STORAGE_ERRORS:
        raise Unavailable("The calendar is unavailable for a moment; try again later.") from None
    wait = max(1, math.ceil(reset_at - time.time()))
    raise RateLimited("Too many requests for a calendar; wait and try again.", retry_after=wait)


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    """The patient's appointments as .ics, or 404."""
    _count_fetch()
    body = feed_calendar(token)
    if body is None:
        current_app.logger.info("calendar feed: unknown or revoked secret")
        abort(404)
    current_app.logger.info("calendar feed: served (%d bytes)", len(body))
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = 'inline; filename="appointments.ics"'
    response.headers["X-Robots-Tag"] = "noindex"
    return response
