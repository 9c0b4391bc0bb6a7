"""docs/benchmarks.md: how the benchmark works, then the numbers of the last run."""

from __future__ import annotations

from bench import attempts

USAGE = """\
# Benchmarks

Budgets come from DESIGN §5 and issue 8. They are measured here, by `make bench`, and never
by timed assertions in unit tests (those check only exact things: SQL statements per page,
cache headers, compression — `tests/integration/test_perf.py`). This file is rewritten by
every `make bench`; the text above **Results** lives in `bench/report_text.py`.

## Commands

- **`make bench-data`** — writes the benchmark data set into the configured database
  (`KAP_DATABASE_URL`; SQLite by default, or PostgreSQL) after `flask db upgrade`: one clinic
  (slug `bench`), 50 therapists, 2,000 patients, 12,000 sessions, 100,000 journal entries,
  20,000 check-ins (PHQ-9 and GAD-7), plus comments, read marks, clinical notes and a few
  safety alerts; text lengths follow real use (journal entries: median about 600
  characters, up to 5,000). Bulk inserts (PostgreSQL `COPY`) with explicit ids, so the
  columns encrypted at rest are encrypted before the insert, bound to their row as the
  models do it. Options: `.venv/bin/python -m bench.datagen --help` (smaller sets, another
  slug). It refuses to run twice into one database (the slug exists).
  - Accounts: `admin@bench.test`, `therapist01@bench.test` … `therapist50@bench.test`,
    `patient0001@bench.test` … `patient2000@bench.test`. **Every account shares one argon2id
    hash of the password `bench-password`** (hashing 2,051 passwords would take minutes and
    measure nothing). The clinic requires a second factor for clinicians, as real clinics
    do: every bench therapist has TOTP on with the shared secret
    `KAPBENCHKAPBENCHKAPBENCHKAPBENCH` (any authenticator app, or `bench/totp.py`).
    Never load this data set into a database that real people use.
- **`make serve`** — the production profile: `KAP_ENV=production`, migrations, then gunicorn
  with `KAP_WORKERS` sync workers (default 2 x cores) on `HOST:PORT` (default
  127.0.0.1:5000, behind your TLS proxy). It needs `KAP_DATABASE_URL` (PostgreSQL),
  `KAP_RATELIMIT_STORAGE_URI` (Redis, shared by the workers), `KAP_SECRET_KEY`,
  `KAP_AUDIT_KEY` and `KAP_DATA_KEYS`, and refuses to start without them. Cookies are
  Secure, so sign-in works only through HTTPS. Extra gunicorn flags: `GUNICORN_CMD_ARGS`
  (for example `--access-logfile -`).
  Static files are served under a content digest (`/static/v-<digest>/css/app.css`) with
  `Cache-Control: public, max-age=31536000, immutable`, and the service worker's version
  includes that digest, so phones precache the new files after a deploy; HTML, CSS, JS, JSON
  and SVG are compressed (zstd, brotli or gzip, as the browser accepts) by Flask-Compress
  (`kap/web/static_files.py`, on in every profile; digests in production only).
- **`make bench`** — everything below on a fresh PostgreSQL database, then this report and
  `bench-results.json`. Needs PostgreSQL on 127.0.0.1:5432 (user `postgres`, trust auth;
  override with `KAP_BENCH_POSTGRES=postgresql+psycopg://user@host:port`) and Redis on
  127.0.0.1:6379 (`KAP_BENCH_REDIS`, default database 15). On first use it installs what it
  needs: Debian `wrk`, `chromium`, `nodejs`, `npm` (as root), npm `lighthouse` and
  `axe-core` into `.bench-tools/node`, `locust` into `.bench-tools/venv` — all pinned in
  `bench/tools.py`, all outside the package and git-ignored. It takes about 10 minutes and
  exits 1 when a budget is missed. Options: `.venv/bin/python -m bench.run --help`.

## How it measures

- **The server** is the production profile with one difference: the bench app
  (`bench/serve_app.py`) subclasses `ProductionConfig` only to drop the Secure flag from the
  session cookie, because the benchmark talks plain http to 127.0.0.1 and a Secure cookie
  would never come back. Secrets are fresh random values per run; the database is created
  for the run and dropped after it. The production settings themselves are untouched.
- **Sign-in** goes through `POST /api/v1/session` like any client (therapists send a TOTP
  code); the tools then replay the session cookie (`--extra-headers` for Lighthouse, a
  context cookie for Playwright, a `Cookie` header for wrk).
- **Page weight** is Chromium's own count (Playwright, Pixel 7 profile, empty cache) of the
  bytes transferred for the document, stylesheets and scripts: headers plus compressed body.
  Icons, the manifest and API calls are listed apart; the service worker's background
  precache is not part of a page's first load and is not counted.
- **Lighthouse** 12 runs with its mobile defaults (simulated slow 4G, so scores are
  comparable on a busy machine). **axe-core** is injected into each loaded page with
  Playwright (the context bypasses CSP only for that injection).
- **Latency and throughput**: wrk with one connection per core (the busiest load at which a
  request waits for nothing but its own work; the budget is the page's latency, not the
  queue), `Accept-Encoding: gzip, deflate, br, zstd` as Chromium sends it, rotating over 10
  therapists' dashboards, 20 patients' journals and their session details
  (`GET /api/v1/sessions/{id}`).
  The same runs with as many connections as gunicorn has workers (requests then queue for
  the CPU) are shown beside them. The throughput yardstick is a bare route of the app
  itself (`/bench/bare` in `bench/serve_app.py`: no work of its own, but every request's
  sign-in session lookup, headers and compression check), requested by the same signed-in
  patients before and after the pages; the journal's requests per second are compared with
  the mean of those two runs, so the machine's speed cancels out. A bare Flask app
  (`bench/bare_app.py`, no session, no database) is measured with the same settings, for
  context.
- **Signed-in floor** (what every signed-in request costs before any page work, issue 18):
  the app's bare route, signed in as 20 patients, and the bare Flask app, by turns, 3 rounds
  of 10 s each, so that both sides of each round see the machine in the same state; the app's
  bare route must reach 0.35 of the bare Flask app's requests per second (the median of the
  rounds' ratios).
- **SQL statements per page** are counted in-process (SQLAlchemy events, Flask test client,
  the same settings) for the busiest patient of a 10-patient database and of the full
  2,000-patient one.
- **Mixed load**: locust, 50 users (7 in 10 patients, 3 in 10 therapists) each signed in
  with their own account, 0.5 to 2 s between steps, for 60 s: patients open home, journal,
  sessions and write entries through the API the outbox way (a `client_id`, sometimes sent
  twice: the second answer must be 200 with the same entry); therapists open their
  dashboard, timelines and shared entries. Any other answer counts as an error.
"""


def _kb(value: int) -> str:
    return f"{value / 1000:.1f}"


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    """A table cell on one line (a tool's message can hold newlines and pipes)."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _failed(name: str, result: dict, columns: int) -> list:
    """A table row for a tool run that failed: the tool's message, then empty cells."""
    return [name, attempts.failure_text(result), *[""] * (columns - 2)]


def markdown(results: dict) -> str:
    """The whole file."""
    meta = results["meta"]
    out = [USAGE, "## Results\n"]
    verdict = "every budget met" if results["all_budgets_met"] else "**budgets missed**"
    out.append(
        f"Run of {meta['date']} on commit {meta['commit']}: {verdict}. Machine: "
        f"{meta['cpus']} cores ({meta['cpu_model']}), {meta['platform']}; gunicorn "
        f"{meta['workers']} sync workers; wrk {meta['wrk_connections']} connections x "
        f"{meta['wrk_seconds']} s per run; load average at start {meta['load_average_at_start']} "
        "(the machine may be shared: compare with the bare route of the same run). Tools: "
        + ", ".join(f"{k} {v}" for k, v in meta["tools"].items())
        + ".\n"
    )
    out.append(
        _table(
            ["budget", "target", "measured", "result"],
            [
                [r["budget"], r["target"], r["measured"], "pass" if r["pass"] else "**FAIL**"]
                for r in results["budgets"]
            ],
        )
    )
    out.append("\n### Page weight (first load, bytes transferred, KB = 1,000 bytes)\n")
    out.append(
        _table(
            ["page", "HTML", "CSS", "JS", "HTML+CSS+JS", "other (icons, manifest, API)"],
            [
                [
                    name,
                    _kb(p["bytes"]["html"]),
                    _kb(p["bytes"]["css"]),
                    _kb(p["bytes"]["js"]),
                    _kb(p["html_css_js_bytes"]),
                    _kb(p["bytes"]["other"]),
                ]
                for name, p in results["pages"].items()
            ],
        )
    )
    errors = {n: p["console_errors"] for n, p in results["pages"].items() if p["console_errors"]}
    if errors:
        out.append(
            "\nBrowser console errors on first load: "
            + "; ".join(f"{name}: {' | '.join(found)}" for name, found in errors.items())
            + "\n"
        )
    subjects = results["subjects"]
    out.append(
        f"\nPaths: {', '.join(f'{n} `{p}`' for n, p in subjects['pages'].items())}. The "
        f"journal and timeline belong to a patient with "
        f"{subjects['journal_entries_of_page_patient']} entries (the median of the first "
        "seven bench patients).\n"
    )
    out.append("\n### Lighthouse (mobile)\n")
    out.append(
        _table(
            [
                "page",
                "performance",
                "accessibility",
                "best practices",
                "FCP ms",
                "LCP ms",
                "TBT ms",
                "HTML+CSS+JS KB (Lighthouse)",
                "audits not passed",
            ],
            [
                _failed(name, r, 9)
                if attempts.is_failed(r)
                else [
                    name,
                    r["scores"]["performance"],
                    r["scores"]["accessibility"],
                    r["scores"]["best-practices"],
                    r["metrics"].get("first-contentful-paint", ""),
                    r["metrics"].get("largest-contentful-paint", ""),
                    r["metrics"].get("total-blocking-time", ""),
                    _kb(r["html_css_js_bytes"]),
                    ", ".join(r["failed_audits"]) or "none",
                ]
                for name, r in results["lighthouse"].items()
            ],
        )
    )
    out.append("\n### Latency and throughput (wrk)\n")
    out.append(
        _table(
            [
                "endpoint",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "req/s",
                "requests",
                "errors",
                f"p50 / p95 ms, {results['meta']['workers']} connections",
                "load average before",
            ],
            [
                _failed(name, r, 10)
                if attempts.is_failed(r)
                else [
                    name,
                    r["p50_ms"],
                    r["p95_ms"],
                    r["p99_ms"],
                    r["max_ms"],
                    r["rps"],
                    f"{r['requests']:,}",
                    r["errors"],
                    f"{r['wide']['p50_ms']} / {r['wide']['p95_ms']}",
                    r["load_average_before"],
                ]
                for name, r in results["latency"].items()
            ],
        )
    )
    latency = results["latency"]
    in_app, bare_app = latency["bare route in the app"], latency["bare Flask app"]
    if not any(attempts.is_failed(r) for r in (in_app, bare_app, latency["journal"])):
        out.append(
            f"\nBare route of the app, runs before and after the pages: {in_app['runs_rps']} "
            f"req/s. For context, the journal against a bare Flask app (`bench/bare_app.py`): "
            f"{latency['journal']['rps'] / bare_app['rps']:.2f} "
            f"({latency['journal']['rps']:.0f} vs {bare_app['rps']:.0f} req/s).\n"
        )
    out.append("\n### SQL statements per request\n")
    small, full = results["queries"]["small"], results["queries"]["full"]
    out.append(
        _table(
            [
                "page",
                f"{small['patients']} patients (busiest: {small['subject_entries']} entries)",
                f"{full['patients']:,} patients (busiest: {full['subject_entries']} entries)",
            ],
            [[name, small["counts"].get(name), count] for name, count in full["counts"].items()],
        )
    )
    load = results["load"]
    if attempts.is_failed(load):
        out.append(f"\n### Mixed load (locust)\n\nNot measured: {attempts.failure_text(load)}\n")
        load = {"by_request": {}, "failures": []}
    else:
        out.append(
            f"\n### Mixed load (locust): {load['users']} users, {load['seconds']} s\n\n"
            f"{load['requests']:,} requests, {load['errors']} errors, {load['rps']} req/s; "
            f"p50 {load['p50_ms']} ms, p95 {load['p95_ms']} ms, p99 {load['p99_ms']} ms.\n\n"
        )
    out.append(
        _table(
            ["request", "count", "errors", "p95 ms"],
            [
                [name, r["requests"], r["errors"], r["p95_ms"]]
                for name, r in load["by_request"].items()
            ],
        )
    )
    if load["failures"]:
        out.append("\nFailures: " + "; ".join(load["failures"]) + "\n")
    data = results["data"]
    out.append(
        f"\n### Data set\n\nGenerated in {data['seconds']:.1f} s: "
        + ", ".join(f"{count:,} {name}" for name, count in data["rows"].items())
        + ".\n"
    )
    return "\n".join(out)
