"""Lighthouse (npm ``lighthouse``, Debian Chromium) scores of a page, mobile settings.

Performance is modelled on a slow 4G phone (Lighthouse's default simulated throttling), so it
is comparable from run to run on a busy machine. Signed-in pages get the session cookie
through ``--extra-headers``.
"""

# ruff: noqa: S603 - a benchmark tool: it runs the commands it is written to run

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from bench.attempts import ToolFailure

CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
)
CATEGORIES = ("performance", "accessibility", "best-practices")


def run(lighthouse_bin: Path, url: str, cookie_header: str | None) -> dict:
    """Scores (0-100) per category, failed audits of the non-performance categories, bytes.

    Raises ToolFailure with Lighthouse's own message when it exits non-zero (its "Please run
    Lighthouse again" trace failures are the tool's, not the page's: Chromium loses a trace
    now and then on a busy machine); the bench retries once, then reports (bench.attempts).
    """
    out = Path(tempfile.mkdtemp(prefix="kap-lighthouse-")) / "report.json"
    command = [
        str(lighthouse_bin),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={out}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--form-factor=mobile",
        "--max-wait-for-load=60000",
        f"--chrome-flags={CHROME_FLAGS}",
    ]
    if cookie_header:
        command.append(f"--extra-headers={json.dumps({'Cookie': cookie_header})}")
    env = {**os.environ, "CHROME_PATH": "/usr/bin/chromium"}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise ToolFailure("Lighthouse", f"no result in 300 s on {url}") from None
    if done.returncode != 0 or not out.exists():  # say why: Lighthouse explains itself on stderr
        raise ToolFailure("Lighthouse", f"exit {done.returncode} on {url}: {done.stderr[-3000:]}")
    report = json.loads(out.read_text())
    scores = {name: round((report["categories"][name]["score"] or 0) * 100) for name in CATEGORIES}
    failed = []
    for name in ("accessibility", "best-practices"):
        for ref in report["categories"][name]["auditRefs"]:
            result = report["audits"][ref["id"]]
            if ref["weight"] and result["score"] is not None and result["score"] < 1:
                failed.append(f"{name}: {ref['id']}")
    summary = report["audits"].get("resource-summary", {}).get("details", {}).get("items", [])
    transfer = {item["resourceType"]: item["transferSize"] for item in summary}
    audits = report["audits"]
    return {
        "scores": scores,
        "failed_audits": failed,
        "html_css_js_bytes": sum(
            transfer.get(kind, 0) for kind in ("document", "stylesheet", "script")
        ),
        "final_url": report.get("finalDisplayedUrl") or report.get("finalUrl"),
        "metrics": {
            key: round(audits[key]["numericValue"])
            for key in ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time")
            if key in audits
        },
    }
