"""The patient's pages as a new user meets them on a small phone (issue 17, item 6 and 7):
a header that fits, a tab bar, tap targets of 44 px, a mood slider, the clinic's integration
questions on the entry form, a quieter journal, a first-visit welcome, offline shells that
say when the connection is back, and drafts that are offered, never poured into a new entry."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.helpers import axe_violations, screenshot, sign_in
from tests.browser.test_offline import controlled, wait_until

PATIENT = "patient@demo.test"
NEW_PATIENT = "patient2@demo.test"  # invited, intake waiting for review, nothing written yet
SMALL_PHONE = {"width": 320, "height": 640}
MIN_TARGET = 44

SMALL_TARGETS_JS = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.classList.contains('skip-link')) continue;  // off screen until focused
    if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
    // A checkbox is tapped through its label (the whole row is the target).
    const boxed = el.matches('input[type=checkbox], input[type=radio]');
    const target = boxed ? (el.closest('label') ?? el) : el;
    const box = target.getBoundingClientRect();
    if (box.width < 43.5 || box.height < 43.5) {
      const name = (el.getAttribute('aria-label') || el.textContent || el.name || '').trim();
      const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
      small.push(`${el.tagName.toLowerCase()} "${name.slice(0, 40)}" ${size}`);
    }
  }
  return small;
}"""


def assert_axe_clean(page: Page) -> None:
    """axe-core finds no violations on the page as it is now."""
    result = axe_violations(page)
    assert result == [], f"{page.url}: {result}"


@pytest.fixture
def small(browser: Browser, base_url: str):
    """A 320 px phone in light mode."""
    context = browser.new_context(
        base_url=base_url, viewport=SMALL_PHONE, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


@pytest.fixture
def small_dark(browser: Browser, base_url: str):
    """A 320 px phone in dark mode."""
    context = browser.new_context(
        base_url=base_url,
        viewport=SMALL_PHONE,
        is_mobile=True,
        has_touch=True,
        color_scheme="dark",
    )
    yield context.new_page()
    context.close()


def _past_session(page: Page) -> dict:
    """A completed demo session of the signed-in patient whose template asks questions."""
    for listed in page.request.get("/api/v1/sessions").json()["sessions"]:
        if listed["status"] != "complete":
            continue
        detail = page.request.get(f"/api/v1/sessions/{listed['id']}").json()
        if detail.get("integration_prompts"):
            return {**listed, "integration_prompts": detail["integration_prompts"]}
    raise AssertionError("the demo patient has no completed session with questions")


def test_header_fits_one_row_at_320_and_main_places_are_a_tab_bar(small_dark: Page):
    """At 320 px: brand, Crisis support and Sign out in one row; the places at the bottom."""
    page = small_dark
    sign_in(page, PATIENT)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    header = page.locator(".site-header").bounding_box()
    assert header and header["height"] < 70, header
    tops = {
        name: page.locator(selector).bounding_box()["y"]
        for name, selector in (
            ("brand", ".brand"),
            ("crisis", ".site-header .crisis-link"),
            ("sign out", ".site-header button:has-text('Sign out')"),
        )
    }
    assert max(tops.values()) - min(tops.values()) < 12, tops
    tabs = page.get_by_role("navigation", name="Main")
    for place in ("Home", "Journal", "Check-ins", "Reminders"):
        expect(tabs.get_by_role("link", name=place)).to_be_visible()
    bar = tabs.bounding_box()
    assert bar and bar["y"] + bar["height"] == pytest.approx(SMALL_PHONE["height"], abs=1)
    assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
    # Nothing of the page hides under the bar: its last card scrolls clear of it.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    last = page.locator("main .card").last.bounding_box()
    assert last and last["y"] + last["height"] <= tabs.bounding_box()["y"], (last, bar)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "patient-home-320-dark", full_page=False)


def test_crisis_pill_is_calm_in_dark_mode_and_keeps_contrast(small_dark: Page):
    """Dark mode: no glaring yellow pill; its text keeps AA contrast (4.5:1)."""
    page = small_dark
    sign_in(page, PATIENT)
    colours = page.locator(".site-header .crisis-link").evaluate(
        """(el) => { const s = getComputedStyle(el);
        return [s.backgroundColor, s.color]
          .map((c) => c.match(/\\d+/g).slice(0, 3).map(Number)); }"""
    )
    background, text = colours

    def luminance(rgb: list[int]) -> float:
        def channel(v: int) -> float:
            c = v / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(v) for v in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert luminance(background) < 0.1, f"pill background {background} is bright"
    lighter, darker = sorted((luminance(background), luminance(text)), reverse=True)
    assert (lighter + 0.05) / (darker + 0.05) >= 4.5


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_every_tap_target_is_at_least_44_px_at_320(browser: Browser, base_url: str, dark: bool):
    """Home, journal, new entry, check-ins, reminders, crisis, your data, integration: no
    visible link, button, field or disclosure under 44 x 44 px; axe finds nothing."""
    context = browser.new_context(
        base_url=base_url,
        viewport=SMALL_PHONE,
        is_mobile=True,
        has_touch=True,
        color_scheme="dark" if dark else "light",
    )
    page = context.new_page()
    sign_in(page, PATIENT)
    past = _past_session(page)
    pages = [
        "/patient/",
        "/patient/journal",
        "/patient/journal/new",
        f"/patient/journal/new?session_id={past['id']}",
        "/patient/check-ins",
        "/patient/reminders",
        "/patient/crisis-support",
        "/patient/my-data",
        f"/patient/sessions/{past['id']}/integration",
    ]
    try:
        for path in pages:
            page.goto(path)
            for menu in page.locator(".entry-menu").all()[:2]:  # opened menus too
                menu.locator("summary").click()
            small_ones = page.evaluate(SMALL_TARGETS_JS)
            assert small_ones == [], f"{path}: {small_ones}"
            assert page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
            assert_axe_clean(page)
    finally:
        context.close()


def test_mood_slider_and_the_sessions_questions_on_the_entry_form(small: Page):
    """Mood is a 0-10 slider with words at its ends that counts only once noted; the
    session list offers past sessions only; choosing one shows its integration questions."""
    page = small
    sign_in(page, PATIENT)
    past = _past_session(page)
    sessions = page.request.get("/api/v1/sessions").json()["sessions"]
    page.goto("/patient/journal/new")

    choices = page.get_by_label("About which session — optional").locator("option")
    offered = {v for v in choices.evaluate_all("(os) => os.map((o) => o.value)") if v}
    begun = {str(s["id"]) for s in sessions if s["status"] not in ("scheduled", "cancelled")}
    assert offered == begun and str(past["id"]) in offered
    today = next(s for s in sessions if s["template_name"] == "Walkthrough (3 minutes)")
    assert str(today["id"]) not in offered  # booked for today, not begun: not yet "about"

    prompts = page.locator("[data-entry-prompts]")
    expect(prompts).to_be_hidden()
    page.get_by_label("About which session — optional").select_option(str(past["id"]))
    expect(prompts).to_be_visible()
    for question in past["integration_prompts"]:
        expect(prompts.get_by_text(question)).to_be_visible()

    slider = page.get_by_role("slider", name="Mood, from 0 (very low) to 10 (very good)")
    expect(page.get_by_text("Very low")).to_be_visible()
    expect(page.get_by_text("Very good")).to_be_visible()
    expect(page.get_by_label("Note my mood")).not_to_be_checked()
    slider.focus()
    for _ in range(2):
        page.keyboard.press("ArrowRight")
    expect(page.locator("[data-mood-value]")).to_have_text("7")
    expect(page.get_by_label("Note my mood")).to_be_checked()
    page.get_by_label("What would you like to write?").fill("Answering the first question: calm.")
    screenshot(page, "journal-form-320")

    page.get_by_role("button", name="Save entry").click()
    expect(page.get_by_text("Saved. Only you can read it.")).to_be_visible()
    entry = page.request.get("/api/v1/journal").json()["entries"][0]
    assert (entry["body"], entry["mood"], entry["session_id"]) == (
        "Answering the first question: calm.",
        7,
        past["id"],
    )

    page.goto("/patient/journal/new")
    page.get_by_label("What would you like to write?").fill("No mood today.")
    page.get_by_role("button", name="Save entry").click()
    expect(page.get_by_text("Saved. Only you can read it.")).to_be_visible()
    entry = page.request.get("/api/v1/journal").json()["entries"][0]
    assert (entry["body"], entry["mood"]) == ("No mood today.", None)


def test_mood_slider_without_javascript(browser: Browser, base_url: str):
    """Without JavaScript the slider and its tick post to the server's form the same way."""
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, PATIENT)
        page.goto("/patient/journal/new")
        page.get_by_label("What would you like to write?").fill("Written with scripts off.")
        page.get_by_role("slider").fill("3")
        page.get_by_label("Note my mood").check()
        page.get_by_role("button", name="Save entry").click()
        expect(page.get_by_text("Saved. Only you can read it.")).to_be_visible()
        entry = page.request.get("/api/v1/journal").json()["entries"][0]
        assert (entry["body"], entry["mood"]) == ("Written with scripts off.", 3)
    finally:
        context.close()


def test_journal_list_is_quieter(small_dark: Page):
    """Edit, sharing and Delete wait in a More menu (Delete not red); a private entry offers
    "Add a note", a shared one "Reply"; the writing is shown with dir=auto."""
    page = small_dark
    sign_in(page, PATIENT)
    page.goto("/patient/journal")
    first = page.locator("article.entry").first
    expect(first.get_by_role("link", name=re.compile("^Edit"))).to_be_hidden()
    expect(first.get_by_role("link", name=re.compile("^Delete"))).to_be_hidden()
    for body in page.locator(".entry__body").all():
        assert body.get_attribute("dir") == "auto"

    entries = page.locator("article.entry")
    private = entries.filter(has_text="Only you can read it").first
    shared = entries.filter(has_text="Shared:").first
    expect(private.locator("summary", has_text=re.compile("^Add a note"))).to_be_visible()
    expect(private.locator("summary", has_text=re.compile("^Reply"))).to_have_count(0)
    expect(shared.locator("summary", has_text=re.compile("^Reply"))).to_be_visible()
    # The demo's session groups (this module's own entries come first): a private and a
    # shared entry in view, under the header.
    page.evaluate("document.querySelectorAll('.journal-group')[1].scrollIntoView()")
    page.evaluate("window.scrollBy(0, -8)")
    screenshot(page, "journal-list-320-dark", full_page=False)

    private.locator(".entry-menu summary").click()
    delete = private.get_by_role("link", name=re.compile("^Delete"))
    expect(delete).to_be_visible()
    edit_colour = private.get_by_role("link", name=re.compile("^Edit")).evaluate(
        "(el) => getComputedStyle(el).color"
    )
    assert delete.evaluate("(el) => getComputedStyle(el).color") == edit_colour
    delete.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete this entry?")
    danger = page.get_by_role("button", name=re.compile("Delete"))
    assert "button--danger" in (danger.get_attribute("class") or "")

    page.go_back()
    private = page.locator("article.entry").filter(has_text="Only you can read it").first
    private.locator("summary", has_text=re.compile("^Add a note")).click()
    private.get_by_label("Your note (only you can read it)").fill("ملاحظة لنفسي")
    private.get_by_role("button", name="Save note").click()
    expect(page.locator(".flash").filter(has_text="Note added.")).to_be_visible()
    note = page.locator(".comment__body", has_text="ملاحظة لنفسي")
    expect(note).to_have_attribute("dir", "auto")
    assert note.evaluate("(el) => getComputedStyle(el).direction") == "rtl"


def test_home_links_to_your_data_and_account_security(small: Page):
    """Your data and Account security are one tap from home."""
    page = small
    sign_in(page, PATIENT)
    page.get_by_role("link", name="Your data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your data")
    page.goto("/patient/")
    page.get_by_role("link", name="Account security").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account security")
    expect(page.get_by_role("link", name="Crisis support")).to_be_visible()


def test_first_visit_welcome_once_for_a_new_patient(browser: Browser, base_url: str, playwright):
    """A newly invited patient is welcomed (private journal, crisis support); Got it hides
    it for good on this phone. A patient with a history never sees it."""
    context = browser.new_context(**playwright.devices["Pixel 7"], base_url=base_url)
    page = context.new_page()
    try:
        sign_in(page, NEW_PATIENT)
        welcome = page.get_by_role("region", name="Welcome to KAP Companion")
        expect(welcome).to_be_visible()
        expect(welcome).to_contain_text("Your journal is private.")
        expect(welcome).to_contain_text("Crisis support")
        screenshot(page, "welcome-phone", full_page=False)
        assert_axe_clean(page)
        welcome.get_by_role("button", name="Got it").click()
        expect(welcome).to_be_hidden()
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
        expect(page.locator("[data-welcome]")).to_be_hidden()
    finally:
        context.close()

    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    try:
        sign_in(page, PATIENT)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
        expect(page.locator("[data-welcome]")).to_have_count(0)
    finally:
        context.close()


def test_an_unsent_draft_is_offered_not_poured_into_a_new_entry(page: Page):
    """Writing left unsaved stays in its own draft: the next new entry starts empty and
    offers "Restore draft"; restoring brings the text back and saves it once."""
    sign_in(page, PATIENT)
    page.goto("/patient/journal/new")
    text = "Something I did not finish about the garden."
    page.get_by_label("What would you like to write?").fill(text)
    expect(page.locator("[data-draft-status]")).to_have_text("Draft saved on this phone")

    page.goto("/patient/journal/new")
    expect(page.get_by_label("What would you like to write?")).to_have_value("")
    offer = page.locator("[data-draft-offer]")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text(text)
    offer.get_by_role("button", name="Restore draft").click()
    expect(page.get_by_label("What would you like to write?")).to_have_value(text)
    expect(offer).to_be_hidden()
    page.get_by_role("button", name="Save entry").click()
    expect(page.get_by_text("Saved. Only you can read it.")).to_be_visible()
    bodies = [e["body"] for e in page.request.get("/api/v1/journal").json()["entries"]]
    assert bodies.count(text) == 1

    page.goto("/patient/journal/new")
    expect(page.locator("[data-draft-offer]")).to_be_hidden()
    expect(page.get_by_label("What would you like to write?")).to_have_value("")


def test_no_connection_clears_when_the_connection_returns(page: Page, context: BrowserContext):
    """The offline journal says No connection; back online it says so, without a reload."""
    sign_in(page, PATIENT)
    page.goto("/patient/journal")
    controlled(page)
    context.set_offline(True)
    page.reload()
    banner = page.locator("[data-offline-banner]")
    expect(banner).to_contain_text("No connection.")
    context.set_offline(False)
    page.evaluate("dispatchEvent(new Event('online'))")  # as the phone does when signal returns
    expect(banner).to_contain_text("Connected again")
    expect(banner).not_to_contain_text("No connection")
    page.get_by_role("button", name="Reload").click()
    expect(page.locator(".entry__body").first).to_be_visible()


def test_ready_offline_toast_never_on_clinician_pages(browser: Browser, base_url: str):
    """A therapist's first visit installs the worker but is never told "Ready to use offline"."""
    context = browser.new_context(base_url=base_url, service_workers="allow")
    page = context.new_page()
    try:
        page.goto("/signin")
        wait_until(page, "navigator.serviceWorker.getRegistration()"
                   ".then((r) => r?.active?.state === 'activated')", seconds=60)  # fmt: skip
        page.wait_for_timeout(300)
        expect(page.locator("#app-status")).not_to_contain_text("Ready to use offline")
        sign_in(page, "therapist@demo.test")
        expect(page.locator("#app-status")).not_to_contain_text("Ready to use offline")
    finally:
        context.close()


def test_app_status_sits_above_the_tab_bar(small: Page):
    """A sync or update message on a phone sits above the tab bar, and the page scrolls clear."""
    page = small
    sign_in(page, PATIENT)
    page.goto("/patient/journal")
    page.evaluate("""() => { const box = document.getElementById('app-status');
        box.innerHTML = '<p class="app-status__text">1 item waiting to sync</p>';
        box.hidden = false; }""")
    box, bar = page.locator("#app-status").bounding_box(), page.locator(".tab-bar").bounding_box()
    assert box and bar and box["y"] + box["height"] <= bar["y"], (box, bar)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    last = page.locator("main > *:not([hidden])").last.bounding_box()
    box = page.locator("#app-status").bounding_box()
    assert last and box and last["y"] + last["height"] <= box["y"], (last, box)
