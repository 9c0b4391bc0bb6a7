"""Latency and throughput with wrk, and the mixed 60-second load with locust.

wrk replays a list of signed-in GET requests (bench/wrk/rotate.lua) at a fixed number of
connections; the same settings run against a bare route of the app in the same bench run, so
the ratio of the two cancels out how fast (or busy) the machine is.
"""

# ruff: noqa: S603 - a benchmark tool: it runs the commands it is written to run

from __future__ import annotations

import csv
import json
import os
import subprocess
import tempfile
from pathlib import Path

from bench.attempts import ToolFailure

HERE = Path(__file__).resolve().parent
#: What Chromium sends; pages are measured compressed, as people receive them.
BROWSER_ENCODING = "gzip, deflate, br, zstd"
#: How much longer than its spawn a steady locust run may take to get everyone signed in (the
#: locustfile waits up to 90 s for them, then measures anyway).
READY_BOUND_SECONDS = 100


def wrk_connections(args) -> int:
    """Requests in flight at once: one per core unless told (more only queue for the CPU)."""
    return args.connections or os.cpu_count() or 1


def wrk(url: str, requests: list[tuple[str, str]], *, connections: int, seconds: int) -> dict:
    """Run wrk against ``url`` replaying (path, cookie header) pairs; returns its numbers."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as listing:
        listing.writelines(f"{path}\t{cookie}\n" for path, cookie in requests)
    command = [
        "wrk",
        f"-t{min(2, connections)}",  # wrk needs at least one connection per thread
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(HERE / "wrk" / "rotate.lua"),
        url,
        "--",
        listing.name,
        BROWSER_ENCODING,
    ]
    load_before = load_average()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    Path(listing.name).unlink()
    line = next((line for line in done.stdout.splitlines() if line.startswith("BENCH_JSON ")), "")
    if done.returncode or not line:
        raise ToolFailure("wrk", f"exit {done.returncode} on {url}: {done.stderr or done.stdout}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds_run = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "errors": raw["not_ok"] + raw["socket_errors"],
        "rps": round(raw["requests"] / seconds_run, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p95_ms": round(raw["p95_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "connections": connections,
        "seconds": seconds,
        "load_average_before": load_before,
    }


def load_average() -> float:
    """The machine's 1-minute load average (other work on a shared machine shows here)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return -1.0


def locust(
    locust_bin: str,
    url: str,
    users_file: Path,
    *,
    users: int,
    seconds: int,
    spawn_rate: int = 10,
    steady: bool = False,
) -> dict:
    """The mixed load (bench/locustfile.py): ``users`` signed-in people for ``seconds``.

    ``steady``: the statistics are reset once every user is spawned and signed in, and
    ``seconds`` of steady load follow (bench.capacity; the locustfile stops the run); otherwise
    the spawn is counted in.
    """
    prefix = Path(tempfile.mkdtemp(prefix="kap-locust-")) / "run"
    # A steady run ends itself; its run time only bounds the spawn and the sign-ins.
    spawning = -(-users // spawn_rate) + READY_BOUND_SECONDS if steady else 0
    command = [
        locust_bin,
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{seconds + spawning}s",
        "--host",
        url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={
            **_env_without_kap(),
            "BENCH_LOCUST_USERS": str(users_file),
            "BENCH_LOCUST_SIGN_INS": f"{prefix}_sign_in_failures.json",
            **({"BENCH_LOCUST_STEADY_SECONDS": str(seconds)} if steady else {}),
        },
        check=False,
    )
    try:
        rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))  # noqa: SIM115
        total = next(row for row in rows if row["Name"] == "Aggregated")
        failures = list(csv.DictReader(open(f"{prefix}_failures.csv")))  # noqa: SIM115
    except (OSError, StopIteration):  # no statistics: locust itself failed, and says why
        raise ToolFailure("locust", f"exit {run.returncode}: {run.stderr or run.stdout}") from None
    # Failed sign-ins that a steady run's reset of the statistics hid: all of them, less any
    # made after the reset (a sign-in slower than the locustfile's wait for everyone).
    signed_out = _sign_in_failures(Path(f"{prefix}_sign_in_failures.json")) if steady else []
    still_counted = sum(int(row["Failure Count"]) for row in rows if row["Name"] == "sign in")
    hidden = signed_out[still_counted:]
    return {
        "users": users,
        "seconds": seconds,
        "requests": int(total["Request Count"]),
        "errors": int(total["Failure Count"]) + len(hidden),
        "rps": round(float(total["Requests/s"]), 1),
        "p50_ms": _ms(total["50%"]),
        "p95_ms": _ms(total["95%"]),
        "p99_ms": _ms(total["99%"]),
        "by_request": {
            row["Name"]: {
                "requests": int(row["Request Count"]),
                "errors": int(row["Failure Count"]),
                "p95_ms": _ms(row["95%"]),
            }
            for row in rows
            if row["Name"] != "Aggregated"
        },
        "failures": [f"{row['Occurrences']} x {row['Name']}: {row['Error']}" for row in failures]
        + [f"1 x sign in before the reset: {failure}" for failure in hidden],
        "exit_code": run.returncode,
    }


def _sign_in_failures(path: Path) -> list[str]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # locust ended before its quitting event: nothing known
        return []


def _ms(value: str) -> float:
    """A locust percentile: ``N/A`` when nothing was measured (then no time at all)."""
    try:
        return float(value)
    except ValueError:
        return 0.0


def _env_without_kap() -> dict:
    import os

    return {key: value for key, value in os.environ.items() if not key.startswith("KAP_")}
