"""What the browser tests share: Chromium's settings, signing in, README screenshots."""

from __future__ import annotations

import os
from pathlib import Path

from tests.servers import ROOT

CHROMIUM = os.environ.get("KAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "docs" / "screenshots"


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot to docs/screenshots/ (kept for the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in(page, email: str, password: str = "demo-password") -> None:
    """Sign in through the real form, as a person would; returns once the page the form led
    to has loaded, stylesheets included, so a caller that measures its layout measures the
    styled page (the dashboard unstyled is 362 px wide on a 320 px phone)."""
    page.goto("/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def layout_shifts(page) -> list[str]:
    """The page's layout shifts since it loaded that no tap or key caused, as "value: nodes"
    lines (Chromium's Layout Instability API; an empty list is a page that held still)."""
    return page.evaluate(
        """() => new Promise((resolve) => {
            const shifts = [];
            const seen = (list) =>
                shifts.push(...list.getEntries().filter((e) => !e.hadRecentInput));
            const observer = new PerformanceObserver(seen);
            observer.observe({ type: 'layout-shift', buffered: true });
            setTimeout(() => {
                seen({ getEntries: () => observer.takeRecords() });
                observer.disconnect();
                resolve(shifts.map((e) => `${e.value.toFixed(4)}: ${e.sources
                    .map((s) => s.node?.outerHTML?.slice(0, 80) ?? '?').join(' ')}`));
            }, 300);
        })"""
    )


#: axe-core from npm (package.json; `make test` installs it with Biome).
AXE = Path(os.environ.get("KAP_AXE_JS", ROOT / "node_modules" / "axe-core" / "axe.min.js"))


def axe_violations(page) -> list[str]:
    """axe-core's violations on the page as "rule: targets" lines (an empty list is clean).

    Without axe-core the test skips, unless KAP_REQUIRE_BROWSER=1 (CI), where it fails.
    """
    import pytest

    if not AXE.exists():
        message = f"axe-core not found at {AXE}: run `make lint` (npm ci) or set KAP_AXE_JS"
        if os.environ.get("KAP_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    page.evaluate(AXE.read_text() + ";0")
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']}))"
        ".violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`)"
    )
