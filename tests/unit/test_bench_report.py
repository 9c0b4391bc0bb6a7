"""The bench report (bench.report, bench.report_text, bench.report_capacity) with failed tool
runs in it: each becomes a failed row with the tool's message, and the report is written."""

from bench import report, report_capacity, report_text
from bench.attempts import ToolFailure, retry_then_report

LIGHTHOUSE_SAYS = (
    "Runtime error encountered: Lighthouse was unable to reliably load the page | try again"
)


def failed(tool: str, message: str) -> dict:
    """What bench.attempts gives for a tool that failed twice."""

    def run() -> dict:
        raise ToolFailure(tool, message)

    return retry_then_report(run, tool, log=lambda line: None)


def wrk_run(p95: float, rps: float) -> dict:
    return {"requests": 1000, "errors": 0, "rps": rps, "p50_ms": p95 / 2, "p95_ms": p95,
            "p99_ms": p95 * 2, "max_ms": p95 * 3, "connections": 2, "seconds": 20,
            "load_average_before": 1.0, "wide": {"p50_ms": 1, "p95_ms": 2}}  # fmt: skip


def step(users: int, p95: float, holds: bool) -> dict:
    return {"users": users, "requests": users * 20, "errors": 0, "rps": users * 0.8,
            "p50_ms": p95 / 2, "p95_ms": p95, "p99_ms": p95 * 2, "holds": holds}  # fmt: skip


def results() -> dict:
    """A bench run in which Lighthouse failed on one page and the mixed load's locust died."""
    page = {"status": 200, "final_url": "", "bytes": {"html": 5000, "css": 9000, "js": 8000,
            "other": 100}, "html_css_js_bytes": 22000, "files": [], "axe_violations": [],
            "console_errors": []}  # fmt: skip
    counts = {"therapist dashboard": 9, "journal": 7, "session detail (API)": 8}
    latency = {name: wrk_run(12.0, 400.0) for name in ("therapist dashboard", "journal",
                                                        "session detail")}  # fmt: skip
    latency["bare route in the app"] = {**wrk_run(3.0, 1000.0), "runs_rps": [990.0, 1010.0]}
    latency["bare Flask app"] = wrk_run(1.0, 3000.0)
    ten_latency = {**latency, "journal": wrk_run(15.0, 360.0),
                   "bare route in the app": wrk_run(3.2, 900.0)}  # fmt: skip
    return {
        "meta": {
            "date": "2026-12-03 18:00 UTC",
            "commit": "abc1234",
            "cpus": 2,
            "cpu_model": "cpu",
            "platform": "linux",
            "workers": 4,
            "wrk_connections": 2,
            "wrk_seconds": 20,
            "load_average_at_start": "1 1 1",
            "tools": {},
        },
        "data": {"seconds": 60.0, "rows": {"journal_entries": 100_000}},
        "subjects": {"journal_entries_of_page_patient": 50, "pages": {"journal": "/j"}},
        "pages": {"journal": page, "patient home": page},
        "lighthouse": {
            "journal": failed("Lighthouse", f"exit 1 on http://127.0.0.1/j:\n{LIGHTHOUSE_SAYS}"),
            "patient home": {
                "scores": {"performance": 99, "accessibility": 100, "best-practices": 100},
                "failed_audits": [],
                "metrics": {},
                "html_css_js_bytes": 22000,
            },
        },
        "latency": latency,
        "floor": {
            "rounds": [
                {"app_rps": 1000.0, "bare_rps": 3000.0},
                {"app_rps": 900.0, "bare_rps": 3000.0},
                {"app_rps": 1200.0, "bare_rps": 3000.0},
            ],
            "ratio": 0.333,
        },
        "queries": {
            "small": {"patients": 10, "subject_entries": 20, "counts": counts},
            "full": {"patients": 2000, "subject_entries": 120, "counts": counts},
        },
        "load": failed("locust", "exit 2: gevent.exceptions.LoopExit"),
        "signin_rush": {"count": 50, "errors": 0, "p95_ms": 1450.0, "max_ms": 1600.0},
        "capacity": {
            "one app server": {
                "users": 40,
                "first_missed": 80,
                "rps_at_capacity": 32.0,
                "p95_at_capacity_ms": 150.0,
                "ramp_exhausted": False,
                "p95_limit_ms": 200.0,
                "ramp": [5, 10, 20, 40, 80],
                "seconds_per_step": 30,
                "base_url": "http://127.0.0.1:1",
                "steps": [step(20, 90.0, True), step(40, 150.0, True), step(80, 450.0, False)],
            },
        },
        "ten_times": {
            "data": {"seconds": 420.0, "rows": {"journal_entries": 1_000_000}},
            "queries": {
                "patients": 20000,
                "subject_entries": 150,
                "counts": {**counts, "journal": 8},
            },
            "latency": ten_latency,
        },
    }


def test_a_failed_tool_run_is_a_failed_budget_row_with_the_tools_message():
    """Lighthouse failing twice and locust dying give FAIL rows saying what the tool said;
    the other rows are measured as usual."""
    rows = {row["budget"]: row for row in report.budgets(results())}
    lighthouse = rows["Lighthouse: journal"]
    assert not lighthouse["pass"]
    assert lighthouse["measured"].startswith("Lighthouse failed (2 tries): ")
    assert "unable to reliably load the page" in lighthouse["measured"]
    assert rows["Lighthouse: patient home"]["pass"]
    assert not rows["mixed load"]["pass"]
    assert "LoopExit" in rows["mixed load"]["measured"]
    assert rows["p95 latency: journal"]["pass"]


def test_the_markdown_shows_failed_rows_on_one_line():
    """The report is written despite the failures; a tool's message with newlines and pipes
    stays inside its table cell."""
    run = results()
    text = report_text.markdown({**run, "budgets": report.budgets(run), "all_budgets_met": False})
    lighthouse_rows = [line for line in text.splitlines() if line.startswith("| journal | ")]
    assert any("Lighthouse failed (2 tries)" in line and "\\| try again" in line
               for line in lighthouse_rows)  # fmt: skip
    assert "Not measured: locust failed (2 tries): exit 2: gevent.exceptions.LoopExit" in text


def test_capacity_and_ten_times_rows_stand_beside_the_bare_route():
    """Capacity says the users that held and the step that missed; statements at 10x are
    judged against 2,000 patients; req/s are shares of each run's own bare route."""
    run = results()
    rows = {row["budget"]: row for row in report_capacity.budget_rows(run)}
    found = rows["capacity: one app server"]
    assert found["pass"]
    assert found["measured"] == (
        "40 users (32 req/s, p95 150 ms); 80 users missed: p95 450 ms, 0 errors"
    )
    assert rows["SQL statements at 10x: therapist dashboard"]["pass"]
    assert not rows["SQL statements at 10x: journal"]["pass"]
    assert rows["SQL statements at 10x: journal"]["measured"] == "7 / 8"
    text = report_capacity.markdown(run)
    assert "served 0.03 of its bare route's requests per second" in text
    assert "| journal | 12.0 | 15.0 | 1.25 | 0.40 | 0.40 | 7 | 8 |" in text
    assert "| 80 | 1,600 | 0 | 64.0 | 225.0 | 450.0 | 900.0 | **no** |" in text


def test_a_failed_capacity_search_is_a_failed_row_keeping_what_held():
    """locust failing twice mid-search: a FAIL row with its message and the users that held."""
    run = results()
    run["capacity"]["one app server"] = {
        **run["capacity"]["one app server"],
        **failed("locust", "exit 1: Traceback\nConnectionRefusedError"),
    }
    row = report_capacity.budget_rows(run)[0]
    assert not row["pass"]
    assert row["measured"] == (
        "40 users held before it: locust failed (2 tries): exit 1: Traceback / "
        "ConnectionRefusedError"
    )
    assert "Not measured to the end: locust failed" in report_capacity.markdown(run)


def test_skipped_ten_times_says_so():
    """--no-ten-times leaves no statement rows at 10x and a line saying why."""
    run = {**results(), "ten_times": {"skipped": "--no-ten-times"}}
    assert [row["budget"] for row in report_capacity.budget_rows(run)] == [
        "capacity: one app server"
    ]
    assert "Not run this time: --no-ten-times." in report_capacity.markdown(run)


def test_the_signed_in_floor_is_a_budget_row_against_bare_flask():
    """Issue 18's floor: the median of the alternating rounds' ratios of the app's bare route
    over the bare Flask app, at least 0.35, each round shown; under it the row fails, and a
    failed wrk run is a failed row."""
    budget = "signed-in floor: bare route of the app vs a bare Flask app"
    run = results()
    floor = {row["budget"]: row for row in report.budgets(run)}[budget]
    assert not floor["pass"]
    assert floor["measured"] == (
        "0.33 (median of 3 alternating rounds, req/s: 1000 vs 3000; 900 vs 3000; 1200 vs 3000)"
    )
    run["floor"]["ratio"] = 0.35
    assert {row["budget"]: row for row in report.budgets(run)}[budget]["pass"]
    run["floor"] = failed("wrk", "exit 1 on http://127.0.0.1:1/bench/bare: connection refused")
    floor = {row["budget"]: row for row in report.budgets(run)}[budget]
    assert not floor["pass"] and "connection refused" in floor["measured"]
