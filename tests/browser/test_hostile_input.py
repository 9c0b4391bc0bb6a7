"""A hostile shared entry runs no script in the therapist's browser; it reads as text."""

from __future__ import annotations

import re

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


def stored_entry(page: Page, body: str) -> dict:
    """The entry as the server has it."""
    entries = page.request.get("/api/v1/journal").json()["entries"]
    found = [e for e in entries if e["body"] == body]
    assert found, "the hostile entry never reached the server"
    return found[0]


def test_hostile_shared_entry_runs_no_script_for_the_therapist(page: Page, laptop: Page):
    """The patient shares markup; the therapist's timeline and entry page show it as text."""
    sign_in(page, "patient@demo.test")
    page.goto("/patient/journal/new")
    page.get_by_label("What would you like to write?").fill(HOSTILE)
    page.get_by_label("Share this entry with my care team").check()
    page.get_by_role("button", name="Save entry").click()
    # Once the outbox has sent it the form moves to the journal by itself; a goto of our own
    # would race that navigation.
    expect(page.get_by_text("Saved and shared with your care team.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/patient/journal#entry-\d+$"))
    entry = stored_entry(page, HOSTILE)
    assert entry["shared"] is True
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
