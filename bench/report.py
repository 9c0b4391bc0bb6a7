"""Turns a bench run's numbers into budget verdicts, bench-results.json and docs/benchmarks.md."""

# ruff: noqa: S607 - a benchmark tool: it runs the commands it is written to run

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bench import attempts, load, report_capacity, report_text

ROOT = Path(__file__).resolve().parent.parent
PAGE_BUDGET_BYTES = 60_000  # "60 KB", read strictly as 60,000 bytes
P95_BUDGET_MS = 30.0
#: A signed-in request that does nothing, against a bare Flask app in the same run (issue 18):
#: what every signed-in request costs before any page work.
FLOOR_BUDGET = 0.35
LATENCY_PAGES = ("therapist dashboard", "journal", "session detail")
LIGHTHOUSE_TARGET = "perf ≥ 95, a11y 100, best practices 100"


def meta(args, tool_versions: dict) -> dict:
    """Where and how this run was made."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "workers": args.workers,
        "wrk_connections": load.wrk_connections(args),
        "wrk_seconds": args.seconds,
        "load_average_at_start": _load_average(),
        "tools": tool_versions,
    }


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _row(budget: str, target: str, measured: str, passed: bool) -> dict:
    return {"budget": budget, "target": target, "measured": measured, "pass": bool(passed)}


def _failed_row(budget: str, target: str, result: dict) -> dict:
    """A measurement whose tool failed twice: a missed budget, with the tool's message."""
    return _row(budget, target, attempts.failure_text(result), False)


def _floor_row(floor: dict) -> dict:
    """Issue 18's floor: the median of the alternating rounds' ratios, each round shown."""
    budget = "signed-in floor: bare route of the app vs a bare Flask app"
    if attempts.is_failed(floor):
        return _failed_row(budget, f"≥ {FLOOR_BUDGET}", floor)
    rounds = "; ".join(f"{r['app_rps']:.0f} vs {r['bare_rps']:.0f}" for r in floor["rounds"])
    return _row(budget, f"≥ {FLOOR_BUDGET}",
                f"{floor['ratio']:.2f} (median of {len(floor['rounds'])} alternating rounds, "
                f"req/s: {rounds})",
                floor["ratio"] >= FLOOR_BUDGET)  # fmt: skip


def budgets(results: dict) -> list[dict]:
    """Every budget of DESIGN §5 and issue 8, with the measured value and a verdict."""
    rows = []
    seconds = results["data"]["seconds"]
    rows.append(_row("make bench-data (full set)", "≤ 120 s", f"{seconds:.0f} s", seconds <= 120))
    for name, page in results["pages"].items():
        size = page["html_css_js_bytes"]
        rows.append(
            _row(f"first load: {name}", "HTML+CSS+JS ≤ 60 KB", f"{size / 1000:.1f} KB",
                 size <= PAGE_BUDGET_BYTES and page["status"] == 200)
        )  # fmt: skip
    foreign = [
        f["url"]
        for page in results["pages"].values()
        for f in page["files"]
        if not f["url"].startswith(("http://127.0.0.1", "data:", "blob:")) or f["type"] == "font"
    ]
    rows.append(
        _row("no web fonts, no third-party hosts", "none", ", ".join(foreign) or "none",
             not foreign)
    )  # fmt: skip
    for name, result in results["lighthouse"].items():
        if attempts.is_failed(result):
            rows.append(_failed_row(f"Lighthouse: {name}", LIGHTHOUSE_TARGET, result))
            continue
        s = result["scores"]
        ok = s["performance"] >= 95 and s["accessibility"] == 100 and s["best-practices"] == 100
        rows.append(
            _row(f"Lighthouse: {name}", LIGHTHOUSE_TARGET,
                 f"{s['performance']} / {s['accessibility']} / {s['best-practices']}", ok)
        )  # fmt: skip
    for name, page in results["pages"].items():
        found = page["axe_violations"]
        rows.append(
            _row(f"axe-core: {name}", "0 violations",
                 ", ".join(f"{v['id']} ({v['nodes']})" for v in found) or "0", not found)
        )  # fmt: skip
    latency = results["latency"]
    for name in LATENCY_PAGES:
        run = latency[name]
        if attempts.is_failed(run):
            rows.append(_failed_row(f"p95 latency: {name}", f"≤ {P95_BUDGET_MS:.0f} ms", run))
            continue
        rows.append(
            _row(f"p95 latency: {name}", f"≤ {P95_BUDGET_MS:.0f} ms",
                 f"{run['p95_ms']:.1f} ms ({run['errors']} errors)",
                 run["p95_ms"] <= P95_BUDGET_MS and run["errors"] == 0)
        )  # fmt: skip
    throughput = "journal throughput vs a bare route of the app"
    failed = next((run for run in (latency["journal"], latency["bare route in the app"])
                   if attempts.is_failed(run)), None)  # fmt: skip
    if failed:
        rows.append(_failed_row(throughput, "≥ 1/3 (0.33)", failed))
    else:
        yardstick = latency["bare route in the app"]["rps"]
        ratio = latency["journal"]["rps"] / yardstick
        rows.append(
            _row(throughput, "≥ 1/3 (0.33)",
                 f"{ratio:.2f} ({latency['journal']['rps']:.0f} vs {yardstick:.0f} req/s)",
                 ratio >= 1 / 3)
        )  # fmt: skip
    rows.append(_floor_row(results["floor"]))
    small, full = results["queries"]["small"]["counts"], results["queries"]["full"]["counts"]
    for name in full:
        rows.append(
            _row(f"SQL statements: {name}", "same for 10 and 2,000 patients",
                 f"{small.get(name)} / {full[name]}", small.get(name) == full[name])
        )  # fmt: skip
    rush = results["signin_rush"]
    rows.append(
        _row(f"{rush['count']} simultaneous sign-ins", "0 errors (p95 reported)",
             f"p95 {rush.get('p95_ms', '-')} ms, max {rush.get('max_ms', '-')} ms "
             f"({rush['errors']} errors)", rush["errors"] == 0)
    )  # fmt: skip
    run = results["load"]
    if attempts.is_failed(run):
        rows.append(_failed_row("mixed load", "0 errors", run))
    else:
        rows.append(
            _row(f"mixed load: {run['users']} users, {run['seconds']} s", "0 errors",
                 f"{run['errors']} errors in {run['requests']:,} requests", run["errors"] == 0
                 and run["requests"] > 0)
        )  # fmt: skip
    rows += report_capacity.budget_rows(results)
    return rows


def write(results: dict) -> bool:
    """Write bench-results.json and docs/benchmarks.md; True when every budget is met."""
    rows = budgets(results)
    results = {**results, "budgets": rows, "all_budgets_met": all(r["pass"] for r in rows)}
    for page in results["pages"].values():
        page["files"] = sorted(page["files"], key=lambda f: -f["bytes"])
    (ROOT / "bench-results.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = report_text.markdown(results) + report_capacity.markdown(results)
    (ROOT / "docs" / "benchmarks.md").write_text(markdown)
    return results["all_budgets_met"]
