"""Getting and stopping the calendar link: the API, the Reminders page's buttons and partial."""

from __future__ import annotations

import re

from flask import render_template
from flask_login import login_user
from sqlalchemy import select

from kap.extensions import db
from kap.models import User
from kap.models.reminders import CalendarFeed
from kap.services.reminders.calendar import ensure_feed
from tests.helpers import csrf_from


def _feeds(app) -> list[CalendarFeed]:
    with app.app_context():
        return db.session.scalars(select(CalendarFeed).order_by(CalendarFeed.id)).all()


def test_api_gives_one_url_until_deleted_then_a_new_one(app, client, api_as, people):
    """GET makes the link once (same URL again), DELETE answers 204 and the old URL 404."""
    patient = api_as("patient@demo.test")
    first = patient.get("/api/v1/me/calendar")
    assert first.status_code == 200
    url = first.json["url"]
    assert re.fullmatch(r"http://localhost/calendar/[A-Za-z0-9_-]{43}\.ics", url)
    assert patient.get("/api/v1/me/calendar").json == {"url": url}
    assert client.get(url.removeprefix("http://localhost")).status_code == 200
    deleted = patient.delete("/api/v1/me/calendar")
    assert deleted.status_code == 204 and deleted.data == b""
    assert client.get(url.removeprefix("http://localhost")).status_code == 404
    assert patient.delete("/api/v1/me/calendar").status_code == 204  # nothing left: still 204
    new = patient.get("/api/v1/me/calendar").json["url"]
    assert new != url
    assert len(_feeds(app)) == 1


def test_api_is_for_patients_and_writes_need_csrf(app, client, api_as, people):
    """Clinicians get 403, signed-out callers 401, a DELETE without the CSRF header 400."""
    assert client.get("/api/v1/me/calendar").status_code == 401
    for email in ("therapist@demo.test", "admin@demo.test"):
        clinician = api_as(email)
        assert clinician.get("/api/v1/me/calendar").status_code == 403
        assert clinician.delete("/api/v1/me/calendar").status_code == 403
    patient = api_as("patient@demo.test")
    patient.get("/api/v1/me/calendar")
    refused = patient.client.delete("/api/v1/me/calendar")
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf_failed"
    assert len(_feeds(app)) == 1


def test_reminders_page_buttons_turn_the_link_on_and_stop_it(app, page_as, people):
    """The partial's forms post with CSRF and go back to the Reminders page."""
    browser = page_as("patient@demo.test")
    token = csrf_from(browser.get("/patient/").text)
    on = browser.post("/patient/reminders/calendar", data={"csrf_token": token})
    assert on.status_code == 302 and on.headers["Location"] == "/patient/reminders#calendar"
    assert [f.user_id for f in _feeds(app)] == [people["patient@demo.test"].id]
    again = browser.post("/patient/reminders/calendar", data={"csrf_token": token})
    assert again.status_code == 302 and len(_feeds(app)) == 1
    without_csrf = browser.post("/patient/reminders/calendar/revoke", data={})
    assert without_csrf.status_code == 400 and len(_feeds(app)) == 1
    off = browser.post("/patient/reminders/calendar/revoke", data={"csrf_token": token})
    assert off.status_code == 302 and off.headers["Location"] == "/patient/reminders#calendar"
    assert _feeds(app) == []


def _partial(app, email: str, *, with_feed: bool) -> str:
    """The partial as the Reminders page includes it, for a signed-in patient."""
    with app.test_request_context("/patient/"):  # a patient page: its context processors
        user = db.session.scalar(select(User).where(User.email == email))
        login_user(user)
        url = ensure_feed(user) if with_feed else None
        app.preprocess_request()
        return render_template("patient/_calendar_feed.html", prefs=None), url


def test_partial_shows_the_link_with_label_webcal_copy_and_stop(app, people):
    """A read-only, labelled URL; an 'Add to my calendar' webcal:// link; a Copy button (an
    ES module, no inline script); 'Stop the calendar link'."""
    html, url = _partial(app, "patient@demo.test", with_feed=True)
    assert '<label class="field__label" for="calendar-url">Your private calendar link</label>' in (
        html
    )
    field = re.search(r'<input[^>]*id="calendar-url"[^>]*>', html).group(0)
    assert f'value="{url}"' in field and " readonly" in field
    webcal = "webcal://" + url.removeprefix("http://")
    assert f'href="{webcal}">Add to my calendar</a>' in html
    assert "data-copy-calendar" in html and ">Copy</button>" in html
    assert 'action="/patient/reminders/calendar/revoke"' in html
    assert "Stop the calendar link" in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all('type="module"' in s and "src=" in s for s in scripts)
    assert "Appointment at Demo Clinic" in html


def test_partial_offers_to_make_a_link_when_there_is_none(app, people):
    """Without a feed: one button that makes it, and no URL."""
    html, _ = _partial(app, "patient@demo.test", with_feed=False)
    assert 'action="/patient/reminders/calendar"' in html
    assert "Get my calendar link" in html
    assert "/calendar/" not in html.replace("/patient/reminders/calendar", "")


def test_reminders_page_shows_the_link_once_turned_on_and_offers_it_again_once_stopped(
    app, page_as, people
):
    """On the Reminders page: 'Get my calendar link' → the labelled URL with 'Add to my
    calendar' and 'Stop the calendar link' → stopped, the old URL 404s, the button is back."""
    browser = page_as("patient@demo.test")
    page = browser.get("/patient/reminders").text
    assert 'id="calendar-heading">In your calendar</h2>' in page
    assert "Get my calendar link" in page and 'id="calendar-url"' not in page
    on = browser.post("/patient/reminders/calendar", data={"csrf_token": csrf_from(page)})
    assert on.headers["Location"] == "/patient/reminders#calendar"
    shown = browser.get("/patient/reminders").text
    url = re.search(r'id="calendar-url" type="url" value="([^"]+)"', shown).group(1)
    assert f'href="webcal://{url.removeprefix("http://")}">Add to my calendar</a>' in shown
    assert "Your calendar link is ready." in shown
    feed_path = url.removeprefix("http://localhost")
    assert app.test_client().get(feed_path).status_code == 200
    browser.post("/patient/reminders/calendar/revoke", data={"csrf_token": csrf_from(shown)})
    after = browser.get("/patient/reminders").text
    assert "Get my calendar link" in after and url not in after
    assert app.test_client().get(feed_path).status_code == 404
