"""The bench survives its tools (bench.attempts): a failed tool run is retried once, then
reported with the tool's own message; real stand-in executables play the failing tools."""

import os
import stat

import pytest

from bench import lighthouse, load
from bench.attempts import ToolFailure, failure_text, is_failed, retry_then_report, summary


def runs_that_fail(times: int, result: dict | None = None):
    """A run that raises ToolFailure ``times`` times, then returns ``result``; it counts calls."""
    calls = []

    def run() -> dict:
        calls.append(1)
        if len(calls) <= times:
            raise ToolFailure("Lighthouse", f"Runtime error encountered: NO_FCP (try {len(calls)})")
        return result or {"scores": {"performance": 100}}

    return run, calls


def test_a_run_that_works_is_run_once():
    """No failure, no retry: the tool's result is returned as it is."""
    run, calls = runs_that_fail(0, {"rps": 10.0})
    assert retry_then_report(run, "wrk", log=lambda line: None) == {"rps": 10.0}
    assert len(calls) == 1


def test_one_failure_is_retried():
    """A tool that fails once (Lighthouse losing a trace) gets a second try, which counts."""
    run, calls = runs_that_fail(1)
    lines = []
    assert retry_then_report(run, "Lighthouse: journal", log=lines.append) == {
        "scores": {"performance": 100}
    }
    assert len(calls) == 2
    assert "trying again" in lines[0]


def test_two_failures_are_reported_with_the_tools_message():
    """A tool that fails twice is not tried a third time; the result says what it said."""
    run, calls = runs_that_fail(5)
    result = retry_then_report(run, "Lighthouse: journal", log=lambda line: None)
    assert len(calls) == 2
    assert is_failed(result)
    assert result["failed"]["tool"] == "Lighthouse"
    assert result["failed"]["attempts"] == 2
    assert result["failed"]["message"] == "Runtime error encountered: NO_FCP (try 2)"
    assert failure_text(result) == (
        "Lighthouse failed (2 tries): Runtime error encountered: NO_FCP (try 2)"
    )


def test_a_bug_in_the_bench_is_not_a_tool_failure():
    """Only a tool's failure is reported as a row; any other error still stops the bench."""

    def broken() -> dict:
        raise KeyError("scores")

    with pytest.raises(KeyError):
        retry_then_report(broken, "Lighthouse: journal", log=lambda line: None)


def test_the_summary_keeps_the_last_lines_on_one_line():
    """Tools say why at the end: the last three lines, joined, shortened from the front."""
    assert summary("a\n\n  b\nc\nd\n") == "b / c / d"
    assert summary("") == "no message"
    long = summary("x" * 1000)
    assert len(long) == 300
    assert long.startswith("…")


def stand_in(folder, name: str, script: str) -> str:
    """An executable shell script standing in for a measuring tool."""
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_lighthouse_exiting_non_zero_raises_its_own_message(tmp_path):
    """Lighthouse's stderr, not a traceback of ours, is what the failed row will show."""
    tool = stand_in(
        tmp_path,
        "lighthouse",
        'echo "Runtime error encountered: The page did not paint any content." >&2\nexit 1\n',
    )
    with pytest.raises(ToolFailure) as raised:
        lighthouse.run(tool, "http://127.0.0.1:9/patient/", None)
    assert raised.value.tool == "Lighthouse"
    assert "exit 1 on http://127.0.0.1:9/patient/" in raised.value.message
    assert "did not paint any content" in raised.value.message


def test_wrk_failing_raises_its_own_message(tmp_path, monkeypatch):
    """wrk exiting without its numbers is a tool failure with wrk's message."""
    stand_in(tmp_path, "wrk", 'echo "unable to connect to 127.0.0.1:9 Connection refused" >&2\n'
                              "exit 1\n")  # fmt: skip
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(ToolFailure) as raised:
        load.wrk("http://127.0.0.1:9", [("/", "")], connections=1, seconds=1)
    assert raised.value.tool == "wrk"
    assert "Connection refused" in raised.value.message


def test_locust_ending_without_statistics_raises_its_own_message(tmp_path):
    """locust dying before it writes its statistics is a tool failure with its message; a
    run with failed requests (exit 1, statistics written) is a measurement, not a failure."""
    users = tmp_path / "users.json"
    users.write_text("{}")
    tool = stand_in(tmp_path, "locust", 'echo "gevent.exceptions.LoopExit: hub" >&2\nexit 2\n')
    with pytest.raises(ToolFailure) as raised:
        load.locust(tool, "http://127.0.0.1:9", users, users=5, seconds=1)
    assert raised.value.tool == "locust"
    assert "exit 2" in raised.value.message
    assert "LoopExit" in raised.value.message
