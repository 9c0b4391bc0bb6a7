"""What reaches the application log: never patient text, a password or a token (SECURITY.md).

Two places could carry them there. The development server (``make run``) logs every request
line, and an invitation link has its one-time token in the path (a calendar feed URL its
secret). An unexpected error's message can quote what a person sent (a ``ValueError``
names the value it could not read); its traceback says where it happened, which is what a
developer needs, so the message is left out. SQL parameters are kept out of logs and error
messages by the engine's ``hide_parameters`` (kap/config.py).
"""

from __future__ import annotations

import logging
import re
import traceback

from flask import Flask

#: The one-time token in an invitation link.
INVITATION_TOKEN = re.compile(r"(/invite/)[^/\s?#\"']+")
#: The secret of a private calendar feed (kap/main/calendar_feed.py).
CALENDAR_TOKEN = re.compile(r"(/calendar/)[^/\s?#\"']+?(\.ics)")
REDACTED = "[redacted]"


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


def init_app(app: Flask) -> None:
    """Redact tokens from the development server's request log (once per process)."""
    request_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactTokens) for f in request_log.filters):
        request_log.addFilter(RedactTokens())
