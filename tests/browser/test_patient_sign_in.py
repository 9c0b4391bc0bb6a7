"""A patient signs in on a phone and finds their home and Crisis support."""

from playwright.sync_api import Page, expect

from tests.browser.helpers import screenshot, sign_in


def test_patient_signs_in_on_a_phone_and_sees_crisis_support(page: Page):
    """patient@demo.test signs in at 412 px, lands on the patient home with Crisis support."""
    sign_in(page, "patient@demo.test")
    expect(page).to_have_url("/patient/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello, Pat")
    crisis = page.get_by_role("link", name="Crisis support")
    expect(crisis).to_be_visible()
    assert page.viewport_size["width"] == 412
    # Nothing scrolls sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 412
    screenshot(page, "patient-home-phone")

    crisis.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Crisis support")
    expect(page.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    screenshot(page, "crisis-support-phone")


def test_wrong_password_shows_a_message_and_keeps_the_email(page: Page):
    """A wrong password re-renders the form with a message; the email stays filled in."""
    sign_in(page, "patient@demo.test", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    expect(page.get_by_label("Email")).to_have_value("patient@demo.test")
    expect(page.get_by_label("Password")).to_have_value("")
    screenshot(page, "sign-in-error-phone")
