"""Preparation on a slow phone: a tick made while the page's script is still loading is saved
once it runs (a fresh CI machine found the tick shown as done but never sent)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import sign_in
from tests.browser.test_offline import PATIENT, walkthrough_id

NO_FOOD = "No food for 6 hours before my session"


@pytest.fixture(scope="module")
def browser_context_args(browser_context_args):
    """Without the service worker: it would answer the script from its cache, where
    page.route cannot hold it back."""
    return {**browser_context_args, "service_workers": "block"}


def test_a_tick_made_before_the_script_runs_is_saved(page: Page):
    """The box is ticked while prepare.js is held back; once it runs, the tick is saved
    ("Saved."), and a reload shows it ticked by the server, not by the browser."""
    sign_in(page, PATIENT)
    session_id = walkthrough_id(page)
    held = []
    page.route("**/static/js/pages/prepare.js*", lambda route: held.append(route))
    page.goto(f"/patient/sessions/{session_id}", wait_until="commit")
    for _ in range(200):  # 10 s at most
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "prepare.js was never requested"
    box = page.get_by_label(NO_FOOD)
    box.check()
    held[0].continue_()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    page.unroute("**/static/js/pages/prepare.js*")
    ticks = page.request.get(f"/api/v1/sessions/{session_id}").json()["checklist"]
    assert next(item["checked"] for item in ticks if item["text"] == NO_FOOD)
    page.goto(f"/patient/sessions/{session_id}")  # a new page: the server's own state
    expect(page.get_by_label(NO_FOOD)).to_be_checked()
    expect(page.get_by_text("1 of 4 done")).to_be_visible()
