"""Discharge on the tablet board: out-of-range final vitals block it until a written override."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import screenshot, sign_in

PATIENT_NAME = "Robin Lee"
DRIVER = "Jamie Lee (sister)"
REASON = "Seen at the bedside; BP 182/108 is Robin's usual, GP informed, sister driving."

# A Walkthrough session of Robin Lee's today in Room 4, dosed 10 minutes ago (its 5-minute
# observation is over), with final vitals of 182/108, HR 125, SpO2 90 recorded through the
# board's own service, as a clinician would.
_DOSED_WITH_BAD_FINAL_VITALS = """
from datetime import UTC, datetime, timedelta
from sqlalchemy import select
from wsgi import app
from kap.extensions import db
from kap.models import SessionStatus, SessionTemplate, User
from kap.services.board.actions import record_vitals
from kap.services.sessions.scheduling import add_booster
from kap.timezones import to_local
with app.app_context():
    admin = db.session.scalar(select(User).where(User.email == "admin@demo.test"))
    patient = db.session.scalar(select(User).where(User.email == "patient2@demo.test"))
    template = db.session.scalar(select(SessionTemplate).where(
        SessionTemplate.clinic_id == admin.clinic_id,
        SessionTemplate.name == "Walkthrough (3 minutes)",
    ))
    now = datetime.now(UTC)
    local = to_local(now, admin.clinic.timezone)
    session = add_booster(admin, patient.id, template.id, local.date(),
                          local.time().replace(second=0, microsecond=0), "Room 4")
    session.status = SessionStatus.DOWNTIME
    session.session_started_at = now - timedelta(minutes=10)
    db.session.commit()
    record_vitals(admin, session.id, kind="final",
                  values={"systolic": 182, "diastolic": 108, "heart_rate": 125, "spo2": 90,
                          "sedation": 5, "dissociation": "none", "respiratory_concern": False})
    print(session.id)
"""

_DEMO_RECORD = """
from sqlalchemy import select
from wsgi import app
from kap.extensions import db
from kap.models import SessionDischarge
with app.app_context():
    print(db.session.scalar(select(SessionDischarge.session_id)))
"""


def _run(live_server, script: str) -> int:
    return int(live_server.python(script).strip().splitlines()[-1])


@pytest.fixture
def session_id(live_server) -> int:
    return _run(live_server, _DOSED_WITH_BAD_FINAL_VITALS)


def test_out_of_range_discharge_needs_a_written_override(tablet: Page, session_id):
    """Blockers shown → refused → reason and driver → confirm → discharged, override on record."""
    page = tablet
    sign_in(page, "therapist@demo.test")
    page.goto("/board/")
    row = page.locator(f"#session-{session_id}")
    expect(row).to_contain_text(
        "Final vitals are outside the clinic's limits: BP 182/108 (high), heart rate 125 "
        "(high), SpO2 90% (low)."
    )
    expect(row.get_by_label("Who is driving the patient home?")).to_be_visible()

    row.get_by_role("button", name=f"Discharge {PATIENT_NAME}").click()
    row = page.locator(f"#session-{session_id}")
    expect(row).to_contain_text("Not discharged yet")
    expect(row).to_contain_text("Confirm the ride home: write who is driving the patient.")
    expect(page.locator("#discharged")).not_to_contain_text(PATIENT_NAME)

    row.get_by_label("Why may the patient leave anyway? (override reason)").fill(REASON)
    row.get_by_label("Who is driving the patient home?").fill(DRIVER)
    row.get_by_role("button", name=f"Discharge {PATIENT_NAME}").click()

    expect(page.get_by_role("heading", name=f"Confirm discharge: {PATIENT_NAME}")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"{DRIVER} (driving)")
    expect(page.locator("main")).to_contain_text("BP 182/108 (high)")
    screenshot(page, "discharge-confirm-tablet")
    page.get_by_label("I have seen the patient and they are ready to leave").check()
    page.get_by_role("button", name=f"Confirm discharge of {PATIENT_NAME}").click()

    expect(page.get_by_text(f"{PATIENT_NAME} discharged.")).to_be_visible()
    expect(page.locator("#discharged")).to_contain_text(PATIENT_NAME)
    expect(page.locator(f"#session-{session_id}")).to_have_count(0)
    discharged = page.locator(f"#discharged-{session_id}")
    expect(discharged.locator("summary")).to_have_text(f"Reopen the discharge of {PATIENT_NAME}")

    discharged.get_by_role("link", name=f"Summary for {PATIENT_NAME}").click()
    record = page.locator("section", has=page.locator("#discharge-heading"))
    expect(record).to_contain_text("Discharged outside the clinic's limits")
    expect(record).to_contain_text("systolic high, diastolic high, heart rate high, SpO2 low")
    expect(record).to_contain_text(REASON)
    expect(record).to_contain_text(DRIVER)


def test_demo_monitoring_record_prints_cleanly(tablet: Page, live_server):
    """The demo esketamine record: no board chrome in print, and a PDF to download."""
    page = tablet
    record_id = _run(live_server, _DEMO_RECORD)
    sign_in(page, "admin@demo.test")
    page.goto(f"/board/sessions/{record_id}/summary")
    expect(page.get_by_role("heading", name="Session summary: Pat Jordan")).to_be_visible()
    protocol = page.locator("section", has=page.locator("#protocol-heading"))
    expect(protocol.locator("tbody tr")).to_have_count(3)
    expect(protocol).not_to_contain_text("Not recorded")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("link", name="Download PDF")).to_be_hidden()
    screenshot(page, "monitoring-record-print")
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename.startswith("monitoring-record-")
    assert download.value.suggested_filename.endswith(".pdf")
