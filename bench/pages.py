"""First-load weight and accessibility of each page, in Chromium through Playwright.

Each page loads in a fresh phone-sized browser context (empty cache, as a first visit), with
the signed-in person's session cookie. Transferred bytes are what Chromium reports for the
document, stylesheets and scripts (headers plus the compressed body); anything else the
page fetches (icons, the manifest, API calls) is reported apart. Then axe-core (npm
``axe-core``) is injected and run; its violations are listed by rule.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COUNTED = {"document": "html", "stylesheet": "css", "script": "js"}


def audit(base: str, pages: dict[str, tuple[str, str | None]], axe_script: Path) -> dict:
    """For each name → (path, session cookie or None): bytes by kind and axe violations."""
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        phone = playwright.devices["Pixel 7"]
        for name, (path, cookie) in pages.items():
            # bypass_csp: the page's CSP (rightly) refuses the injected axe-core script.
            context = browser.new_context(**phone, bypass_csp=True)
            if cookie:
                context.add_cookies([{"name": "kap_session", "value": cookie, "url": base}])
            results[name] = _one_page(context, base + path, axe_script)
            context.close()
        browser.close()
    return results


def _one_page(context, url: str, axe_script: Path) -> dict:
    page = context.new_page()
    transfers: list[tuple[str, str, int]] = []

    def finished(request) -> None:
        sizes = request.sizes()
        transfers.append(
            (
                request.resource_type,
                request.url,
                sizes["responseHeadersSize"] + sizes["responseBodySize"],
            )
        )

    page.on("requestfinished", finished)
    console_errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text[:300]))
    page.on("pageerror", lambda error: console_errors.append(str(error)[:300]))
    response = page.goto(url, wait_until="networkidle")
    status = response.status if response else 0
    final_url = page.url
    page.add_script_tag(path=str(axe_script))
    outcome = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help}))"
    )
    page.close()
    kinds = {"html": 0, "css": 0, "js": 0, "other": 0}
    files = []
    for resource_type, resource_url, size in transfers:
        kind = COUNTED.get(resource_type, "other")
        kinds[kind] += size
        files.append({"type": resource_type, "url": resource_url, "bytes": size})
    return {
        "status": status,
        "final_url": final_url,
        "bytes": kinds,
        "html_css_js_bytes": kinds["html"] + kinds["css"] + kinds["js"],
        "files": files,
        "axe_violations": outcome,
        "console_errors": console_errors,
    }
