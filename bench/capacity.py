"""Capacity (DESIGN §5): the most concurrent mixed users a deployment serves at p95 ≤ 200 ms
with no errors.

The user count is stepped up a ramp (5, 10, 20, 40, 80, 160) until a step misses the limit,
then bisected between the last count that held and the first that did not. Each step is its
own locust run of the mixed load (bench/locustfile.py): the users sign in while they are
spawned, then, once all of them have, the statistics are reset and ``seconds`` of steady load
are measured, so a step's p95 is the pages' and the API's, not the sign-in rush's (measured
on its own).
:func:`search` is the pure part (any ``measure(users)``); :func:`capacity` points it at a
base URL: one app server, or several behind nginx.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import attempts, load

P95_LIMIT_MS = 200.0
RAMP = (5, 10, 20, 40, 80, 160)
#: Bisection steps after the ramp: 40 held, 80 did not → 60, 70 or 50, 65 or 55…
BISECTIONS = 3
#: Share of the mixed users who are therapists (bench/locustfile.py: weights 7 and 3).
THERAPIST_SHARE = 0.3


def holds(step: dict, p95_limit_ms: float = P95_LIMIT_MS) -> bool:
    """A step holds when it served requests, none failed, and p95 stayed within the limit."""
    return step["requests"] > 0 and step["errors"] == 0 and step["p95_ms"] <= p95_limit_ms


def search(
    measure: Callable[[int], dict],
    ramp: Sequence[int] = RAMP,
    bisections: int = BISECTIONS,
    p95_limit_ms: float = P95_LIMIT_MS,
) -> dict:
    """The largest user count that holds: up the ramp, then bisect the gap.

    ``measure(users)`` returns locust's numbers (requests, errors, p95_ms, rps) or a failed
    tool run (bench.attempts), which ends the search: the result then carries ``failed``
    beside what was found so far. ``users`` is 0 when even the first count did not hold;
    ``ramp_exhausted`` says the last count held (the capacity is at least that).
    """
    steps: list[dict] = []
    held, missed = 0, None

    def step(users: int) -> bool | None:
        result = measure(users)
        if attempts.is_failed(result):
            steps.append({"users": users, **result})
            return None
        verdict = holds(result, p95_limit_ms)
        steps.append({**result, "users": users, "holds": verdict})
        return verdict

    def outcome(failed: dict | None = None) -> dict:
        best = next((s for s in steps if s.get("holds") and s["users"] == held), None)
        result = {
            "users": held,
            "first_missed": missed,
            "rps_at_capacity": best["rps"] if best else 0.0,
            "p95_at_capacity_ms": best["p95_ms"] if best else None,
            "ramp_exhausted": missed is None and bool(steps),
            "p95_limit_ms": p95_limit_ms,
            "steps": steps,
        }
        return {**result, "failed": failed} if failed else result

    for users in ramp:
        verdict = step(users)
        if verdict is None:
            return outcome(steps[-1]["failed"])
        if not verdict:
            missed = users
            break
        held = users
    for _ in range(bisections):
        if missed is None or missed - held <= 1:
            break
        users = (held + missed) // 2
        verdict = step(users)
        if verdict is None:
            return outcome(steps[-1]["failed"])
        held, missed = (users, missed) if verdict else (held, users)
    return outcome()


def ramp_for(accounts: dict, ramp: Sequence[int] = RAMP) -> list[int]:
    """The ramp cut to what the accounts allow: every simulated person signs in with an
    account of their own (a therapist's one-time code cannot serve two sign-ins at once)."""
    most = min(
        int(len(accounts["therapists"]) / THERAPIST_SHARE),
        int(len(accounts["patients"]) / (1 - THERAPIST_SHARE)),
    )
    return [users for users in ramp if users <= most]


def capacity(
    base_url: str,
    locust_bin: str,
    users_file: Path,
    *,
    ramp: Sequence[int] = RAMP,
    seconds: int = 30,
    bisections: int = BISECTIONS,
    spawn_rate: int = 10,
    p95_limit_ms: float = P95_LIMIT_MS,
) -> dict:
    """Capacity of the deployment at ``base_url`` (one gunicorn, or nginx in front of
    several) under the mixed load; each step is retried once if locust itself fails. The
    ramp stops where the accounts of ``users_file`` run out (``ramp`` in the result)."""
    ramp = ramp_for(json.loads(users_file.read_text()), ramp)

    def measure(users: int) -> dict:
        print(f"    {users} users…", flush=True)
        return attempts.retry_then_report(
            lambda: load.locust(
                locust_bin,
                base_url,
                users_file,
                users=users,
                seconds=seconds,
                spawn_rate=spawn_rate,
                steady=True,
            ),
            f"capacity step of {users} users",
        )

    found = search(measure, ramp, bisections, p95_limit_ms)
    return {**found, "ramp": ramp, "seconds_per_step": seconds, "base_url": base_url}
