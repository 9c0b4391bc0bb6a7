"""The bench survives its tools: a measuring tool that fails is retried once, then reported.

Lighthouse exits non-zero now and then (Chromium loses a trace on a busy machine), wrk or
locust can die under load; any of these used to end a ten-minute bench with a traceback.
Each tool's runner raises :class:`ToolFailure` with the tool's own message instead, and the
bench calls it through :func:`retry_then_report`: one more try, then a result that says it
failed, which the report shows as a failed row with that message (bench.report).
"""

from __future__ import annotations

from collections.abc import Callable

#: How many times a failed tool run is tried again before it is reported as failed.
RETRIES = 1
#: Characters of a tool's message kept in the report's table (the JSON keeps the full tail).
SUMMARY_CHARS = 300


class ToolFailure(Exception):
    """A measuring tool ended without a result; ``message`` is what the tool itself said."""

    def __init__(self, tool: str, message: str) -> None:
        super().__init__(f"{tool}: {message}")
        self.tool = tool
        self.message = message


def retry_then_report(
    run: Callable[[], dict],
    what: str,
    retries: int = RETRIES,
    log: Callable[[str], None] = print,
) -> dict:
    """``run()``'s result; on ToolFailure, ``retries`` more tries, then a failed result:
    ``{"failed": {"tool", "message", "summary", "attempts", "what"}}``."""
    attempts = 0
    while True:
        attempts += 1
        try:
            return run()
        except ToolFailure as failure:
            if attempts <= retries:
                log(f"    {what}: {failure.tool} failed ({summary(failure.message)}); trying again")
                continue
            log(f"    {what}: {failure.tool} failed {attempts} times; reported as a failed row")
            return {
                "failed": {
                    "what": what,
                    "tool": failure.tool,
                    "attempts": attempts,
                    "message": failure.message,
                    "summary": summary(failure.message),
                }
            }


def is_failed(result: dict | None) -> bool:
    """Whether a result is a failed tool run (or missing altogether)."""
    return result is None or "failed" in result


def failure_text(result: dict) -> str:
    """One line for a report's table: which tool failed, how often, and what it said."""
    failed = result["failed"]
    return f"{failed['tool']} failed ({failed['attempts']} tries): {failed['summary']}"


def summary(message: str) -> str:
    """The last lines of a tool's message on one line (tools say why at the end)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    text = " / ".join(lines[-3:]) or "no message"
    return text if len(text) <= SUMMARY_CHARS else "…" + text[-(SUMMARY_CHARS - 1) :]
