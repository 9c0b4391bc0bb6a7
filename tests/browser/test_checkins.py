"""Check-ins on a small phone: any instrument through the outbox, and crisis support first
after PHQ-9 item 9 even with no signal."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.helpers import screenshot, sign_in

SMALL_PHONE = {"width": 320, "height": 640}


def _answer(page: Page, question: int, label: str) -> None:
    page.locator(f"#q{question}").get_by_label(label, exact=True).check()


def test_pcl5_is_answered_on_a_320_px_phone_and_scored(page: Page):
    """Twenty questions 0-4 fit the screen; the saved score is the sum, out of 80."""
    page.set_viewport_size(SMALL_PHONE)
    sign_in(page, "patient@demo.test")
    page.goto("/patient/check-ins")
    page.get_by_role("link", name="PCL-5", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("PCL-5 check-in")
    answers = [2, 3, 1, 0, 4] * 4
    labels = ["Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely"]
    for number, value in enumerate(answers, start=1):
        _answer(page, number, labels[value])
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SMALL_PHONE["width"], f"the page scrolls sideways ({width} px)"
    page.get_by_role("button", name="Save check-in").click()
    expect(page).to_have_url(re.compile(r"/patient/check-ins/result\?id=\d+$"))
    expect(page.get_by_text("Your score is 40 out of 80")).to_be_visible()
    latest = page.request.get("/api/v1/measures?instrument=pcl5").json()["measures"][-1]
    assert (latest["answers"], latest["score"], latest["instrument_version"]) == (answers, 40, 1)


def test_phq9_item9_shows_crisis_support_at_once_without_signal(
    page: Page, context: BrowserContext
):
    """Offline, the answers wait in the outbox and crisis contacts come first immediately."""
    page.set_viewport_size(SMALL_PHONE)
    sign_in(page, "patient@demo.test")
    page.goto("/patient/check-ins/phq9")
    for number in range(1, 9):
        _answer(page, number, "Not at all")
    _answer(page, 9, "Several days")
    _answer(page, 10, "Somewhat difficult")
    context.set_offline(True)
    page.get_by_role("button", name="Save check-in").click()
    saved = page.locator("[data-checkin-saved]")
    expect(saved).to_be_visible()
    expect(saved.get_by_role("link", name="See crisis contacts now")).to_be_visible()
    screenshot(page, "checkin-item9-offline-320", full_page=False)
    context.set_offline(False)
    # Back online the outbox sends them once; the panel says so, crisis contacts still first.
    expect(saved.get_by_text("Synced")).to_be_visible(timeout=30_000)
    expect(saved.get_by_role("link", name="See crisis contacts now")).to_be_visible()
    latest = page.request.get("/api/v1/measures?instrument=phq9").json()["measures"][-1]
    assert (latest["answers"], latest["score"]) == ([0] * 8 + [1, 1], 1)
