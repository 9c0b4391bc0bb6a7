"""The Reminders page on a 320 px phone, light and dark: choose channels and quiet hours."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.helpers import screenshot, sign_in

SMALL_PHONE = {"width": 320, "height": 640}


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SMALL_PHONE["width"], f"{page.url} scrolls sideways ({width} px)"


def test_reminders_page_on_a_small_phone(browser, base_url):
    """From the nav: one quiet time alone is refused beside the field, both are saved."""
    context = browser.new_context(
        base_url=base_url, viewport=SMALL_PHONE, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    sign_in(page, "patient@demo.test")
    page.get_by_role("link", name="Reminders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reminders")
    expect(page.get_by_text("Notifications and e-mails never say what")).to_be_visible()
    expect(page.get_by_role("heading", name="Coming up")).to_be_visible()
    _no_sideways_scroll(page)

    page.get_by_label("Notifications on this phone or computer").check()
    page.get_by_label("E-mail").check()
    page.get_by_label("Quiet from").fill("22:00")
    page.get_by_label("Quiet until").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Give both times, or leave both empty")).to_be_visible()
    expect(page.get_by_label("Notifications on this phone or computer")).to_be_checked()
    expect(page.get_by_label("Quiet from")).to_have_value("22:00")
    _no_sideways_scroll(page)

    page.get_by_label("Quiet from").fill("21:30")
    page.get_by_label("Quiet until").fill("06:45")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(page.get_by_label("Quiet from")).to_have_value("21:30")
    expect(page.get_by_label("E-mail")).to_be_checked()
    screenshot(page, "reminders-phone-320")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "reminders-phone-320-dark")
    context.close()
