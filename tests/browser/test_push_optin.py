"""Turning on notifications on a 320 px phone in Chromium, and what the service worker shows.

Headless Chromium has no push service to reach (Chrome's goes through Google's servers, which
this machine cannot), so ``pushManager.subscribe`` fails there. The first test therefore proves
that the page got permission, the service worker and the call to ``subscribe``, and then says
so clearly. The second lets the browser's push service be reachable — ``subscribe`` answers
with a subscription made by tests/pushreceiver.py, as a browser's would be — and proves the
page saves it on the server (CSRF and all) and removes it again. The third delivers a push to
the real service worker through the DevTools protocol and reads the notification it showed.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import SCREENSHOTS, sign_in
from tests.pushreceiver import PushReceiver

#: What the service worker has on screen: title, body and data of each notification.
SHOWN_NOTIFICATIONS = """async () => {
  const shown = await (await navigator.serviceWorker.ready).getNotifications();
  return shown.map((n) => ({ title: n.title, body: n.body, data: n.data }));
}"""
PHONE_320 = {"width": 320, "height": 720}
TURN_ON = "Turn on notifications on this device"
#: The browser's push service, reachable: subscribe() checks what Chromium checks of its
#: options and answers with the subscription given (%s), as Chromium's PushSubscription does.
REACHABLE_PUSH_SERVICE = """(() => {
  if (!self.PushManager) return;
  const subscription = %s;
  let current = null;
  PushManager.prototype.getSubscription = async function () { return current; };
  PushManager.prototype.subscribe = async function (options) {
    if (!options.userVisibleOnly || !(options.applicationServerKey instanceof Uint8Array)) {
      throw new DOMException('userVisibleOnly and a key are required', 'NotAllowedError');
    }
    self.__kapSubscribedWith = Array.from(options.applicationServerKey);
    current = {
      endpoint: subscription.endpoint,
      options,
      toJSON: () => subscription,
      unsubscribe: async () => { current = null; return true; },
    };
    return current;
  };
})();"""


@pytest.fixture
def phone(browser, playwright, base_url):
    """A 320 px phone that has allowed notifications for the app."""
    context = browser.new_context(
        **{**playwright.devices["Pixel 7"], "viewport": PHONE_320},
        base_url=base_url,
        service_workers="allow",
        permissions=["notifications"],
    )
    yield context
    context.close()


def stored_endpoints(live_server) -> list[str]:
    """The push subscriptions in the live server's database."""
    database = Path(live_server.env["KAP_DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT endpoint FROM push_subscriptions ORDER BY id")
        return [endpoint for (endpoint,) in rows]


def open_reminders(context) -> Page:
    page = context.new_page()
    sign_in(page, "patient@demo.test")
    page.goto("/patient/reminders")
    # The page's service worker is installed and active (a slow machine takes a while).
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.active !== null)")
    return page


def test_without_a_reachable_push_service_the_page_says_so(phone, live_server):
    """Permission granted, service worker ready, subscribe() called and refused: a clear
    message, nothing stored, and the button stays to try again."""
    page = open_reminders(phone)
    section = page.locator("[data-push-optin]")
    expect(page.get_by_role("heading", name="This device")).to_be_visible()
    button = page.get_by_role("button", name=TURN_ON)
    expect(button).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_320["width"]

    button.click()
    expect(section).to_have_attribute("data-push-state", "subscribe-failed", timeout=30000)
    expect(page.get_by_role("status").filter(has_text="notification service")).to_contain_text(
        "could not reach its notification service"
    )
    # It got as far as subscribe(): permission was granted, the worker was ready, and
    # subscribe() itself failed — AbortError ("push service error") is what headless Chromium
    # answers here; TimeoutError would be the page giving up on a subscribe() that hangs.
    assert page.evaluate("Notification.permission") == "granted"
    assert section.get_attribute("data-push-error") in {"AbortError", "TimeoutError"}
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.active !== null)")
    expect(button).to_be_visible()
    assert stored_endpoints(live_server) == []
    section.screenshot(path=str(SCREENSHOTS / "push-optin-no-push-service-320.png"))


def test_with_a_reachable_push_service_the_subscription_reaches_the_server(phone, live_server):
    """subscribe() answers as a browser with a push service would: the page saves it, says
    so, offers Turn off, and Turn off removes it from the server and the browser; so does
    signing out."""
    with PushReceiver() as receiver:
        subscription = {
            **receiver.subscribe("phone"),
            "endpoint": "https://fcm.googleapis.com/fcm/send/browser-test-phone",
        }
    phone.add_init_script(REACHABLE_PUSH_SERVICE % json.dumps(subscription))
    page = open_reminders(phone)
    page.get_by_role("button", name=TURN_ON).click()
    section = page.locator("[data-push-optin]")
    expect(section).to_have_attribute("data-push-state", "on")
    expect(page.get_by_role("status")).to_have_text("Notifications are on for this device")
    assert stored_endpoints(live_server) == [subscription["endpoint"]]
    # subscribe() got the server's VAPID public key: an uncompressed P-256 point.
    key = page.evaluate("self.__kapSubscribedWith")
    assert len(key) == 65 and key[0] == 4
    section.screenshot(path=str(SCREENSHOTS / "push-optin-on-320.png"))

    page.get_by_role("button", name="Turn off on this device").click()
    expect(section).to_have_attribute("data-push-state", "off")
    expect(page.get_by_role("button", name=TURN_ON)).to_be_visible()
    assert stored_endpoints(live_server) == []

    # On again, then signing out forgets this device on the server too.
    page.get_by_role("button", name=TURN_ON).click()
    expect(section).to_have_attribute("data-push-state", "on")
    assert stored_endpoints(live_server) == [subscription["endpoint"]]
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/signin")
    assert stored_endpoints(live_server) == []


def test_service_worker_shows_a_generic_notice_and_never_a_foreign_link(phone):
    """A push delivered to the real service worker shows the generic words; a payload path
    pointing at another site is replaced by the home page."""
    page = open_reminders(phone)
    cdp = phone.new_cdp_session(page)
    registrations: list[dict] = []
    versions: list[dict] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.on("ServiceWorker.workerVersionUpdated", lambda e: versions.extend(e["versions"]))
    cdp.send("ServiceWorker.enable")
    origin = page.evaluate("location.origin")

    def active_registration() -> str | None:
        """The id of this origin's registration once DevTools reports its worker activated
        (events arrive soon after enable, and may name other or deleted registrations)."""
        ours = {
            r["registrationId"]
            for r in registrations
            if r["scopeURL"] == f"{origin}/" and not r.get("isDeleted")
        }
        activated = [v["registrationId"] for v in versions if v["status"] == "activated"]
        return next((rid for rid in reversed(activated) if rid in ours), None)

    for _ in range(50):
        registration_id = active_registration()
        if registration_id:
            break
        page.wait_for_timeout(100)
    assert registration_id, f"no activated worker for {origin}: {registrations} {versions}"
    payload = {"title": "Demo Clinic", "body": "You have a reminder", "path": "//evil.example/x"}
    push = {"origin": origin, "registrationId": registration_id, "data": json.dumps(payload)}
    cdp.send("ServiceWorker.deliverPushMessage", push)
    notices = None
    for _ in range(50):  # the worker shows it asynchronously
        notices = page.evaluate(SHOWN_NOTIFICATIONS)
        if notices:
            break
        page.wait_for_timeout(200)
    assert notices == [
        {"title": "Demo Clinic", "body": "You have a reminder", "data": {"path": "/"}}
    ], f"pushed to {registration_id}: {registrations} {versions}"
