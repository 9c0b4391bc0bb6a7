"""The session board on a tablet: a Call staff from a patient's phone appears without a reload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from kap.demo.content import WALKTHROUGH
from tests.browser.helpers import screenshot, sign_in

PATIENT = "patient2@demo.test"
PATIENT_NAME = "Robin Lee"


@pytest.fixture
def session_id(live_server) -> int:
    """A Walkthrough session of Robin Lee's in Room 3, booked for now (never the demo
    patient's session that the other browser tests walk through)."""
    live_server.clear_to_start(PATIENT)
    return live_server.book_session_now(PATIENT, WALKTHROUGH, "Room 3")


@pytest.fixture
def phone(browser, base_url):
    """The patient's phone, used through the JSON API as session mode uses it."""
    context = browser.new_context(base_url=base_url)
    yield context.request
    context.close()


class PatientPhone:
    """What session mode sends: sign in, tick, start (dosed minutes ago), call staff."""

    def __init__(self, request, session_id: int):
        self.request, self.session_id = request, session_id
        response = request.post(
            "/api/v1/session", data={"email": PATIENT, "password": "demo-password"}
        )
        assert response.ok
        self.headers = {"X-CSRFToken": response.json()["csrf_token"]}

    def post(self, path: str, body: dict):
        response = self.request.post(
            f"/api/v1/sessions/{self.session_id}/{path}", data=body, headers=self.headers
        )
        assert response.ok, response.text()
        return response.json()

    def start(self, minutes_ago: int) -> None:
        detail = self.request.get(f"/api/v1/sessions/{self.session_id}").json()
        for item in detail["checklist"]:
            if item["required"]:
                self.request.put(
                    f"/api/v1/sessions/{self.session_id}/checklist/{item['id']}",
                    data={"checked": True},
                    headers=self.headers,
                )
        at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        self.post("phase", {"phase": "session", "at": at.isoformat().replace("+00:00", "Z")})


def test_call_staff_appears_on_the_board_without_a_reload(tablet: Page, phone, session_id):
    """Phone presses Call staff → the tablet shows it on its own → acknowledge → final vitals."""
    page = tablet
    page.clock.install()  # the board's next fetch is moved to, not waited for
    sign_in(page, "therapist@demo.test")  # not in Robin's care team: the board is clinic-wide
    page.goto("/board/")
    expect(page.locator("[data-board-status]")).to_contain_text("Live")
    expect(page.locator(".call")).to_have_count(0)
    page.evaluate("window.sameDocument = true")

    robin = PatientPhone(phone, session_id)
    robin.start(minutes_ago=6)  # the Walkthrough observes for 5 minutes: already over
    robin.post("call-staff", {"client_id": f"board-test-{session_id}"})

    call = page.locator(".call", has_text="Room 3")
    page.clock.run_for(5_000)  # the board asks every 5 s (data-interval-ms)
    expect(call).to_be_visible()  # the board fetched it by itself
    row = page.locator(f"#session-{session_id}")
    expect(call).to_contain_text(PATIENT_NAME)
    expect(call).to_contain_text("Not yet acknowledged")
    expect(row).to_contain_text("Session (dosed)")
    expect(row).to_contain_text("Calling staff")
    assert page.evaluate("window.sameDocument") is True  # no reload happened
    assert page.title().startswith("(1) Call staff")

    call.get_by_role("button", name="Acknowledge call from Room 3").click()
    call = page.locator(".call", has_text="Room 3")
    expect(call).to_contain_text("Acknowledged by Dr. Tess Rivera")

    row = page.locator(f"#session-{session_id}")
    row.get_by_text("Record vitals").click()
    expect(row.get_by_label("Final check")).to_be_checked()  # observation is over
    row.get_by_label("Systolic (mmHg)").fill("168")
    row.get_by_label("Diastolic (mmHg)").fill("88")
    row.get_by_label("Heart rate (bpm)").fill("84")
    row.get_by_label("SpO2 (%, if measured)").fill("97")
    vitals = row.locator("form[action$='/vitals']")  # a final reading also records the state
    vitals.get_by_label("Sedation (MOAA/S)").select_option("5")
    vitals.get_by_label("None", exact=True).check()
    vitals.get_by_label("No concern").check()
    row.get_by_role("button", name="Save vitals").click()
    expect(page.get_by_text(f"Final check vitals recorded for {PATIENT_NAME}.")).to_be_visible()
    row = page.locator(f"#session-{session_id}")
    expect(row).to_contain_text("Out of range")
    expect(row.locator(".vital--high")).to_contain_text("168 ▲ High")
    expect(row.get_by_role("button", name=f"Discharge {PATIENT_NAME}")).to_be_enabled()
    screenshot(page, "board-tablet")

    page.get_by_label("What was done").fill("Felt nauseous; sat with Robin, water given.")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator(".call", has_text="Room 3")).to_have_count(0)
    row = page.locator(f"#session-{session_id}")  # 168 is over the limit: an override
    row.get_by_label("Why may the patient leave anyway? (override reason)").fill(
        "Systolic 168 is Robin's usual; seen and well."
    )
    row.get_by_label("Who is driving the patient home?").fill("Jamie Lee (sister)")
    row.get_by_role("button", name=f"Discharge {PATIENT_NAME}").click()
    page.get_by_label("I have seen the patient and they are ready to leave").check()
    page.get_by_role("button", name=f"Confirm discharge of {PATIENT_NAME}").click()
    expect(page.get_by_text(f"{PATIENT_NAME} discharged.")).to_be_visible()
    expect(page.locator("#discharged")).to_contain_text(PATIENT_NAME)
    expect(page.locator(f"#session-{session_id}")).to_have_count(0)

    page.locator("#discharged").get_by_role("link", name=f"Summary for {PATIENT_NAME}").click()
    expect(page.get_by_role("heading", name=f"Session summary: {PATIENT_NAME}")).to_be_visible()
    vitals = page.locator("section", has=page.locator("#vitals-heading"))
    expect(vitals.locator("tbody tr")).to_have_count(1)
    expect(vitals).to_contain_text("168 ▲ High")
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()


def test_refreshing_keeps_what_staff_are_typing(tablet: Page, phone, session_id):
    """A half-filled vitals form survives the board's refreshes while the row around it updates."""
    page = tablet
    robin = PatientPhone(phone, session_id)
    robin.start(minutes_ago=1)
    page.clock.install()  # the pause after typing and the next fetch are moved past
    sign_in(page, "admin@demo.test")
    page.goto("/board/")
    row = page.locator(f"#session-{session_id}")
    expect(row).to_contain_text("Session (dosed)")
    row.get_by_text("Record vitals").click()
    row.get_by_label("Systolic (mmHg)").fill("131")
    page.locator("h1").click()  # focus leaves the field; the typed value is still unsaved

    robin.post("phase", {"phase": "downtime"})
    page.clock.run_for(10_000)  # past board.js's pause after typing (8 s) and a fetch
    expect(row).to_contain_text("Downtime")  # refreshed around the form
    expect(row.get_by_label("Systolic (mmHg)")).to_have_value("131")
    expect(row.locator("details").first).to_have_attribute("open", "")
