"""The demo Walkthrough end to end on a phone: prepare, session mode, downtime, journal."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.helpers import screenshot, sign_in


def _begin_music_if_asked(page: Page) -> None:
    begin = page.get_by_role("button", name="Tap to begin the music")
    if begin.is_visible():
        begin.click()


def test_walkthrough_from_preparation_to_a_shared_and_a_private_entry(page: Page):
    """Tick, intend, start; the prompt shows, downtime follows, then two journal entries."""
    page.clock.install()
    sign_in(page, "patient@demo.test")
    page.get_by_role("link", name="Prepare for this session").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Prepare for your session")

    start = page.get_by_role("button", name="Start session")
    expect(start).to_be_disabled()
    for label in (
        "No food for 6 hours before my session",
        "No alcohol in the last 24 hours",
        "A ride home is arranged",
    ):
        page.get_by_label(label).check()
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(start).to_be_enabled()
    page.get_by_role("textbox", name="Your intention").fill(
        "To let the music carry me, and to notice."
    )
    page.get_by_role("button", name="Save intention").click()
    expect(page.get_by_text("Intention saved.")).to_be_visible()
    screenshot(page, "prepare-phone")

    page.get_by_role("button", name="Start session").click()
    expect(page).to_have_url(re.compile(r"/patient/sessions/\d+/mode$"))
    _begin_music_if_asked(page)
    page.clock.run_for(6_000)
    expect(page.locator("#sm-prompt")).to_contain_text("Put on your eye mask")

    page.clock.run_for(110_000)  # the 112-second playlist ends
    expect(page.locator("#sm-rest")).to_be_visible()
    expect(page.locator("#sm-prompt")).not_to_be_visible()

    page.clock.run_for(61_000)  # one minute of downtime
    page.get_by_role("link", name="Open your integration journal").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome back")
    expect(page.get_by_text("What stood out most?")).to_be_visible()

    page.get_by_role("link", name="Write an entry").click()
    page.get_by_label("What would you like to write?").fill(
        "The music felt like a tide.\nI want to talk about the second track."
    )
    page.get_by_label("Share this entry with my care team").check()
    page.get_by_role("button", name="Save entry").click()
    expect(page.get_by_text("Saved and shared with your care team.")).to_be_visible()

    page.get_by_role("link", name="New entry").click()
    page.get_by_label("What would you like to write?").fill("Just for me: I felt lighter.")
    page.get_by_role("button", name="Save entry").click()
    expect(page.get_by_text("Saved. Only you can read it.")).to_be_visible()
    expect(page.get_by_text("Shared: Dr. Tess Rivera can read it and reply.").first).to_be_visible()
    screenshot(page, "journal-phone")

    entries = page.request.get("/api/v1/journal").json()["entries"]
    mine = {e["body"]: e["shared"] for e in entries[:2]}
    assert mine == {
        "Just for me: I felt lighter.": False,
        "The music felt like a tide.\nI want to talk about the second track.": True,
    }
    session = page.request.get("/api/v1/sessions").json()["sessions"]
    walkthrough = next(s for s in session if s["template_name"] == "Walkthrough (3 minutes)")
    detail = page.request.get(f"/api/v1/sessions/{walkthrough['id']}").json()
    assert detail["status"] == "integration"
    assert detail["intention"] == "To let the music carry me, and to notice."
    assert (
        detail["started_at"] and detail["downtime_started_at"] and detail["integration_started_at"]
    )
