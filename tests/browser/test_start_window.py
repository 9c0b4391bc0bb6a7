"""Next week's session on a phone: it cannot start today, and the page says when it can."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.helpers import screenshot, sign_in
from tests.browser.test_offline import controlled, wait_until

OPENS = re.compile(r"^This session can start from 08:00 on [A-Z][a-z]+day \d{1,2} [A-Z][a-z]+\.$")


def test_patient_cannot_start_next_weeks_session(page: Page):
    """Start session is disabled with the reason; day-of items wait; the API answers not_today."""
    sign_in(page, "patient@demo.test")
    later = page.locator("section", has=page.get_by_role("heading", name="Later sessions"))
    later.get_by_role("link").last.click()  # the IV session 7 days ahead, 10:00
    expect(page.get_by_role("heading", level=1)).to_have_text("Prepare for your session")
    session_id = int(re.search(r"/sessions/(\d+)$", page.url).group(1))

    start = page.get_by_role("button", name="Start session")
    expect(start).to_be_disabled()
    reason = page.locator("[data-not-today]")
    expect(reason).to_be_visible()
    expect(reason).to_have_text(OPENS)
    expect(start).to_have_accessible_description(re.compile(r"^This session can start from"))
    expect(page.get_by_text("On the day, staff check you in")).to_be_visible()
    expect(page.get_by_text("Waiting for staff check-in")).to_be_hidden()

    fasting = page.get_by_label("No food for 6 hours before my session")
    expect(fasting).to_be_disabled()
    expect(fasting).to_have_accessible_description(re.compile(r"You can tick this from \w+day"))
    quiet_room = page.get_by_label("My room is quiet, with an eye mask and headphones ready")
    quiet_room.check()  # not about the day: tickable now
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(start).to_be_disabled()
    screenshot(page, "start-window-phone")

    token = page.request.get("/api/v1/me").json()["csrf_token"]
    answer = page.request.post(
        f"/api/v1/sessions/{session_id}/phase",
        data={"phase": "session"},
        headers={"X-CSRFToken": token},
    )
    assert answer.status == 409
    assert answer.json()["error"]["code"] == "not_today"
    assert OPENS.match(answer.json()["error"]["message"])
    page.reload()
    expect(page.get_by_role("button", name="Start session")).to_be_disabled()


# Moves the demo patient's IV session (4 days ahead; its template asks for staff check-in) to
# the Walkthrough's time today, or records staff check-in on it, through the models, as the
# board's check-in action (built elsewhere) would.
_SESSION_TODAY = """
import sys
from sqlalchemy import select
from wsgi import app
from kap.extensions import db
from kap.models import TreatmentSession, User
from kap.models.base import utcnow
with app.app_context():
    patient = db.session.scalar(select(User).where(User.email == "patient@demo.test"))
    walkthrough, soon = db.session.scalars(select(TreatmentSession).where(
        TreatmentSession.patient_id == patient.id, TreatmentSession.status == "scheduled",
    ).order_by(TreatmentSession.scheduled_at)).all()[:2]
    if sys.argv[1] == "move":
        soon.scheduled_at = walkthrough.scheduled_at
    else:
        therapist = db.session.scalar(select(User).where(User.email == "therapist@demo.test"))
        soon.checked_in_at, soon.checked_in_by_id = utcnow(), therapist.id
    db.session.commit()
    print(soon.id)
"""


def _run(live_server, step: str) -> int:
    return int(live_server.python(_SESSION_TODAY, step).strip().splitlines()[-1])


def test_start_unlocks_when_staff_check_the_patient_in_without_a_reload(page: Page, live_server):
    """'Waiting for staff check-in' until the board records it; then 'Checked in at' and,
    with the day's items ticked, Start session — all on the open page."""
    session_id = _run(live_server, "move")
    page.clock.install()  # the page's next check is moved to, not waited for
    sign_in(page, "patient@demo.test")
    page.goto(f"/patient/sessions/{session_id}")
    start = page.get_by_role("button", name="Start session")
    expect(page.get_by_text("Waiting for staff check-in")).to_be_visible()
    expect(page.locator("[data-not-today]")).to_be_hidden()
    for box in page.locator('input[data-required="y"]').all():
        box.check()  # today, day-of items can be ticked
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(start).to_be_disabled()
    expect(start).to_have_accessible_description(re.compile(r"^Waiting for staff check-in"))
    page.evaluate("window.sameDocument = true")

    _run(live_server, "check-in")
    page.clock.run_for(10_000)  # the page asks every 10 s (start-card.js CHECK_IN_POLL_MS)
    expect(page.get_by_text(re.compile(r"^Checked in at \d\d:\d\d$"))).to_be_visible()
    expect(page.get_by_text("Waiting for staff check-in")).to_be_hidden()
    expect(start).to_be_enabled()
    assert page.evaluate("window.sameDocument") is True  # no reload happened


def test_offline_crisis_page_calls_the_clinic_first(page: Page, context: BrowserContext):
    """With no signal, Crisis support still leads with 'Call Demo Clinic: +1 212 555 0142'."""
    sign_in(page, "patient@demo.test")
    page.goto("/patient/crisis-support")
    online = page.get_by_role("link", name="Call Demo Clinic: +1 212 555 0142")
    expect(online).to_have_attribute("href", "tel:+12125550142")
    controlled(page)
    wait_until(page, "(async () => { const d = await import('/static/js/lib/device.js'); "
               "return (await d.clinicLine(d.currentUser()))?.phone; })()")  # fmt: skip
    context.set_offline(True)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-shell", "crisis")  # the offline page
    offline = page.locator("[data-contacts] a[href^='tel:']")
    expect(offline.first).to_have_text("Call Demo Clinic: +1 212 555 0142")
    expect(offline.first).to_have_attribute("href", "tel:+12125550142")
    expect(offline.nth(1)).to_have_text("Call 988")
    context.set_offline(False)
