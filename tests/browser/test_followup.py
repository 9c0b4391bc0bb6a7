"""The therapist's view of the measurement schedule and the PHQ-9 signals on a 320 px phone
in dark mode: overdue check-ins and a possible relapse in words on the dashboard row, the
numbers behind it on the timeline; nothing wider than the screen but the table's own scroll."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import screenshot, sign_in

_AFTER_A_COURSE = """
from sqlalchemy import select
from wsgi import app
from kap.extensions import db
from kap.models import User
from kap.models.base import utcnow
from tests.followup_data import patient_after_a_course
with app.app_context():
    therapist = db.session.scalar(select(User).where(User.email == "therapist@demo.test"))
    patient = patient_after_a_course(therapist, 1, utcnow())
    db.session.commit()
    print(patient.id)
"""


@pytest.fixture
def narrow(browser, base_url):
    """A 320 px wide phone in dark mode."""
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, base_url=base_url, color_scheme="dark"
    )
    yield context.new_page()
    context.close()


def test_overdue_check_ins_and_a_possible_relapse_at_320_px_in_dark_mode(narrow: Page, live_server):
    """The row says what is overdue and the signal in words; the timeline shows baseline,
    latest, lowest and the change."""
    patient_id = int(live_server.python(_AFTER_A_COURSE).strip().splitlines()[-1])
    sign_in(narrow, "therapist@demo.test")
    row = narrow.get_by_role("row", name="After 1")
    expect(row).to_contain_text("PHQ-9, GAD-7")
    expect(row).to_contain_text("overdue since")
    expect(row).to_contain_text("Possible relapse — review a booster by")
    page_width = narrow.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 320
    screenshot(narrow, "therapist-dashboard-followup-320-dark", full_page=False)

    narrow.goto(f"/therapist/patients/{patient_id}#signals")
    signals = narrow.locator("#signals")
    expect(signals).to_contain_text("Possible relapse")
    expect(signals.locator("dd").first).to_contain_text("20")
    expect(signals).to_contain_text("-30.0 %")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 320
    signals.screenshot(path="docs/screenshots/therapist-timeline-signals-320-dark.png")
