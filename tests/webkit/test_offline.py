"""Offline in Safari's engine: session mode starts from the phone's cache with the server gone,
an entry written then waits in the outbox, and arrives exactly once when the server returns.

WebKitWebDriver has no offline switch: the live server is stopped instead, which is what a
phone sees in a basement (requests fail at once); the service worker answers from its cache.
"""

from __future__ import annotations

import re

from selenium.webdriver.common.by import By

from tests.webkit.pages import (
    FIRST_PROMPT,
    WALKTHROUGH,
    api,
    button,
    go,
    labelled,
    sign_in,
    tap,
    text_of,
    tick_required,
    wait,
    wait_js,
)

ENTRY = "Written in the dark with no signal: the second track felt like rain."
OUTBOX_EMPTY = (
    "return import('/static/js/lib/outbox.js').then((m) => m.list()).then((l) => l.length === 0)"
)


def _controlled(driver) -> None:
    """Wait until the service worker controls this page (reload once if it activated after
    the page's navigation began, as tests/browser/test_offline.py explains)."""
    wait_js(
        driver,
        "return navigator.serviceWorker.getRegistration()"
        ".then((r) => r?.active?.state === 'activated')",
        seconds=60,
    )
    if not driver.execute_script("return Boolean(navigator.serviceWorker.controller)"):
        driver.refresh()
        wait_js(driver, "return Boolean(navigator.serviceWorker.controller)")


def test_session_starts_from_cache_and_offline_entry_syncs_once(driver, live_server):
    """Ready offline; server gone: Start session from cache, the prompt, an entry saved on the
    phone; server back: the start and the entry arrive, the entry once."""
    base = live_server.url
    sign_in(driver, base)
    session_id = next(
        s["id"] for s in api(driver, "/api/v1/sessions")["sessions"]
        if s["template_name"] == WALKTHROUGH
    )  # fmt: skip
    go(driver, base, f"/patient/sessions/{session_id}")
    tick_required(driver)
    wait(
        driver,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, "[data-offline-ready]").get_attribute("data-state")
            == "ready"
        ),
        seconds=60,
        what="ready offline",
    )
    _controlled(driver)
    go(driver, base, "/patient/journal/new")  # the shell of a new entry is in the cache too
    _controlled(driver)
    before = {e["client_id"] for e in api(driver, "/api/v1/journal")["entries"]}

    live_server.stop()
    go(driver, base, f"/patient/sessions/{session_id}")
    wait(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, "[data-offline-banner]").is_displayed(),
        what="the offline page",
    )
    ticked = wait(
        driver,
        lambda d: labelled(d, "No food for 6 hours before my session"),
        what="the stored checklist",
    )
    assert ticked.is_selected()
    start = wait(
        driver,
        lambda d: button(d, "Start session").is_enabled() and button(d, "Start session"),
        what="Start enabled",
    )
    tap(driver, start)
    wait(
        driver,
        lambda d: re.search(rf"/patient/sessions/{session_id}/mode\?device=1$", d.current_url),
        what="session mode from the phone",
    )
    wait_js(driver, "return document.getElementById('sm')?.dataset.phase === 'session'")
    wait(driver, lambda d: text_of(d, "#sm-prompt") == FIRST_PROMPT, seconds=15, what="prompt")

    go(driver, base, "/patient/journal/new")
    wait(
        driver, lambda d: labelled(d, "What would you like to write?"), what="the entry form"
    ).send_keys(ENTRY)
    tap(driver, button(driver, "Save entry"))
    wait(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, "[data-journal-saved]").is_displayed(),
        what="saved on this phone",
    )
    assert "will sync" in text_of(driver, "[data-journal-saved]")

    live_server.start()
    go(driver, base, "/patient/journal")  # a load flushes the outbox
    wait_js(driver, OUTBOX_EMPTY, seconds=30)
    driver.refresh()  # more flushes: nothing may arrive twice
    wait_js(driver, OUTBOX_EMPTY)
    arrived = [e for e in api(driver, "/api/v1/journal")["entries"] if e["client_id"] not in before]
    assert [e["body"] for e in arrived] == [ENTRY]
    detail = api(driver, f"/api/v1/sessions/{session_id}")
    assert detail["status"] == "session" and detail["started_at"]
