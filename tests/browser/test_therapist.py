"""A therapist reads a shared entry, comments, and the patient sees the comment."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import screenshot, sign_in


@pytest.fixture
def laptop(browser, base_url):
    """A 1280 by 800 desktop page."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base_url)
    yield context.new_page()
    context.close()


def test_therapist_reads_a_shared_entry_and_comments(laptop: Page, page: Page):
    """Dashboard → patient → unread entry → comment; the patient sees it in their journal."""
    sign_in(laptop, "therapist@demo.test")
    expect(laptop).to_have_url("/therapist/")
    row = laptop.get_by_role("row", name="Pat Jordan")
    expect(row).to_contain_text("3 unread")
    screenshot(laptop, "therapist-dashboard-laptop", full_page=False)

    laptop.get_by_role("link", name="Pat Jordan").click()
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Pat Jordan")
    expect(laptop.get_by_text("angry at my brother")).to_have_count(0)  # private stays private
    screenshot(laptop, "therapist-timeline-laptop")

    laptop.locator(".entry-list__item.is-unread a").last.click()
    expect(laptop.get_by_text("yellow light").first).to_be_visible()
    laptop.get_by_label("Comment (the patient will see it)").fill(
        "I keep thinking about the yellow light. Shall we begin there?"
    )
    laptop.get_by_role("button", name="Add comment").click()
    expect(laptop.get_by_text("Comment added.")).to_be_visible()
    expect(laptop.locator("#thread")).to_contain_text("Shall we begin there?")

    laptop.get_by_role("link", name="Dashboard").click()
    expect(laptop.get_by_role("row", name="Pat Jordan")).to_contain_text("2 unread")

    sign_in(page, "patient@demo.test")
    page.get_by_role("link", name="Journal").first.click()
    expect(page.get_by_text("Shall we begin there?")).to_be_visible()
