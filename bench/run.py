"""``make bench``: the production profile on a fresh PostgreSQL database, measured end to end.

Steps: install the tools (bench.tools); create two databases on KAP_BENCH_POSTGRES (default
postgres@127.0.0.1:5432, trust auth) — the full data set and a 10-patient one; migrate and
generate both; count SQL statements per page in each; serve the app and a bare Flask route
under gunicorn; sign people in; weigh and audit the pages (Playwright + axe-core, Lighthouse);
measure latency and throughput (wrk); run the mixed 60-second load (locust); search the
capacity of one app server (bench.capacity); then, in a third database, the same pages at ten
times the data (``--no-ten-times`` skips it); drop the databases; write bench-results.json
and docs/benchmarks.md (bench.report). A measuring tool that fails is retried once, then
reported as a failed row (bench.attempts).
Exit status 1 when a budget is missed (the report is written either way).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench import attempts, capacity, load, report, servers, tools
from bench.httpclient import client_for, sign_in

PASSWORD = "bench-password"  # noqa: S105 - bench.datagen.BENCH_PASSWORD (not imported: no app here)
TOTP_SECRET = "KAPBENCHKAPBENCHKAPBENCHKAPBENCH"  # noqa: S105 - bench.datagen.BENCH_TOTP_SECRET
#: The signed-in floor (issue 18) is measured in alternating rounds: the app's bare route, then
#: the bare Flask app, this many times, each run this long.
FLOOR_ROUNDS = 3
FLOOR_SECONDS = 10
#: The bare Flask app's one route, unsigned (bench/bare_app.py).
BARE_FLASK_REQUESTS = [("/", "")]
SMALL_SCALE = ["--therapists", "1", "--patients", "10", "--sessions", "60", "--entries", "100",
               "--checkins", "100", "--slug", "small"]  # fmt: skip


def _bench_env(database_url: str) -> dict:
    """The production profile's settings, with fresh secrets for this run."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("KAP_") or k == "KAP_WORKERS"}
    return {
        **keep,
        "KAP_ENV": "production",
        "KAP_DATABASE_URL": database_url,
        "KAP_RATELIMIT_STORAGE_URI": os.environ.get("KAP_BENCH_REDIS", "redis://127.0.0.1:6379/15"),
        "KAP_SECRET_KEY": secrets.token_urlsafe(48),
        "KAP_AUDIT_KEY": secrets.token_urlsafe(48),
        "KAP_DATA_KEYS": "bench:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "KAP_INSTANCE_PATH": tempfile.mkdtemp(prefix="kap-bench-instance-"),
    }


def _email(role: str, number: int) -> str:
    return f"therapist{number:02d}@bench.test" if role == "therapist" else (
        f"patient{number:04d}@bench.test"
    )  # fmt: skip


def _therapist_of(patient_number: int) -> int:
    return (patient_number - 1) % 50 + 1  # bench.rows: patient i is cared for by therapist i % 50


def _start_a_session(base: str, patient, session_id: int) -> int:
    """Tick the required checklist of the patient's session (readied for today by
    bench.session_day) and start it (session mode)."""
    client = client_for(base, patient)
    detail = client.json("GET", f"/api/v1/sessions/{session_id}")
    for item in detail["checklist"]:
        path = f"/api/v1/sessions/{session_id}/checklist/{item['id']}"
        client.json("PUT", path, {"checked": True})
    client.json("POST", f"/api/v1/sessions/{session_id}/phase", {"phase": "session"})
    return session_id


def _typical_patient(base: str) -> tuple[int, object, int]:
    """Of the first seven patients (all past their course), the one with the median entries."""
    counted = []
    for number in range(1, 8):
        person = sign_in(base, _email("patient", number), PASSWORD)
        entries = client_for(base, person).json("GET", "/api/v1/journal")["entries"]
        counted.append((len(entries), number, person))
    counted.sort(key=lambda item: item[0])
    entries, number, person = counted[len(counted) // 2]
    return number, person, entries


def measure(args, base: str, bare: str, tool_paths: dict, work: Path, env: dict) -> dict:
    """Everything measured against the running servers."""
    results: dict = {}
    number, patient, entries = _typical_patient(base)
    therapist = sign_in(base, _email("therapist", _therapist_of(number)), PASSWORD, TOTP_SECRET)
    in_session = sign_in(base, _email("patient", 8), PASSWORD)  # half-way through a course
    today = servers.run_app_command(env, "bench.session_day", _email("patient", 8), capture=True)
    session_id = _start_a_session(base, in_session, int(today.strip().splitlines()[-1]))
    pages = {
        "sign-in": ("/signin", None),
        "patient home": ("/patient/", patient.cookie),
        "session mode": (f"/patient/sessions/{session_id}/mode", in_session.cookie),
        "journal": ("/patient/journal", patient.cookie),
        "therapist dashboard": ("/therapist/", therapist.cookie),
        "patient timeline": (f"/therapist/patients/{patient.user_id}", therapist.cookie),
    }
    results["subjects"] = {"journal_entries_of_page_patient": entries, "pages": {
        name: path for name, (path, _) in pages.items()}}  # fmt: skip
    print("--- page weight and axe-core (Playwright, Chromium)", flush=True)
    from bench import pages as page_audit

    results["pages"] = page_audit.audit(base, pages, tool_paths["axe"])
    print("--- Lighthouse (mobile)", flush=True)
    from bench import lighthouse

    results["lighthouse"] = {
        name: attempts.retry_then_report(
            lambda path=path, cookie=cookie: lighthouse.run(
                tool_paths["lighthouse"], base + path, f"kap_session={cookie}" if cookie else None
            ),
            f"Lighthouse: {name}",
        )
        for name, (path, cookie) in pages.items()
    }
    print("--- latency and throughput (wrk)", flush=True)
    results["latency"] = _latency(args, base, bare)
    print("--- signed-in floor: the app's bare route and a bare Flask app, alternately", flush=True)
    results["floor"] = _floor(args, base, bare)
    print("--- 50 simultaneous sign-ins", flush=True)
    results["signin_rush"] = _sign_in_rush(base)
    print(f"--- mixed load: {args.users} users for {args.load_seconds} s (locust)", flush=True)
    users_file = _accounts_file(work / "locust-users.json", range(101, 161), range(21, 51))
    results["load"] = attempts.retry_then_report(
        lambda: load.locust(
            str(tool_paths["locust"]), base, users_file, users=args.users, seconds=args.load_seconds
        ),
        "mixed load",
    )
    results["capacity"] = {
        "one app server": _capacity(args, base, tool_paths, work),
        "two app servers behind nginx": _capacity_behind_nginx(args, env, tool_paths, work),
    }
    return results


def _capacity_behind_nginx(args, env: dict, tool_paths: dict, work: Path) -> dict:
    """Capacity of two gunicorn instances behind deploy/'s nginx (TLS, HTTP/2 to browsers,
    HTTP/1.1 keepalive upstream), with half the workers each: the same machine and the same
    number of processes as one app server, so the row shows what the proxy and a second
    instance cost or buy, not more hardware."""
    from kap.dev.proxy import start_nginx

    workers = max(1, args.workers // 2)
    env = {**env, "KAP_TRUSTED_PROXIES": "1"}  # as deploy/kap.env.example: one proxy in front
    print(f"--- two app servers ({workers} workers each) behind nginx", flush=True)
    with (
        servers.gunicorn(
            "bench.serve_app:app", servers.free_port(), workers, env, "/healthz",
            work / "app-a.log",
        ) as first,
        servers.gunicorn(
            "bench.serve_app:app", servers.free_port(), workers, env, "/healthz",
            work / "app-b.log",
        ) as second,
    ):  # fmt: skip
        upstreams = [url.removeprefix("http://") for url in (first, second)]
        proxy = start_nginx(work / "nginx", upstreams)
        try:
            return _capacity(args, proxy.https_url, tool_paths, work)
        finally:
            proxy.stop()


def _accounts_file(path: Path, patients: range, therapists: range) -> Path:
    """The accounts the simulated people of a locust run sign in with (bench/locustfile.py)."""
    path.write_text(json.dumps({
        "patients": [_email("patient", n) for n in patients],
        "therapists": [_email("therapist", n) for n in therapists],
        "password": PASSWORD,
        "totp_secret": TOTP_SECRET,
    }))  # fmt: skip
    return path


def _capacity(args, base_url: str, tool_paths: dict, work: Path) -> dict:
    """Capacity of the deployment at ``base_url`` (bench.capacity), with every bench account
    the other measurements leave free: patients 161-2000 and all 50 therapists (their
    one-time codes of the earlier runs have expired by the time the ramp signs them in)."""
    print(f"--- capacity at {base_url}: ramp {args.capacity_ramp} (locust)", flush=True)
    accounts = _accounts_file(work / "capacity-users.json", range(161, 2001), range(1, 51))
    return capacity.capacity(
        base_url, str(tool_paths["locust"]), accounts, ramp=args.capacity_ramp,
        seconds=args.capacity_seconds, bisections=args.capacity_bisections,
    )  # fmt: skip


def _sign_in_rush(base: str) -> dict:
    """Fifty patients (none signed in by another step) sign in at the same moment, as on a
    group session day: how long each waits behind argon2id (bench/signin_rush.py)."""
    from bench.signin_rush import rush

    return rush(base, [_email("patient", n) for n in range(301, 351)], PASSWORD)


def _latency(args, base: str, bare: str) -> dict:
    """The pages and the app's bare route (bench.run._page_latency), then, for context, a bare
    Flask app."""
    runs = _page_latency(args, base)
    runs["bare Flask app"] = _timed(args, bare, BARE_FLASK_REQUESTS)
    return runs


def _page_latency(args, base: str) -> dict:
    """wrk on the measured pages, each signed in as 10 therapists or 20 patients, between two
    runs of the yardstick: a route of this app that does nothing of its own, requested signed
    in (bench/serve_app.py)."""
    therapists = [
        sign_in(base, _email("therapist", n), PASSWORD, TOTP_SECRET) for n in range(2, 12)
    ]
    patients = [sign_in(base, _email("patient", n), PASSWORD) for n in range(11, 31)]
    sessions = []
    for person in patients:
        listed = client_for(base, person).json("GET", "/api/v1/sessions")["sessions"]
        sessions.append((f"/api/v1/sessions/{listed[-1]['id']}", person.cookie_header))
    targets = {
        "therapist dashboard": [("/therapist/", t.cookie_header) for t in therapists],
        "journal": [("/patient/journal", p.cookie_header) for p in patients],
        "session detail": sessions,
    }
    bare_routes = [("/bench/bare", p.cookie_header) for p in patients]
    in_app_before = _timed(args, base, bare_routes)
    runs = {name: _timed(args, base, requests) for name, requests in targets.items()}
    in_app_after = _timed(args, base, bare_routes)
    runs["bare route in the app"] = _yardstick(in_app_before, in_app_after)
    return runs


def _floor(args, base: str, bare: str) -> dict:
    """The signed-in floor (issue 18): the app's bare route, signed in as 20 patients, and the
    bare Flask app, run by turns FLOOR_ROUNDS times, so that each pair sees the machine in the
    same state (runs minutes apart on a shared machine drifted by 15 % here); the ratio is the
    median of the rounds' ratios."""
    patients = [sign_in(base, _email("patient", n), PASSWORD) for n in range(11, 31)]
    in_app = [("/bench/bare", p.cookie_header) for p in patients]
    connections = load.wrk_connections(args)

    def rps(url: str, requests: list[tuple[str, str]], seconds: int) -> float:
        return load.wrk(url, requests, connections=connections, seconds=seconds)["rps"]

    def run() -> dict:
        rps(base, in_app, 3)  # warm-ups, not counted
        rps(bare, BARE_FLASK_REQUESTS, 3)
        # Each round's dict is built in order: the app's run, then the bare app's.
        rounds = [
            {"app_rps": rps(base, in_app, FLOOR_SECONDS),
             "bare_rps": rps(bare, BARE_FLASK_REQUESTS, FLOOR_SECONDS)}
            for _ in range(FLOOR_ROUNDS)
        ]  # fmt: skip
        ratio = statistics.median(r["app_rps"] / r["bare_rps"] for r in rounds)
        return {"rounds": rounds, "ratio": round(ratio, 3)}

    return attempts.retry_then_report(run, "wrk signed-in floor")


def _timed(args, url: str, requests: list[tuple[str, str]]) -> dict:
    """One wrk measurement (after a warm-up), retried once if wrk fails, then reported."""
    connections = load.wrk_connections(args)

    def run() -> dict:
        load.wrk(url, requests, connections=connections, seconds=3)  # warm-up, not counted
        result = load.wrk(url, requests, connections=connections, seconds=args.seconds)
        # For context: as many requests at once as there are workers, so they queue for CPU.
        result["wide"] = load.wrk(url, requests, connections=args.workers, seconds=10)
        return result

    return attempts.retry_then_report(run, f"wrk {requests[0][0]}")


def _yardstick(before: dict, after: dict) -> dict:
    """The bare route's runs before and after the pages, as one: their mean req/s."""
    measured = [run for run in (before, after) if not attempts.is_failed(run)]
    if not measured:
        return before
    return {
        **measured[0],
        "rps": round(statistics.mean(run["rps"] for run in measured), 1),
        "runs_rps": [run["rps"] for run in measured],
    }


def ten_times(args, server: str, name: str, work: Path, patient_email: str) -> dict:
    """The same pages at ten times the data (DESIGN §5 Capacity: 20,000 patients, 1,000,000
    journal entries) in a database of their own: the data's generation time, statements per
    page (about ``patient_email``, the benchmark set's subject: the same patient number has
    the same place in their course at any scale) and wrk's numbers beside the app's bare
    route, on a server of their own."""
    if not args.ten_times:
        return {"skipped": "--no-ten-times (or KAP_BENCH_TEN_TIMES=0)"}
    try:
        env = _bench_env(servers.create_database(server, name))
        servers.run_app_command(env, "flask", "db", "upgrade", capture=True)
        print(f"--- bench data at {args.ten_times_factor}x (timed)", flush=True)
        data_report = work / "data-x10.json"
        servers.run_app_command(
            env,
            "bench.datagen",
            "--times",
            str(args.ten_times_factor),
            "--report",
            str(data_report),
        )
        results = {"data": json.loads(data_report.read_text())}
        print("--- SQL statements per page at 10x", flush=True)
        counted = servers.run_app_command(
            env, "bench.queries", "bench", patient_email, capture=True
        )
        results["queries"] = json.loads(counted)
        print("--- latency and throughput at 10x (wrk)", flush=True)
        with servers.gunicorn(
            "bench.serve_app:app", servers.free_port(), args.workers, env, "/healthz",
            work / "app-x10.log",
        ) as base:  # fmt: skip
            results["latency"] = _page_latency(args, base)
        return results
    finally:
        servers.drop_database(server, name)


def _counts(text: str) -> list[int]:
    """``5,10,20`` → [5, 10, 20] (argparse type of --capacity-ramp)."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not counts or any(count < 1 for count in counts) or counts != sorted(set(counts)):
        raise argparse.ArgumentTypeError(f"want rising counts of 1 or more: {text!r}")
    return counts


def main(argv: list[str] | None = None) -> int:
    """Run the whole benchmark; write the report; exit 1 if a budget is missed."""
    parser = argparse.ArgumentParser(description="make bench")
    parser.add_argument("--workers", type=int, default=servers.default_workers())
    parser.add_argument("--connections", type=int, default=0, help="wrk connections (cores)")
    parser.add_argument("--seconds", type=int, default=20, help="each wrk run")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument(
        "--capacity-ramp", type=_counts, default=list(capacity.RAMP),
        help="user counts to step through, e.g. 5,10,20 (then bisected)",
    )  # fmt: skip
    parser.add_argument("--capacity-seconds", type=int, default=30, help="steady load per step")
    parser.add_argument("--capacity-bisections", type=int, default=capacity.BISECTIONS)
    parser.add_argument(
        "--no-ten-times", dest="ten_times", action="store_false",
        default=os.environ.get("KAP_BENCH_TEN_TIMES", "1") != "0",
        help="skip the 10x data set (about 10 more minutes; also KAP_BENCH_TEN_TIMES=0)",
    )  # fmt: skip
    parser.add_argument(
        "--ten-times-factor", type=int, default=10, help="for short trial runs of the bench only"
    )
    args = parser.parse_args(argv)

    tools.ensure_debian_tools()
    lighthouse_bin, axe = tools.ensure_node_tools()
    locust_bin = tools.ensure_locust()
    tool_paths = {"lighthouse": lighthouse_bin, "axe": axe, "locust": locust_bin}
    server = os.environ.get("KAP_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
    stamp = f"{int(time.time())}_{os.getpid()}"
    # A shared server can hold several runs at once (KAP_BENCH_DB_PREFIX tells them apart).
    prefix = os.environ.get("KAP_BENCH_DB_PREFIX", "kap_bench")
    names = {"full": f"{prefix}_{stamp}", "small": f"{prefix}_small_{stamp}"}
    work = Path(tempfile.mkdtemp(prefix="kap-bench-"))
    tempfile.tempdir = str(work)  # every temporary file of the run goes here, removed at the end
    results: dict = {"meta": report.meta(args, tools.versions(lighthouse_bin, locust_bin))}
    try:
        envs = {}
        for size, name in names.items():
            envs[size] = _bench_env(servers.create_database(server, name))
            servers.run_app_command(envs[size], "flask", "db", "upgrade", capture=True)
        print("--- make bench-data (full set, timed)", flush=True)
        data_report = work / "data.json"
        servers.run_app_command(envs["full"], "bench.datagen", "--report", str(data_report))
        results["data"] = json.loads(data_report.read_text())
        servers.run_app_command(envs["small"], "bench.datagen", *SMALL_SCALE, capture=True)
        print("--- SQL statements per page (10 patients, then 2,000)", flush=True)
        results["queries"] = {
            size: json.loads(
                servers.run_app_command(envs[size], "bench.queries", slug, capture=True)
            )
            for size, slug in (("small", "small"), ("full", "bench"))
        }
        print(f"--- serving (gunicorn, {args.workers} workers each)", flush=True)
        with (
            servers.gunicorn(
                "bench.serve_app:app", servers.free_port(), args.workers, envs["full"],
                "/healthz", work / "app.log",
            ) as base,
            servers.gunicorn(
                "bench.bare_app:app", servers.free_port(), args.workers, envs["full"],
                "/", work / "bare.log",
            ) as bare,
        ):  # fmt: skip
            results.update(measure(args, base, bare, tool_paths, work, envs["full"]))
        subject = results["queries"]["full"]["subjects"]["patient_email"]
        results["ten_times"] = ten_times(args, server, f"{prefix}_x10_{stamp}", work, subject)
    finally:
        for name in names.values():
            servers.drop_database(server, name)
        shutil.rmtree(work, ignore_errors=True)
    passed = report.write(results)
    verdict = "all budgets met" if passed else "BUDGETS MISSED"
    print(f"--- report: docs/benchmarks.md, bench-results.json ({verdict})")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
