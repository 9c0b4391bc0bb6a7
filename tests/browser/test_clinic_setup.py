"""A clinic admin on a tablet builds a template and schedules a course with it."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import screenshot, sign_in

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "tone.mp3"


@pytest.fixture
def tablet(browser, playwright, base_url):
    """A Galaxy Tab S4 (712 px wide, touch) page."""
    context = browser.new_context(**playwright.devices["Galaxy Tab S4"], base_url=base_url)
    yield context.new_page()
    context.close()


def _next_monday() -> date:
    today = date.today()
    return today + timedelta(days=(7 - today.weekday()) or 7)


def _remove_rows(page: Page, noun: str, keep: int) -> None:
    while page.get_by_role("button", name=f"Remove {noun} {keep + 1}").count():
        page.get_by_role("button", name=f"Remove {noun} {keep + 1}").click()


def test_admin_builds_a_template_and_schedules_a_course(tablet: Page):
    """Two tracks (a soundscape and an upload), two prompts, saved; then a six-session course."""
    page = tablet
    sign_in(page, "admin@demo.test")
    expect(page).to_have_url("/clinic/")
    page.get_by_role("link", name="Templates").click()
    page.get_by_role("link", name="New template").click()

    page.get_by_label("Name", exact=True).fill("Evening IV")
    _remove_rows(page, "track", keep=1)
    page.get_by_label("Track 1 title").fill("Breathing room")
    page.get_by_label("Length (m:ss)").fill("5:00")
    page.get_by_label("Or upload an audio file to add it").set_input_files(str(AUDIO))
    page.get_by_role("button", name="Upload and add track").click()
    expect(page.get_by_label("Track 2 title")).to_have_value("Tone")
    expect(page.get_by_label("Track 1 title")).to_have_value("Breathing room")  # kept

    _remove_rows(page, "prompt", keep=2)
    page.get_by_label("Prompt 1 at (m:ss)").fill("0:10")
    page.get_by_label("Prompt 1 text").fill("Eye mask on. Let the music hold you.")
    page.get_by_label("Prompt 2 at (m:ss)").fill("9:00")  # after the playlist: refused
    page.get_by_label("Prompt 2 text").fill("Notice your breath.")
    page.get_by_role("button", name="Save template").last.click()
    expect(page.locator("#cues-1-at-error")).to_contain_text("after the playlist ends (5:01)")
    expect(page.get_by_label("Prompt 2 text")).to_have_value("Notice your breath.")

    page.get_by_label("Prompt 2 at (m:ss)").fill("4:00")
    page.get_by_role("button", name="Save template").last.click()
    expect(page.get_by_text("Template “Evening IV” created.")).to_be_visible()
    expect(page.get_by_label("Track 2 title")).to_have_value("Tone")
    expect(page.get_by_label("Prompt 2 at (m:ss)")).to_have_value("4:00")
    page.locator("#playlist").scroll_into_view_if_needed()
    screenshot(page, "clinic-template-editor-tablet", full_page=False)

    page.get_by_role("link", name="People").click()
    page.get_by_role("link", name="Robin Lee").click()
    page.get_by_label("Template").first.select_option(label="Evening IV")
    page.get_by_label("Six sessions over three weeks").check()
    page.get_by_label("First date").fill(_next_monday().isoformat())
    page.get_by_label("Monday").check()
    page.get_by_label("Thursday").check()
    page.get_by_label("Time of day").fill("15:00")  # Robin's demo sessions are at 10:00
    page.get_by_role("button", name="Schedule course").click()
    expect(page.get_by_text("Scheduled 6 sessions")).to_be_visible()
    sessions = page.locator("#sessions .session-list__item", has_text="Evening IV")
    expect(sessions).to_have_count(6)
    expect(sessions.first).to_contain_text("15:00")
    page.locator("#sessions").scroll_into_view_if_needed()
    screenshot(page, "clinic-schedule-course-tablet", full_page=False)
