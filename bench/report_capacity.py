"""The capacity part of the report (DESIGN §5 Capacity): budget rows and docs/benchmarks.md's
sections for the capacity searches and the pages at ten times the data.

Every figure stands beside a bare route of the app measured in the same run, so a busy or
slow machine shows as a lower yardstick, not as a slower app.
"""

from __future__ import annotations

from bench import attempts
from bench.report_text import _table as table

HOW = """
### How capacity is measured

- **Capacity** (`bench/capacity.py`): the mixed load of locust (as above) with 5, 10, 20,
  40, 80, then 160 users, each step its own run: the users sign in while they are spawned,
  the statistics are reset once every one of them has signed in, and 30 s of steady load are
  measured (failed sign-ins still count as errors; the sign-in rush has a row of its own).
  The first count whose p95 exceeds 200 ms or that has any error ends the ramp; the gap to
  the last count that held is then bisected three times. Every person signs in
  with an account of their own, so the ramp stops where the bench's 50 therapists run out
  (166 users). `capacity(base_url, ...)` takes any address: one gunicorn here, nginx in front
  of several app servers for the two-server row. Options: `--capacity-ramp 5,10,20`,
  `--capacity-seconds`, `--capacity-bisections`.
- **Ten times the data**: a third database with `bench.datagen --times 10` (20,000 patients,
  500 therapists so each still has about 40, 120,000 sessions, 1,000,000 journal entries,
  200,000 check-ins), its own gunicorn, the same wrk runs of the pages and of the app's bare
  route, and statements per page counted as for the 2,000-patient set. `--no-ten-times` or
  `KAP_BENCH_TEN_TIMES=0` skips it.
- **Ratios**: each run's pages are set against the app's bare route measured by the same
  server in the same run (req/s ÷ bare); "p95 ratio" is p95 at ten times over p95 at the
  benchmark set.
- **Tools that fail**: Lighthouse, wrk or locust exiting without a result is tried once more,
  then reported as a failed row with the tool's own last words (`bench/attempts.py`); the
  rest of the bench goes on.
"""
#: The pages measured at both data sizes (bench.run._page_latency).
PAGES = ("therapist dashboard", "journal", "session detail")
#: bench.queries' names of the same pages, for statements per page.
STATEMENT_PAGES = {
    "therapist dashboard": "therapist dashboard",
    "journal": "journal",
    "session detail": "session detail (API)",
}


def _row(budget: str, target: str, measured: str, passed: bool) -> dict:
    return {"budget": budget, "target": target, "measured": measured, "pass": bool(passed)}


def _yardstick(latency: dict | None) -> float | None:
    """Requests per second of the app's bare route in a run, when it was measured."""
    if latency is None or attempts.is_failed(latency.get("bare route in the app")):
        return None
    return latency["bare route in the app"]["rps"]


def _users(count: int) -> str:
    return f"{count} user" if count == 1 else f"{count} users"


def capacity_found(found: dict) -> str:
    """'40 users (…)' as the budget table says it."""
    if found["users"] == 0:
        head = "0 users (the first step missed the limit)"
    else:
        head = f"{_users(found['users'])} ({found['rps_at_capacity']:.0f} req/s, p95 " + (
            f"{found['p95_at_capacity_ms']:.0f} ms)"
        )
    if found["ramp_exhausted"]:
        return head + "; every step held: at least this many"
    missed = next(s for s in found["steps"] if s["users"] == found["first_missed"])
    return head + (
        f"; {_users(missed['users'])} missed: p95 {missed['p95_ms']:.0f} ms, "
        f"{missed['errors']} errors"
    )


def budget_rows(results: dict) -> list[dict]:
    """Capacity per deployment, and statements per page at ten times the data."""
    rows = []
    for deployment, found in results.get("capacity", {}).items():
        budget = f"capacity: {deployment}"
        target = f"mixed users at p95 ≤ {found.get('p95_limit_ms', 200):.0f} ms, 0 errors"
        if attempts.is_failed(found):
            measured = attempts.failure_text(found)
            if found.get("users"):
                measured = f"{found['users']} users held before it: {measured}"
            rows.append(_row(budget, target, measured, False))
        else:
            rows.append(_row(budget, target, capacity_found(found), found["users"] > 0))
    ten = results.get("ten_times")
    if not ten or "skipped" in ten:
        return rows
    full, tenfold = results["queries"]["full"], ten["queries"]
    for name, count in tenfold["counts"].items():
        rows.append(
            _row(
                f"SQL statements at 10x: {name}",
                f"same for {full['patients']:,} and {tenfold['patients']:,} patients",
                f"{full['counts'].get(name)} / {count}",
                full["counts"].get(name) == count,
            )
        )
    return rows


def _ratio(numerator: float | None, denominator: float | None) -> str:
    return f"{numerator / denominator:.2f}" if numerator and denominator else "n/a"


def _capacity_markdown(results: dict) -> list[str]:
    out = []
    yardstick = _yardstick(results.get("latency"))
    for deployment, found in results.get("capacity", {}).items():
        out.append(f"\n### Capacity: {deployment}\n\n")
        if attempts.is_failed(found):
            out.append(f"Not measured to the end: {attempts.failure_text(found)}\n\n")
        else:
            out.append(
                f"{capacity_found(found)}. At capacity the app served "
                f"{_ratio(found['rps_at_capacity'], yardstick)} of its bare route's requests "
                f"per second in this run ({found['rps_at_capacity']:.0f} vs "
                f"{yardstick or 0:.0f} req/s, wrk). Steps of {found['seconds_per_step']} s "
                f"of steady load after every user signed in; ramp {found['ramp']}, then "
                "bisected.\n\n"
            )
        out.append(
            table(
                ["users", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "held"],
                [
                    [s["users"], attempts.failure_text(s), "", "", "", "", "", "tool failed"]
                    if attempts.is_failed(s)
                    else [
                        s["users"],
                        f"{s['requests']:,}",
                        s["errors"],
                        s["rps"],
                        s["p50_ms"],
                        s["p95_ms"],
                        s["p99_ms"],
                        "yes" if s["holds"] else "**no**",
                    ]
                    for s in found.get("steps", [])
                ],
            )
        )
    return out


def _ten_times_markdown(results: dict) -> list[str]:
    ten = results.get("ten_times")
    if not ten:
        return []
    out = ["\n### The same pages at ten times the data\n\n"]
    if "skipped" in ten:
        return [*out, f"Not run this time: {ten['skipped']}.\n"]
    data = ten["data"]
    out.append(
        f"Generated in {data['seconds'] / 60:.1f} min ({data['seconds']:.0f} s): "
        + ", ".join(f"{count:,} {name}" for name, count in data["rows"].items())
        + f". Statements are counted for the benchmark set's busiest patient and for the "
        f"patient of the same number here, who stands at the same place in their course "
        f"({results['queries']['full']['subject_entries']:,} and "
        f"{ten['queries']['subject_entries']:,} entries). Each size is served "
        "on its own and measured beside its own bare route; req/s ÷ bare is the page's "
        "share of the bare route's throughput in that same server's run.\n\n"
    )
    small_latency, ten_latency = results.get("latency") or {}, ten["latency"]
    bare_1, bare_10 = _yardstick(small_latency), _yardstick(ten_latency)
    one_size = f"{results['queries']['full']['patients']:,}"
    ten_size = f"{ten['queries']['patients']:,}"
    rows = []
    for name in PAGES:
        one, tenfold = small_latency.get(name), ten_latency.get(name)
        statements = STATEMENT_PAGES[name]
        rows.append(
            [
                name,
                _p95(one),
                _p95(tenfold),
                _ratio(_number(tenfold, "p95_ms"), _number(one, "p95_ms")),
                _ratio(_number(one, "rps"), bare_1),
                _ratio(_number(tenfold, "rps"), bare_10),
                results["queries"]["full"]["counts"].get(statements, "n/a"),
                ten["queries"]["counts"].get(statements, "n/a"),
            ]
        )
    rows.append(
        [
            "bare route in the app",
            "",
            "",
            "",
            f"{bare_1 or 0:.0f} req/s",
            f"{bare_10 or 0:.0f} req/s",
            "",
            "",
        ]
    )
    out.append(
        table(
            [
                "page",
                f"p95 ms, {one_size} patients",
                f"p95 ms, {ten_size}",
                "p95 ratio",
                f"req/s ÷ bare, {one_size}",
                f"req/s ÷ bare, {ten_size}",
                f"statements, {one_size}",
                f"statements, {ten_size}",
            ],
            rows,
        )
    )
    return out


def _number(run: dict | None, key: str) -> float | None:
    return None if attempts.is_failed(run) else run[key]


def _p95(run: dict | None) -> str:
    if run is None:
        return "n/a"
    return attempts.failure_text(run) if attempts.is_failed(run) else f"{run['p95_ms']}"


def markdown(results: dict) -> str:
    """The capacity and ten-times sections of docs/benchmarks.md."""
    return "".join([HOW, *_capacity_markdown(results), *_ten_times_markdown(results)])
