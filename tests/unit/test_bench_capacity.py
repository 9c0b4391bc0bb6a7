"""The capacity search of ``make bench`` (bench.capacity), driven by a made-up measure."""

import pytest

from bench import capacity
from bench.attempts import ToolFailure, retry_then_report


def server_that_slows(limit_users: int, errors_from: int | None = None):
    """A measure whose p95 grows 3 ms per user (200 ms is crossed after 66 users) and which
    answers with errors from ``errors_from`` users on; it records the counts it was asked."""
    asked: list[int] = []

    def measure(users: int) -> dict:
        asked.append(users)
        errors = 1 if errors_from is not None and users >= errors_from else 0
        return {"requests": users * 30, "errors": errors, "rps": users * 0.8,
                "p50_ms": users, "p95_ms": users * 200 / limit_users,
                "p99_ms": users * 4}  # fmt: skip

    return measure, asked


def test_ramp_then_bisect_finds_the_largest_count_that_holds():
    """Up the ramp until a step misses, then halve the gap: 40 held, 80 missed → 60, 70, 65."""
    measure, asked = server_that_slows(limit_users=66)
    found = capacity.search(measure, ramp=(5, 10, 20, 40, 80, 160), bisections=3)
    assert asked == [5, 10, 20, 40, 80, 60, 70, 65]
    assert found["users"] == 65
    assert found["first_missed"] == 70
    assert found["rps_at_capacity"] == 52.0
    assert found["p95_at_capacity_ms"] == pytest.approx(65 * 200 / 66)
    assert not found["ramp_exhausted"]
    assert "failed" not in found
    assert [step["holds"] for step in found["steps"]] == [True] * 4 + [False, True, False, True]


def test_an_error_misses_the_step_however_fast_it_was():
    """Zero errors is part of the limit: a fast step with one failed request does not hold."""
    measure, asked = server_that_slows(limit_users=10_000, errors_from=30)
    found = capacity.search(measure, ramp=(5, 10, 20, 40, 80), bisections=5)
    assert found["users"] == 29
    assert found["first_missed"] == 30
    assert asked == [5, 10, 20, 40, 30, 25, 27, 28, 29]


def test_bisection_stops_when_the_counts_are_next_to_each_other():
    """No step is measured twice, and the search ends once held and missed are one apart."""
    measure, asked = server_that_slows(limit_users=5)
    found = capacity.search(measure, ramp=(4, 6), bisections=10)
    assert asked == [4, 6, 5]
    assert (found["users"], found["first_missed"]) == (5, 6)


def test_a_first_step_that_misses_gives_zero_users():
    """When even the smallest count misses, the capacity is 0 (bisected below it)."""
    measure, asked = server_that_slows(limit_users=1)
    found = capacity.search(measure, ramp=(5, 10), bisections=2)
    assert asked == [5, 2, 1]
    assert found["users"] == 1
    measure, asked = server_that_slows(limit_users=1, errors_from=1)
    found = capacity.search(measure, ramp=(5, 10), bisections=3)
    assert found["users"] == 0
    assert found["rps_at_capacity"] == 0.0
    assert found["p95_at_capacity_ms"] is None


def test_every_step_holding_says_the_ramp_ran_out():
    """Capacity beyond the last count is reported as at least that count, not as found."""
    measure, asked = server_that_slows(limit_users=1000)
    found = capacity.search(measure, ramp=(5, 10, 20), bisections=3)
    assert asked == [5, 10, 20]
    assert found["users"] == 20
    assert found["first_missed"] is None
    assert found["ramp_exhausted"]


def test_a_step_with_no_requests_does_not_hold():
    """A step that measured nothing cannot show that the limit held."""
    assert not capacity.holds({"requests": 0, "errors": 0, "p95_ms": 0.0})
    assert capacity.holds({"requests": 1, "errors": 0, "p95_ms": 200.0})
    assert not capacity.holds({"requests": 1, "errors": 0, "p95_ms": 200.1})


def test_a_tool_failure_ends_the_search_with_what_was_found():
    """locust failing twice on a step stops the search; the result keeps the steps that held
    and says which tool failed and why."""
    measure, _ = server_that_slows(limit_users=66)
    calls = []

    def flaky(users: int) -> dict:
        calls.append(users)

        def run() -> dict:
            if users == 40:
                raise ToolFailure("locust", "Traceback …\ngevent.Timeout: spawning took too long")
            return measure(users)

        return retry_then_report(run, f"{users} users", log=lambda line: None)

    found = capacity.search(flaky, ramp=(5, 10, 20, 40, 80), bisections=3)
    assert calls == [5, 10, 20, 40]
    assert found["users"] == 20
    assert found["failed"]["tool"] == "locust"
    assert found["failed"]["attempts"] == 2
    assert "spawning took too long" in found["failed"]["summary"]
    assert found["steps"][-1]["users"] == 40
    assert "failed" in found["steps"][-1]


def test_the_ramp_stops_where_the_accounts_run_out():
    """Every simulated person signs in with an account of their own: 30 therapists carry at
    most 100 mixed users (3 in 10 are therapists)."""
    accounts = {"patients": ["p"] * 1000, "therapists": ["t"] * 30}
    assert capacity.ramp_for(accounts, (5, 10, 20, 40, 80, 160)) == [5, 10, 20, 40, 80]
    accounts = {"patients": ["p"] * 14, "therapists": ["t"] * 30}
    assert capacity.ramp_for(accounts, (5, 10, 20, 40)) == [5, 10, 20]
