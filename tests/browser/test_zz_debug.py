import time
from playwright.sync_api import Page, expect
from tests.browser.conftest import sign_in
from tests.browser.test_offline import controlled

DRAFTS = """async () => { const m = await import('/static/js/device.js'); const u = m.currentUser(); return m.drafts.all(u); }"""
def test_debug(page: Page, context, live_server):
    page.on("console", lambda m: print("CONSOLE", m.type, m.text))
    sign_in(page, "patient@demo.test")
    page.goto("/patient/journal/new")
    controlled(page)
    for i in range(6):
        context.set_offline(True)
        page.goto("/patient/journal/new")
        print(i, "client id at load", page.locator("#client_id").input_value(), "drafts", page.evaluate(DRAFTS))
        page.get_by_label("What would you like to write?").fill(f"offline {i}")
        page.get_by_role("button", name="Save entry").click()
        expect(page.locator("[data-journal-saved] [data-sync-label]")).to_have_text("Saved on this phone — will sync")
        print(i, "after save drafts", page.evaluate(DRAFTS))
