"""A clinic admin on a tablet meets a room clash, books anyway, and finds it in the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import screenshot, sign_in


@pytest.fixture
def tablet(browser, playwright, base_url):
    """A Galaxy Tab S4 (712 px wide, touch) page."""
    context = browser.new_context(**playwright.devices["Galaxy Tab S4"], base_url=base_url)
    yield context.new_page()
    context.close()


def test_room_clash_is_explained_booked_anyway_and_audited_with_names(tablet: Page):
    """Robin has Room 1 at 10:00 tomorrow; booking Pat there says so, offers the tick, audits."""
    page = tablet
    sign_in(page, "admin@demo.test")
    page.get_by_role("link", name="People").click()
    page.get_by_role("link", name="Pat Jordan").click()
    booster = page.locator("#booster")
    expect(booster.get_by_label("Book anyway", exact=False)).to_have_count(0)
    clinic_today = datetime.now(ZoneInfo("America/New_York")).date()
    tomorrow = (clinic_today + timedelta(days=1)).isoformat()  # Robin's demo booking, Room 1
    booster.get_by_label("Date").fill(tomorrow)
    booster.get_by_label("Time").fill("10:30")
    booster.get_by_label("Room or label (optional)").fill("Room 1")
    booster.get_by_role("button", name="Add booster").click()

    booster = page.locator("#booster")
    expect(booster.locator(".field__error")).to_contain_text("Room 1 is booked for Robin Lee")
    expect(booster.get_by_label("Time")).to_have_value("10:30")  # nothing typed is lost
    tick = booster.get_by_label("Book anyway (double-book Room 1 on purpose)")
    expect(tick).not_to_be_checked()
    booster.scroll_into_view_if_needed()
    screenshot(page, "clinic-room-clash-tablet", full_page=False)
    tick.check()
    booster.get_by_role("button", name="Add booster").click()
    expect(page.get_by_text("Booster session added.")).to_be_visible()

    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Person (did it, or it was about them)").select_option(
        label="Pat Jordan (patient)"
    )
    page.get_by_label("Action").select_option("session.booster")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Pat Jordan")
    expect(row).to_contain_text("clinic admin")
    expect(row).to_contain_text("room_double_booked=yes")
    screenshot(page, "clinic-audit-log-tablet", full_page=False)
