"""The clinic admin's pages without JavaScript: the template editor comes back at the row it
changed and sums up its errors; the course form previews its dates and books nothing; the
invite form sets a patient's care team; Deactivate comes last and asks first."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from kap.extensions import db
from kap.models import AuditEvent, CareTeamMember, TreatmentSession, User
from kap.services.sessions.course_dates import pattern_dates
from tests.formscrape import form_data
from tests.helpers import csrf_from, demo_template


def _next_monday() -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=(7 - today.weekday()) or 7)


def _live(page_html: str) -> str:
    """The page without the inert rows a script clones (<template> contents)."""
    return re.sub(r"<template.*?</template>", "", page_html, flags=re.S)


def _buttons(page_html: str) -> dict[str, str]:
    """Each list button's value → its formaction."""
    page_html = _live(page_html)
    found = re.findall(
        r'<button[^>]*value="([a-z]+-[a-z]+(?:-\d+)?)"[^>]*formaction="([^"]*)"', page_html
    )
    return {value: html.unescape(action) for value, action in found}


# --- template editor ----------------------------------------------------------------------


def test_each_row_button_comes_back_at_the_row_it_changed(client, auth, people):
    """Up goes to the row above, down to the row below, remove to the row that takes its
    place, add to the new row: the fragment names a row the re-rendered page has."""
    auth.login("admin@demo.test")
    page = client.get("/clinic/templates/new").text
    buttons = _buttons(page)
    cues = len(re.findall(r'id="cues-row-\d+"', _live(page)))
    assert cues >= 2
    assert buttons["up-cues-1"] == "/clinic/templates/new#cues-row-0"
    assert buttons["down-cues-0"] == "/clinic/templates/new#cues-row-1"
    assert buttons[f"remove-cues-{cues - 1}"] == f"/clinic/templates/new#cues-row-{cues - 2}"
    assert buttons["remove-cues-0"] == "/clinic/templates/new#cues-row-0"
    assert buttons["add-cues"] == f"/clinic/templates/new#cues-row-{cues}"

    data = form_data(page, "/clinic/templates")
    after = client.post("/clinic/templates/new", data={**data, "action": "add-cues"}).text
    assert f'id="cues-row-{cues}"' in after  # the fragment's row exists after the post


def test_removing_the_only_row_comes_back_at_the_list(client, auth, people):
    """With one row left, Remove returns to the list itself (its rows are gone)."""
    auth.login("admin@demo.test")
    page = client.get("/clinic/templates/new").text
    data = form_data(page, "/clinic/templates")
    for key in [k for k in data if k.startswith("integration-") and k != "integration-0"]:
        data.pop(key)
    page = client.post("/clinic/templates/new", data={**data, "action": "add-cues"}).text
    assert _buttons(page)["remove-integration-0"] == "/clinic/templates/new#integration"
    assert 'id="integration"' in page


def test_error_summary_links_each_error_to_its_field(client, auth, people):
    """A refused save starts with a summary: one link per error, named for its field, to an
    element the page has; nothing typed is lost."""
    auth.login("admin@demo.test")
    data = form_data(client.get("/clinic/templates/new").text, "/clinic/templates")
    data.update(
        {"name": "", "cues-1-at": "9:59:00", "cues-1-text": "Late", "downtime_minutes": "x"}
    )
    response = client.post("/clinic/templates/new", data={**data, "action": "save"})
    assert response.status_code == 400
    summary = re.search(
        r'<div class="error-summary"[^>]*role="alert"[^>]*>(.*?)</div>', response.text, re.S
    )
    assert summary is not None
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary.group(1))
    by_field = {field: html.unescape(text) for field, text in links}
    assert by_field["name"] == "Name: Give the template a name."
    assert by_field["downtime_minutes"].startswith("Downtime: Enter a whole number")
    assert by_field["cues-1-at"].startswith(
        "Prompt 2 time: This prompt comes after the playlist ends"
    )
    for field in by_field:
        assert f'id="{field}"' in response.text
    assert form_data(response.text, "/clinic/templates")["cues-1-text"] == "Late"


def test_editor_offers_the_prompt_voice_choice_and_a_recording_per_prompt(client, auth, people):
    """The fallback select has both choices and every prompt row a hidden recording id, posted
    back as it came (the template rows a script clones are not posted)."""
    auth.login("admin@demo.test")
    page = client.get("/clinic/templates/new").text
    assert '<select class="field__input" id="prompt_fallback" name="prompt_fallback"' in page
    assert 'value="generated_voice" selected' in page
    assert 'value="chime_only"' in page
    data = form_data(page, "/clinic/templates")
    cue_rows = {k.split("-")[1] for k in data if k.startswith("cues-") and k.endswith("-at")}
    assert {f"cues-{n}-recording_id" for n in cue_rows} <= set(data)
    assert 'data-recordings-url="/clinic/templates/recordings"' in page


# --- course form --------------------------------------------------------------------------


def _person_url(people, email="patient2@demo.test") -> str:
    return f"/clinic/people/{people[email].id}"


def _course_fields(client, people, **fields):
    data = form_data(client.get(_person_url(people)).text, "/courses")
    data.update(fields)
    return data


def test_preview_lists_the_dates_the_course_would_book_and_books_nothing(app, client, auth, people):
    """Preview dates shows each session of the pattern at its local time; no session is made."""
    auth.login("admin@demo.test")
    patient_id = people["patient2@demo.test"].id
    with app.app_context():
        template_id = demo_template("IV infusion (40 minutes of music)").id
        before = db.session.scalars(
            select(TreatmentSession.id).where(TreatmentSession.patient_id == patient_id)
        ).all()
    monday = _next_monday()
    data = _course_fields(
        client,
        people,
        template_id=str(template_id),
        pattern="six_over_three_weeks",
        start_date=monday.isoformat(),
        weekdays=["0", "3"],
        clock="15:30",
        action="preview",
    )
    response = client.post(f"{_person_url(people)}/courses", data=data)
    assert response.status_code == 200
    preview = re.search(r'id="date-preview".*?</ol>', response.text, re.S)
    assert preview is not None
    assert "6 sessions would be booked" in preview.group(0)
    items = re.findall(r"<li>(.*?)</li>", preview.group(0))
    expected = pattern_dates("six_over_three_weeks", monday, [0, 3])
    assert len(items) == len(expected) == 6
    assert all("15:30" in item for item in items)
    with app.app_context():
        after = db.session.scalars(
            select(TreatmentSession.id).where(TreatmentSession.patient_id == patient_id)
        ).all()
    assert after == before
    assert form_data(response.text, "/courses")["clock"] == "15:30"  # the form keeps it all


def test_preview_of_a_course_missing_its_weekdays_says_so(client, auth, people):
    """The preview uses the booking rule, so it refuses what booking would refuse (400)."""
    auth.login("admin@demo.test")
    data = _course_fields(
        client,
        people,
        pattern="six_over_three_weeks",
        start_date=_next_monday().isoformat(),
        clock="15:30",
        action="preview",
    )
    data.pop("weekdays", None)
    response = client.post(f"{_person_url(people)}/courses", data=data)
    assert response.status_code == 400
    assert "Choose exactly two weekdays." in response.text
    assert 'id="date-preview"' not in response.text


def test_course_form_groups_each_patterns_fields(client, auth, people):
    """Without a script every field shows, grouped by the patterns it belongs to."""
    auth.login("admin@demo.test")
    page = client.get(_person_url(people)).text
    weekly = page.index('data-for-patterns="six_over_three_weeks esketamine"')
    custom = page.index('data-for-patterns="custom"')
    assert weekly < page.index('name="weekdays"') < custom < page.index('name="custom_dates"')


# --- people and invitations ---------------------------------------------------------------


def test_invite_form_sets_the_patients_care_team_in_the_same_step(app, client, auth, people):
    """Ticking therapists on the invite form makes them the new patient's care team, audited."""
    auth.login("admin@demo.test")
    therapist_ids = [people["therapist@demo.test"].id, people["therapist2@demo.test"].id]
    token = csrf_from(client.get("/clinic/people/new").text)
    response = client.post(
        "/clinic/people/new",
        data={
            "csrf_token": token,
            "name": "Grace Hopper",
            "email": "grace@demo.test",
            "role": "patient",
            "therapists": [str(t) for t in therapist_ids],
        },
    )
    assert response.status_code == 302
    with app.app_context():
        grace = db.session.scalar(select(User).where(User.email == "grace@demo.test"))
        team = set(
            db.session.scalars(
                select(CareTeamMember.therapist_id).where(CareTeamMember.patient_id == grace.id)
            )
        )
        events = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id == grace.id)
        ).all()
    assert team == set(therapist_ids)
    assert "care_team.update" in events
    page = client.get(response.headers["Location"]).text
    assert 'id="invite-link">http://localhost/invite/' in page
    assert ">Copy link</button>" in page


def test_invite_form_sets_no_care_team_for_staff(app, client, auth, people):
    """A therapist invited with a therapist ticked gets no care team (only patients have one)."""
    auth.login("admin@demo.test")
    token = csrf_from(client.get("/clinic/people/new").text)
    response = client.post(
        "/clinic/people/new",
        data={
            "csrf_token": token,
            "name": "Alan Turing",
            "email": "alan@demo.test",
            "role": "therapist",
            "therapists": [str(people["therapist@demo.test"].id)],
        },
    )
    assert response.status_code == 302
    with app.app_context():
        alan = db.session.scalar(select(User).where(User.email == "alan@demo.test"))
        assert not db.session.scalars(
            select(CareTeamMember).where(CareTeamMember.patient_id == alan.id)
        ).all()


def test_deactivate_is_the_last_action_and_asks_first(client, auth, people):
    """On a patient's page Deactivate comes after the care team and scheduling, inside a
    closed disclosure that names the person."""
    auth.login("admin@demo.test")
    page = client.get(_person_url(people)).text
    deactivate = page.index("/deactivate")
    assert page.index("Save care team") < page.index("Schedule course") < deactivate
    disclosure = page[page.index('<details class="danger-zone">') :]
    assert disclosure.index("/deactivate") > 0
    assert '<details class="danger-zone" open' not in page
    assert re.search(r"Yes, deactivate [^<]+</button>", page)
