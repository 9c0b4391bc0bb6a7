"""The board on a tablet records a session day: check-in, the dose, the 40-minute check."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kap.demo.content import ESKETAMINE_TEMPLATE
from tests.browser.helpers import screenshot, sign_in

PATIENT = "patient2@demo.test"
PATIENT_NAME = "Robin Lee"

# The clock moved on: everything recorded for the session happened 45 minutes earlier.
_FORTY_FIVE_MINUTES_LATER = """
import sys
from datetime import timedelta
from sqlalchemy import select
from wsgi import app
from kap.extensions import db
from kap.models import MedicationAdministration, SessionObservation, TreatmentSession
session_id, earlier = int(sys.argv[1]), timedelta(minutes=45)
with app.app_context():
    for model, columns in (
        (MedicationAdministration, ("given_at", "recorded_at")),
        (SessionObservation, ("recorded_at",)),
    ):
        for record in db.session.scalars(select(model).where(model.session_id == session_id)):
            for column in columns:
                setattr(record, column, getattr(record, column) - earlier)
    session = db.session.get(TreatmentSession, session_id)
    session.checked_in_at -= earlier
    db.session.commit()
"""


@pytest.fixture
def session_id(live_server) -> int:
    """Robin Lee's esketamine session (check-in required, post-dose check at 40 minutes) in
    Room 3, booked for now as the clinic admin would."""
    live_server.clear_to_start(PATIENT)
    return live_server.book_session_now(PATIENT, ESKETAMINE_TEMPLATE, "Room 3")


def test_check_in_dose_and_forty_minute_check_on_the_board(tablet: Page, live_server, session_id):
    """Check in after pre-dose vitals, record the dose, then the overdue post-dose check."""
    page = tablet
    sign_in(page, "therapist@demo.test")
    page.goto("/board/")
    row = page.locator(f"#session-{session_id}")
    expect(row).to_contain_text("Waiting for check-in — the patient cannot start until checked in")
    expect(row).to_contain_text("Record pre-dose vitals first.")
    expect(row.get_by_role("button", name=f"Check in {PATIENT_NAME}")).to_be_disabled()

    # Pre-dose vitals, then check-in with the photo ID ticked.
    row.get_by_text("Record vitals").click()
    vitals = row.locator("form[action$='/vitals']")
    expect(vitals.get_by_label("Before dosing")).to_be_checked()
    vitals.get_by_label("Systolic (mmHg)").fill("128")
    vitals.get_by_label("Diastolic (mmHg)").fill("82")
    vitals.get_by_label("Heart rate (bpm)").fill("74")
    vitals.get_by_role("button", name="Save vitals").click()
    expect(page.get_by_text(f"Before dosing vitals recorded for {PATIENT_NAME}.")).to_be_visible()
    row = page.locator(f"#session-{session_id}")
    row.get_by_label("Photo ID checked").check()
    row.get_by_role("button", name=f"Check in {PATIENT_NAME}").click()
    expect(page.get_by_text(f"{PATIENT_NAME} checked in.")).to_be_visible()
    row = page.locator(f"#session-{session_id}")
    expect(row).to_contain_text("by Dr. Tess Rivera")
    expect(row.locator(".board-row__checkin")).to_have_text(
        re.compile(r"Checked in \d\d:\d\d by Dr\. Tess Rivera")
    )
    expect(row).not_to_contain_text("Waiting for check-in")

    # The dose: the route matches the template, everything else is typed by the clinician.
    row.get_by_text("Record administration").click()
    given = row.locator("form[action$='/administrations']")
    expect(given.get_by_label("Intranasal")).to_be_checked()
    expect(given.get_by_label("Dose", exact=True)).to_have_value("")
    given.get_by_label("Medication").fill("Esketamine (Spravato)")
    given.get_by_label("Dose", exact=True).fill("56")
    given.get_by_label("Unit").select_option("mg")
    given.get_by_label("Lot (optional)").fill("DEMO-24A17")
    given.get_by_role("button", name="Save administration").click()
    expect(page.get_by_text(f"Administration recorded for {PATIENT_NAME}.")).to_be_visible()
    row = page.locator(f"#session-{session_id}")
    expect(row.locator(".given")).to_have_text(
        re.compile(
            r"Esketamine \(Spravato\) 56 mg intranasal at \d\d:\d\d by Dr\. Tess Rivera, "
            r"lot DEMO-24A17"
        )
    )
    expect(row).to_contain_text("Post-dose vitals due")
    expect(row).to_contain_text("(in 40 min)")

    # 45 minutes later the post-dose check is overdue, and the row asks for attention.
    live_server.python(_FORTY_FIVE_MINUTES_LATER, str(session_id))
    page.reload()
    row = page.locator(f"#session-{session_id}")
    expect(row).to_contain_text("Overdue: post-dose vitals, due")
    expect(row).to_have_class(re.compile(r"board-row--attention"))

    row.get_by_text("Record vitals").click()
    vitals = row.locator("form[action$='/vitals']")
    expect(vitals.get_by_label("Post-dose check")).to_be_checked()
    vitals.get_by_label("Systolic (mmHg)").fill("142")
    vitals.get_by_label("Diastolic (mmHg)").fill("88")
    vitals.get_by_label("Heart rate (bpm)").fill("80")
    vitals.get_by_label("SpO2 (%, if measured)").fill("97")
    vitals.get_by_label("Sedation (MOAA/S)").select_option("4")
    vitals.get_by_label("Mild").check()
    vitals.get_by_label("No concern").check()
    vitals.get_by_role("button", name="Save vitals").click()
    expect(page.get_by_text(f"Post-dose check vitals recorded for {PATIENT_NAME}.")).to_be_visible()
    row = page.locator(f"#session-{session_id}")
    expect(row).to_contain_text("Post-dose vitals done")
    expect(row).not_to_contain_text("Overdue: post-dose")
    expect(row).to_contain_text("Sedation 4 (Lethargic response to name)")
    expect(row).to_contain_text("Dissociation: mild")
    expect(row).to_contain_text("Breathing: no concern")
    expect(row).to_contain_text("Final check due")
    row.scroll_into_view_if_needed()
    screenshot(page, "board-records-tablet")
