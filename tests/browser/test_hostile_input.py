"""A hostile shared entry runs no script in the therapist's browser; it reads as text."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import sign_in

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


@pytest.fixture
def laptop(browser, base_url):
    """A 1280 by 800 desktop page for the therapist."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base_url)
    yield context.new_page()
    context.close()


def assert_nothing_ran(page: Page) -> None:
    """Neither the inline script nor the onerror handler set the flag."""
    assert page.evaluate("typeof window.__pwned") == "undefined"


def wait_until_stored(page: Page, body: str, seconds: float = 10) -> dict:
    """The entry as the server has it (the form may save through the offline outbox)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        entries = page.request.get("/api/v1/journal").json()["entries"]
        found = [e for e in entries if e["body"] == body]
        if found:
            return found[0]
        page.wait_for_timeout(200)
    raise AssertionError("the hostile entry never reached the server")


def test_hostile_shared_entry_runs_no_script_for_the_therapist(page: Page, laptop: Page):
    """The patient shares markup; the therapist's timeline and entry page show it as text."""
    sign_in(page, "patient@demo.test")
    page.goto("/patient/journal/new")
    page.get_by_label("What would you like to write?").fill(HOSTILE)
    page.get_by_label("Share this entry with my care team").check()
    page.get_by_role("button", name="Save entry").click()
    entry = wait_until_stored(page, HOSTILE)
    assert entry["shared"] is True
    page.goto("/patient/journal")
    expect(page.get_by_text(HOSTILE).first).to_be_visible()
    assert_nothing_ran(page)

    sign_in(laptop, "therapist@demo.test")
    expect(laptop).to_have_url("/therapist/")
    laptop.get_by_role("link", name="Pat Jordan").click()
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Pat Jordan")
    expect(laptop.get_by_text(HOSTILE).first).to_be_visible()
    assert_nothing_ran(laptop)

    laptop.goto(f"/therapist/entries/{entry['id']}")
    expect(laptop.get_by_text(HOSTILE).first).to_be_visible()
    assert laptop.locator("img[src='x']").count() == 0
    assert laptop.locator("main script").count() == 0
    assert_nothing_ran(laptop)
