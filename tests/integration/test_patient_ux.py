"""The patient pages of issue 17 through the test client: the mood slider's form, past
sessions only in "About which session", the integration questions, notes on private entries,
dir=auto on people's writing, and the links and welcome on home."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from kap.extensions import db
from kap.models import JournalEntry, SessionStatus, TreatmentSession
from kap.models.base import utcnow
from tests.formscrape import form_data


def _newest_entry(app) -> tuple[str, int | None]:
    """(body, mood) of the newest entry (bodies decrypt inside the app)."""
    with app.app_context():
        entry = db.session.scalars(select(JournalEntry).order_by(JournalEntry.id.desc())).first()
        assert entry is not None
        return entry.body, entry.mood


def test_mood_counts_only_when_noted(client, auth, people, app):
    """The slider always sends a value: without "Note my mood" the entry has no mood."""
    auth.login("patient@demo.test")
    data = form_data(client.get("/patient/journal/new").text, "/journal/new")
    assert data["mood_field"] == "range" and data["mood"] == "5" and "mood_given" not in data
    client.post("/patient/journal/new", data={**data, "body": "No mood noted"})
    assert _newest_entry(app) == ("No mood noted", None)

    data = form_data(client.get("/patient/journal/new").text, "/journal/new")
    client.post(
        "/patient/journal/new", data={**data, "body": "Mood noted", "mood": "8", "mood_given": "y"}
    )
    assert _newest_entry(app) == ("Mood noted", 8)


def test_a_post_without_the_slider_keeps_its_mood(client, auth, people, app):
    """An older page (no mood_field) is taken as it is: its mood counts."""
    auth.login("patient@demo.test")
    data = form_data(client.get("/patient/journal/new").text, "/journal/new")
    del data["mood_field"]
    client.post("/patient/journal/new", data={**data, "body": "Old form", "mood": "4"})
    assert _newest_entry(app) == ("Old form", 4)


def test_out_of_range_mood_is_refused_beside_the_slider(client, auth, people):
    """A mood of 11 re-renders the form with the message and the text kept."""
    auth.login("patient@demo.test")
    data = form_data(client.get("/patient/journal/new").text, "/journal/new")
    response = client.post(
        "/patient/journal/new",
        data={**data, "body": "Keep me", "mood": "11", "mood_given": "y"},
    )
    assert response.status_code == 400
    assert "Choose a number from 0 to 10." in response.text
    assert form_data(response.text, "/journal/new")["body"] == "Keep me"


def test_only_sessions_that_have_begun_are_offered(client, auth, people, app):
    """Future and cancelled sessions are not in "About which session"; past ones are."""
    auth.login("patient@demo.test")
    html = client.get("/patient/journal/new").text
    offered = {int(v) for v in re.findall(r'<option value="(\d+)"', html)}
    with app.app_context():
        mine = db.session.scalars(
            select(TreatmentSession).where(
                TreatmentSession.patient_id == people["patient@demo.test"].id
            )
        ).all()
        begun = {s.id for s in mine if s.status not in ("scheduled", "cancelled")}
        not_begun = {s.id for s in mine} - begun
    assert offered == begun and begun and not_begun


def test_a_future_session_in_the_link_is_not_chosen(client, auth, people, session_id):
    """?session_id= of today's unstarted session leaves the choice empty and no questions."""
    auth.login("patient@demo.test")
    html = client.get(f"/patient/journal/new?session_id={session_id}").text
    assert f'value="{session_id}"' not in html
    assert "data-entry-prompts hidden" in html


def test_the_sessions_questions_are_on_the_form(client, auth, people, app):
    """An entry about a past session shows that session's integration questions."""
    auth.login("patient@demo.test")
    with app.app_context():
        past = db.session.scalars(
            select(TreatmentSession).where(
                TreatmentSession.patient_id == people["patient@demo.test"].id,
                TreatmentSession.status == SessionStatus.COMPLETE,
            )
        ).first()
        assert past is not None
        prompts = list(past.template_version.integration_prompts)
        past_id = past.id
    assert prompts
    html = client.get(f"/patient/journal/new?session_id={past_id}").text
    assert "data-entry-prompts hidden" not in html
    for prompt in prompts:
        assert f'<li dir="auto">{prompt}</li>' in html.replace("&#39;", "'")


def test_private_entries_take_notes_shared_ones_replies(client, auth, people, app, api_as):
    """ "Add a note" on a private entry ("Note added."), "Reply" on a shared one."""
    api = api_as("patient@demo.test")
    private = api.post(
        "/api/v1/journal", json={"client_id": "ux-1", "body": "Mine", "shared": False}
    ).json
    auth.login("patient@demo.test")
    html = client.get("/patient/journal").text
    article = html[html.index(f'id="entry-{private["id"]}"') :]
    article = article[: article.index("</article>")]
    assert "Add a note" in article and ">Reply<" not in article
    assert "button--danger" not in html  # Delete is not red in the list
    assert '<div class="entry__body" dir="auto">Mine</div>' in article
    data = form_data(html, f"/journal/{private['id']}/comments")
    response = client.post(
        f"/patient/journal/{private['id']}/comments",
        data={**data, "body": "To myself"},
        follow_redirects=True,
    )
    assert "Note added." in response.text


def test_therapist_pages_show_writing_with_dir_auto(page_as, people, api_as):
    """A shared entry and its comment carry dir=auto on the therapist's entry page."""
    api = api_as("patient@demo.test")
    entry = api.post(
        "/api/v1/journal", json={"client_id": "ux-2", "body": "שלום", "shared": True}
    ).json
    therapist = page_as("therapist@demo.test")
    html = therapist.get(f"/therapist/entries/{entry['id']}").text
    assert '<div class="entry__body" dir="auto">שלום</div>' in html


def test_home_links_your_data_and_account_security_and_welcomes_new_patients(page_as, people):
    """Home links both pages; the welcome is offered to a patient with no history only."""
    home = page_as("patient@demo.test").get("/patient/").text
    assert 'href="/patient/my-data"' in home and 'href="/account/security"' in home
    assert "data-welcome" not in home
    new = page_as("patient2@demo.test").get("/patient/").text
    assert "Welcome to KAP Companion" in new and "data-welcome hidden" in new


def test_home_lays_out_the_offline_line_on_the_session_day_only(client, auth, app, session_id):
    """Booked now, the line that says the session is kept on the phone is in the page from the
    start (not revealed by the script above Prepare for this session); booked two days
    ahead, it is not shown."""
    auth.login("patient@demo.test")

    def line() -> str:
        html = client.get("/patient/").text
        found = re.search(r'<p class="offline-ready"[^>]*>', html)
        assert found and f'data-session-id="{session_id}"' in found.group(0)
        return found.group(0)

    for moved, shown in ((timedelta(0), True), (timedelta(days=2), False)):
        with app.app_context():
            db.session.get_one(TreatmentSession, session_id).scheduled_at = utcnow() + moved
            db.session.commit()
        assert (" hidden" not in line()) is shown
