"""The therapist on a laptop: the two-pane patient page, Next unread and Mark unread, the
session's intention beside an entry, and alert details (score, answer, contact); axe-clean."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import axe_violations, screenshot, sign_in

LAPTOP = {"width": 1366, "height": 900}
ITEM9_TEXT = "Thoughts that you would be better off dead or of hurting yourself in some way"


def assert_axe_clean(page: Page) -> None:
    """No axe-core violations on the page as it is now."""
    assert axe_violations(page) == []


@pytest.fixture
def laptop(browser, base_url):
    """A 1366 by 900 laptop page (CSP bypassed only so axe-core can be injected)."""
    context = browser.new_context(viewport=LAPTOP, base_url=base_url, bypass_csp=True)
    yield context.new_page()
    context.close()


def _pat_jordan(laptop: Page) -> None:
    sign_in(laptop, "therapist@demo.test")
    expect(laptop).to_have_url("/therapist/")
    laptop.get_by_role("link", name="Pat Jordan").click()
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Pat Jordan")


def test_patient_page_is_two_panes_on_a_laptop_and_one_column_narrower(laptop: Page):
    """At 1366 px the shared entries sit beside the charts; at 800 px they stack."""
    _pat_jordan(laptop)
    entries = laptop.locator("section[aria-labelledby=entries-heading]")
    charts = laptop.locator("section[aria-labelledby=measures-heading]")
    left, right = entries.bounding_box(), charts.bounding_box()
    assert left and right
    assert left["x"] + left["width"] <= right["x"], "entries are left of the charts"
    record = laptop.locator(".patient-panes__record > :first-child").bounding_box()
    assert record and abs(left["y"] - record["y"]) < 2, "the two panes start on one line"
    assert laptop.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    screenshot(laptop, "therapist-patient-two-pane-laptop", full_page=False)
    assert_axe_clean(laptop)

    laptop.set_viewport_size({"width": 800, "height": 900})
    left, right = entries.bounding_box(), charts.bounding_box()
    assert left and right and left["y"] + left["height"] <= right["y"], "one column: stacked"
    assert laptop.evaluate("document.documentElement.scrollWidth") <= 800


def test_next_unread_shows_the_intention_and_mark_unread_puts_it_back(laptop: Page):
    """Next unread opens the oldest unread entry with its session's intention; Mark unread
    returns to the list with the entry unread again; Mark read clears it from the list."""
    _pat_jordan(laptop)
    unread = laptop.locator(".entry-list__item.is-unread")
    expect(unread).to_have_count(3)
    laptop.get_by_role("link", name="Next unread entry").click()
    expect(laptop.get_by_role("heading", level=1)).to_contain_text("Shared entry")
    intention = laptop.locator(".entry-intention")
    expect(intention.get_by_role("heading")).to_have_text("Pat Jordan's intention for that session")
    expect(intention.locator("blockquote")).not_to_be_empty()
    expect(laptop.get_by_role("link", name="Next unread (2 left)")).to_be_visible()
    screenshot(laptop, "therapist-entry-intention-laptop", full_page=False)
    assert_axe_clean(laptop)

    laptop.get_by_role("button", name="Mark unread").click()
    expect(laptop.get_by_text("Marked unread.")).to_be_visible()
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Pat Jordan")
    expect(unread).to_have_count(3)
    unread.first.get_by_role("button", name="Mark read").click()
    expect(laptop.get_by_text("Marked read.")).to_be_visible()
    expect(unread).to_have_count(2)


def test_alert_card_names_the_score_the_answer_and_the_contact(laptop: Page, playwright, base_url):
    """A PHQ-9 with item 9 above 0 from the patient's phone: the therapist's dashboard says
    which score, which answer, and how to reach the patient."""
    phone = playwright.request.new_context(base_url=base_url)
    signed = phone.post(
        "/api/v1/session", data={"email": "patient@demo.test", "password": "demo-password"}
    )
    assert signed.ok
    token = signed.json()["csrf_token"]
    answered = phone.post(
        "/api/v1/measures",
        data={"instrument": "phq9", "answers": [2, 2, 1, 1, 1, 1, 0, 0, 2]},
        headers={"X-CSRFToken": token},
    )
    assert answered.status == 201
    phone.dispose()

    sign_in(laptop, "therapist@demo.test")
    card = laptop.locator(".alert-card").first
    expect(card).to_contain_text("PHQ-9 item 9 answered above 0")
    details = card.locator(".alert-details")
    expect(details).to_contain_text("PHQ-9: score 10 of 27 (Moderate)")
    expect(details).to_contain_text(ITEM9_TEXT)
    expect(details).to_contain_text("More than half the days")
    expect(details).to_contain_text("No phone number on record")
    expect(details.get_by_role("link", name="patient@demo.test")).to_have_attribute(
        "href", "mailto:patient@demo.test"
    )
    screenshot(laptop, "therapist-alert-details-laptop", full_page=False)
    assert_axe_clean(laptop)
