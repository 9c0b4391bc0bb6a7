"""A newly invited patient's way to their first session, on a 320 px phone: intake, consent,
the therapist's decision, the checklist, Start session — each gate holding until it is met."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.helpers import screenshot, sign_in

SMALL_PHONE = {"width": 320, "height": 640}
NEW_PATIENT = ("Sam Okafor", "sam.okafor@demo.test")
NEW_PASSWORD = "river-lantern-orchard-42"


def _invite(admin: Page) -> str:
    """The clinic admin adds the patient and puts them in Dr. Rivera's care; the link."""
    sign_in(admin, "admin@demo.test")
    admin.goto("/clinic/people/new")
    admin.get_by_label("Name").fill(NEW_PATIENT[0])
    admin.get_by_label("Email").fill(NEW_PATIENT[1])
    admin.get_by_role("button", name="Add and create invitation").click()
    link = re.search(
        r"https?://\S+/invite/[\w-]+", admin.get_by_text("Invitation link for").inner_text()
    )
    assert link, "the person page shows the one-time invitation link"
    admin.get_by_label("Dr. Tess Rivera").check()
    admin.get_by_role("button", name="Save care team").click()
    expect(admin.get_by_label("Dr. Tess Rivera")).to_be_checked()
    return link.group(0)


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SMALL_PHONE["width"], f"{page.url} scrolls sideways ({width} px)"


def _fill_intake(phone: Page) -> None:
    phone.get_by_label("Which medicines do you take now?", exact=False).fill(
        "Sertraline 50 mg, once a day"
    )
    for fieldset in phone.locator("fieldset").all():
        fieldset.get_by_label("No", exact=True).or_(fieldset.get_by_label("Never", exact=True)).or_(
            fieldset.get_by_label("1 or 2", exact=True)
        ).first.check()
    # One honest answer the clinic marks for review.
    phone.locator("fieldset", has_text="high blood pressure or heart disease").get_by_label(
        "Yes", exact=True
    ).check()


def test_new_patient_goes_intake_consent_checklist_session(
    browser: Browser, base_url: str, live_server
):
    admin = browser.new_context(base_url=base_url).new_page()
    link = _invite(admin)
    session_id = live_server.book_session_now(NEW_PATIENT[1], "Walkthrough (3 minutes)", "Room 3")

    phone_context = browser.new_context(
        base_url=base_url, viewport=SMALL_PHONE, is_mobile=True, has_touch=True
    )
    phone = phone_context.new_page()
    phone.goto(link)
    phone.get_by_label("New password").fill(NEW_PASSWORD)
    phone.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    phone.get_by_role("button", name="Set password and sign in").click()

    # Before anything: the preparation page names both gates and Start stays off.
    phone.goto(f"/patient/sessions/{session_id}")
    expect(phone.locator("#start-intake")).to_be_visible()
    expect(phone.locator("#start-consent")).to_be_visible()
    expect(phone.get_by_role("button", name="Start session")).to_be_disabled()
    refused = phone.request.post(
        f"/api/v1/sessions/{session_id}/phase",
        data={"phase": "session"},
        headers={"X-CSRFToken": phone.locator("input[name=csrf_token]").first.input_value()},
    )
    assert (refused.status, refused.json()["error"]["code"]) == (409, "intake_required")

    # Intake, on the phone.
    phone.goto("/patient/")
    phone.get_by_role("link", name="Fill in your intake").click()
    _no_sideways_scroll(phone)
    phone.get_by_role("button", name="Submit intake").click()  # nothing answered yet
    expect(phone.get_by_role("alert")).to_be_visible()
    expect(phone.get_by_text("Needs an answer.").first).to_be_visible()
    phone.goto("/patient/intake")
    _fill_intake(phone)
    screenshot(phone, "intake-phone-320", full_page=False)
    phone.get_by_role("button", name="Submit intake").click()
    expect(phone.get_by_text("your care team", exact=False).first).to_be_visible()

    # Consent, on the phone: the name as the clinic has it, the box ticked.
    phone.goto("/patient/")
    phone.get_by_role("link", name="Read and sign the consent").click()
    _no_sideways_scroll(phone)
    phone.get_by_label("Type your full name").fill(NEW_PATIENT[0].lower())
    phone.get_by_label("I have read and agree to this consent").check()
    screenshot(phone, "consent-phone-320", full_page=False)
    phone.get_by_role("button", name="Sign consent").click()
    expect(phone.get_by_role("link", name="Download signed copy")).to_be_visible()

    # Still waiting for the care team's decision.
    phone.goto(f"/patient/sessions/{session_id}")
    expect(phone.locator("#start-intake")).to_be_visible()
    expect(phone.locator("#start-consent")).to_have_count(0)

    # The therapist reads the flagged answer first and clears the intake.
    therapist = browser.new_context(base_url=base_url).new_page()
    sign_in(therapist, "therapist@demo.test")
    therapist.goto("/therapist/")
    therapist.get_by_role("link", name=NEW_PATIENT[0]).first.click()
    therapist.get_by_role("link", name="See the intake").click()
    expect(
        therapist.get_by_text("Do you have high blood pressure or heart disease?").first
    ).to_be_visible()
    therapist.get_by_label("Cleared", exact=True).check()
    therapist.get_by_label("Note", exact=False).fill("BP 128/82 at the assessment visit; cleared.")
    therapist.get_by_role("button", name="Record decision").click()
    expect(therapist.get_by_text("Cleared").first).to_be_visible()
    screenshot(therapist, "intake-decision", full_page=False)

    # Now only the checklist stands between the patient and the session.
    phone.goto(f"/patient/sessions/{session_id}")
    expect(phone.locator("#start-intake")).to_have_count(0)
    for label in (
        "No food for 6 hours before my session",
        "No alcohol in the last 24 hours",
        "A ride home is arranged",
    ):
        phone.get_by_label(label).check()
        expect(phone.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    start = phone.get_by_role("button", name="Start session")
    expect(start).to_be_enabled()
    start.click()
    expect(phone).to_have_url(re.compile(rf"/patient/sessions/{session_id}/mode$"))
    for context in (admin.context, phone_context, therapist.context):
        context.close()
