"""What reaches the application log: never patient text, a password or a token (SECURITY.md).

Two places could carry them there. The development server (``make run``) logs every request
line, and an invitation link has its one-time token in the path (a calendar feed URL its
secret). An unexpected error's message can quote what a person sent (a ``ValueError``
names the value it could not read); its traceback says where it happened, which is what a
developer needs, so the message is left out. SQL parameters are kept out of logs and error
messages by the engine's ``hide_parameters`` (kap/config.py).

In production every line is one JSON object (KAP_LOG_FORMAT=json): the time, level, logger and
message (redacted like the rest), the request's id, method, endpoint, status, duration and user
id where there is a request (kap/web/request_log.py), the job's id in a worker (kap/jobs).
Tracebacks come without the exceptions' messages here too.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime

from flask import Flask
from flask.logging import default_handler

from kap.web.request_log import current_request_id

#: The one-time token in an invitation link.
INVITATION_TOKEN = re.compile(r"(/invite/)[^/\s?#\"']+")
#: The secret of a private calendar feed (kap/main/calendar_feed.py).
CALENDAR_TOKEN = re.compile(r"(/calendar/)[^/\s?#\"']+?(\.ics)")
REDACTED = "[redacted]"
#: The id of the background job this thread is running (set by kap/jobs/observe.py).
CURRENT_JOB_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kap_job_id", default=None
)
#: KAP_LOG_FORMAT's values.
LOG_FORMATS = ("text", "json")


def redact(text: str) -> str:
    """``text`` with any invitation token or calendar-feed secret replaced (the only secrets
    the app puts in a URL)."""
    text = INVITATION_TOKEN.sub(rf"\g<1>{REDACTED}", text)
    return CALENDAR_TOKEN.sub(rf"\g<1>{REDACTED}\g<2>", text)


class RedactTokens(logging.Filter):
    """Rewrites a record's message with its tokens redacted (request lines of the dev server)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def traceback_without_messages(error: BaseException) -> str:
    """Where ``error`` (and the errors it came from) happened: frames and types, no messages."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        cause = current.__cause__
        context = None if current.__suppress_context__ else current.__context__
        current = cause or context
    parts = []
    for exc in reversed(chain):
        kind = type(exc)
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(exc.__traceback__))
        parts.append(
            f"{kind.__module__}.{kind.__qualname__} (message withheld: it may quote input)\n"
        )
    return "".join(parts)


def log_unexpected(log: logging.Logger, error: BaseException) -> None:
    """Log an unhandled error with its traceback but without its message."""
    log.error("unhandled error %s\n%s", type(error).__name__, traceback_without_messages(error))


#: Values JSON has no form for (a datetime, a Decimal) are written as their str().
_encode_json = json.JSONEncoder(default=str).encode


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request's or the job's context; nothing else of a
    record (no arguments, no exception message) reaches it."""

    def format(self, record: logging.LogRecord) -> str:
        request_fields = getattr(record, "request_fields", None)
        message = record.getMessage()
        line: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            # A request's own line names its route by endpoint, never by URL: nothing to redact.
            "message": message if request_fields else redact(message),
        }
        if request_fields:  # a request's own line, which names its id itself
            line.update(request_fields)
        elif (request_id := current_request_id()) is not None:
            line["request_id"] = request_id
        if (job_id := CURRENT_JOB_ID.get()) is not None:
            line["job_id"] = job_id
        if record.exc_info and record.exc_info[1] is not None:
            line["traceback"] = traceback_without_messages(record.exc_info[1])
        return _encode_json(line)


class JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root logger's handler in JSON mode (a class of its own, so it is added once)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonFormatter())


def use_json_lines(level: int = logging.INFO) -> None:
    """Send every logger's records to stderr as JSON lines, from ``level`` up (idempotent).

    Flask's own plain handler on the app's logger would print each line twice: it goes.
    """
    root = logging.getLogger()
    # A JSON line never says where in the code, in which thread or in which process it was
    # written, so the records need not find out: the Logging HOWTO's "Optimization" switches,
    # which take about a fifth off every log call (the request log makes one per request).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    if not any(isinstance(handler, JsonHandler) for handler in root.handlers):
        root.addHandler(JsonHandler())
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    logging.getLogger("kap").removeHandler(default_handler)


def init_app(app: Flask) -> None:
    """Redact tokens from the development server's request log (once per process); JSON lines
    when KAP_LOG_FORMAT is json."""
    request_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactTokens) for f in request_log.filters):
        request_log.addFilter(RedactTokens())
    if app.config.get("LOG_FORMAT") == "json":
        use_json_lines()
