"""Next week's session on a phone: it cannot start today, and the page says when it can."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in

OPENS = re.compile(r"^This session can start from 08:00 on [A-Z][a-z]+day \d{1,2} [A-Z][a-z]+\.$")


def test_patient_cannot_start_next_weeks_session(page: Page):
    """Start session is disabled with the reason; day-of items wait; the API answers not_today."""
    sign_in(page, "patient@demo.test")
    later = page.locator("section", has=page.get_by_role("heading", name="Later sessions"))
    later.get_by_role("link").last.click()  # the IV session 7 days ahead, 10:00
    expect(page.get_by_role("heading", level=1)).to_have_text("Prepare for your session")
    session_id = int(re.search(r"/sessions/(\d+)$", page.url).group(1))

    start = page.get_by_role("button", name="Start session")
    expect(start).to_be_disabled()
    reason = page.locator("[data-not-today]")
    expect(reason).to_be_visible()
    expect(reason).to_have_text(OPENS)
    expect(start).to_have_accessible_description(re.compile(r"^This session can start from"))
    expect(page.get_by_text("On the day, staff check you in")).to_be_visible()
    expect(page.get_by_text("Waiting for staff check-in")).to_be_hidden()

    fasting = page.get_by_label("No food for 6 hours before my session")
    expect(fasting).to_be_disabled()
    expect(fasting).to_have_accessible_description(re.compile(r"You can tick this from \w+day"))
    quiet_room = page.get_by_label("My room is quiet, with an eye mask and headphones ready")
    quiet_room.check()  # not about the day: tickable now
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(start).to_be_disabled()
    screenshot(page, "start-window-phone")

    token = page.request.get("/api/v1/me").json()["csrf_token"]
    answer = page.request.post(
        f"/api/v1/sessions/{session_id}/phase",
        data={"phase": "session"},
        headers={"X-CSRFToken": token},
    )
    assert answer.status == 409
    assert answer.json()["error"]["code"] == "not_today"
    assert OPENS.match(answer.json()["error"]["message"])
    page.reload()
    expect(page.get_by_role("button", name="Start session")).to_be_disabled()
