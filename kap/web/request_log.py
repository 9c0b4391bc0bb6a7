"""Per request, once: its id, its duration in the metrics, its line in the log.

The clock starts in a WSGI wrapper, before the server-side session is loaded (that is part of
what a request costs), and stops in the last after-request hook. That is the whole per-request
price: one ``perf_counter`` pair, one histogram observe, one log call (a no-op unless the log
is at INFO, as it is in production) and no database work: the user id is logged only if the
request loaded the user anyway.

The request id is the proxy's ``X-Request-ID`` when the proxy is trusted
(KAP_TRUSTED_PROXIES > 0) and the value is sane, otherwise a new one; the response echoes it
in ``X-Request-ID``, and every log line written while the request runs carries it
(kap/web/logs.py).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from kap.metrics import REQUEST_SECONDS

#: What a forwarded request id may look like: at most 64 letters, digits, '.', '_' or '-'.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
HEADER = "X-Request-ID"
#: The WSGI environ keys this module writes.
START_KEY = "kap.request_start"
ID_KEY = "kap.request_id"
#: Endpoint label of a request no route matched (404, 405): the URL itself is never a label.
UNMATCHED = "unmatched"

log = logging.getLogger("kap.request")
#: The histogram's child per (endpoint, status), so a request skips prometheus_client's label
#: validation and lock (about a quarter of an observe's cost); bounded by the routes.
_timers: dict[tuple[str, int], Any] = {}


def new_request_id() -> str:
    """A fresh request id: 16 hex digits."""
    return secrets.token_hex(8)


def chosen_request_id(forwarded: str | None, trust_forwarded: bool) -> str:
    """The forwarded id when it comes from a trusted proxy and looks sane, else a new one."""
    if trust_forwarded and forwarded and SANE_REQUEST_ID.fullmatch(forwarded):
        return forwarded
    return new_request_id()


class RequestClock:
    """WSGI wrapper: stamps the request's start time and id into its environ."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], trust_forwarded: bool) -> None:
        self.wsgi_app = wsgi_app
        self.trust_forwarded = trust_forwarded

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        environ[START_KEY] = perf_counter()
        environ[ID_KEY] = chosen_request_id(environ.get("HTTP_X_REQUEST_ID"), self.trust_forwarded)
        return self.wsgi_app(environ, start_response)


def current_request_id() -> str | None:
    """The id of the request being served, if any (for log lines)."""
    if not has_request_context():
        return None
    return request.environ.get(ID_KEY)


def _finish(response: Response) -> Response:
    """Echo the id, observe the duration, write the request's log line."""
    # Every request runs this: the request is taken from its proxy once (each attribute read
    # through the proxy costs a failed lookup and an AttributeError before it is served).
    req = request._get_current_object()  # type: ignore[attr-defined]
    environ = req.environ
    request_id = environ.get(ID_KEY)
    if request_id is None:  # an app called without its WSGI wrapper (a unit test's own)
        return response
    response.headers[HEADER] = request_id
    rule = req.url_rule
    endpoint = rule.endpoint if rule is not None else UNMATCHED
    status = response.status_code
    seconds = perf_counter() - environ[START_KEY]
    timer = _timers.get((endpoint, status))
    if timer is None:
        timer = _timers.setdefault((endpoint, status), REQUEST_SECONDS.labels(endpoint, status))
    timer.observe(seconds)
    if log.isEnabledFor(logging.INFO):
        user = g.get("_login_user")  # only if this request loaded it: no query here
        method = req.method
        log.info(
            "%s %s %s %.1f ms",
            method,
            endpoint,
            status,
            seconds * 1000,
            extra={
                "request_fields": {
                    "request_id": request_id,
                    "method": method,
                    "endpoint": endpoint,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "user_id": getattr(user, "id", None),
                }
            },
        )
    return response


def init_app(app: Flask) -> None:
    """Wrap the WSGI app and register the finishing hook.

    Call it before anything else registers an after-request hook: Flask runs those in reverse,
    so this one runs last and times the others (compression, security headers) too.
    """
    app.wsgi_app = RequestClock(app.wsgi_app, app.config.get("TRUSTED_PROXIES", 0) > 0)  # type: ignore[method-assign]
    app.after_request(_finish)
