"""Clinic settings: name, time zone, preparation hours and the crisis contacts patients see.

Forms are posted through the real settings page with CSRF on; the stored clinic row is
checked after each post.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kap.extensions import db
from kap.models import DEFAULT_CRISIS_CONTACTS, Clinic
from tests.helpers import csrf_from, page_text

#: The settings form as the demo clinic's page first shows it (contact rows 0 and 1 filled).
DEMO_SETTINGS = {
    "name": "Demo Clinic",
    "timezone": "America/New_York",
    "fasting_hours": "6",
    "clear_liquids_hours": "2",
    "substance_free_hours": "24",
    "start_window_minutes": "120",
    "phone": "+1 212 555 0142",
    "contacts-0-name": "988 Suicide & Crisis Lifeline",
    "contacts-0-phone": "988",
    "contacts-0-sms": "988",
    "contacts-0-url": "",
    "contacts-0-description": "Call or text 988, any time, free and confidential.",
    "contacts-1-name": "Emergency services",
    "contacts-1-phone": "911",
    "contacts-1-sms": "",
    "contacts-1-url": "",
    "contacts-1-description": "If you are in immediate danger, call 911.",
}

#: One row (0) with every contact field empty: the form drops it.
NO_CONTACTS = {
    f"contacts-{i}-{key}": ""
    for i in (0, 1)
    for key in ("name", "phone", "sms", "url", "description")
}


def save_settings(client, changes: dict[str, str]):
    """Open the settings page and post the demo values with ``changes`` applied."""
    token = csrf_from(client.get("/clinic/settings").text)
    form = {**DEMO_SETTINGS, **changes}
    return client.post("/clinic/settings", data={"csrf_token": token, **form})


def error_beside(page_html: str, field_id: str) -> str | None:
    """The error shown beside one field, as text (None when it has none)."""
    match = re.search(rf'id="{re.escape(field_id)}-error">(.*?)</p>', page_html, re.S)
    return html.unescape(match.group(1)) if match else None


def clinic_named(app, slug: str) -> Clinic:
    """The stored clinic (a detached snapshot)."""
    with app.app_context():
        return db.session.scalar(select(Clinic).where(Clinic.slug == slug))


def test_settings_page_shows_the_clinics_current_values(client, auth, people):
    """The form opens filled with the clinic's name, zone, hours and crisis contacts."""
    auth.login("admin@demo.test")
    page = client.get("/clinic/settings")

    assert page.status_code == 200
    assert 'value="Demo Clinic"' in page.text
    assert re.search(r'<option selected value="America/New_York">', page.text)
    assert re.search(r'id="fasting_hours"[^>]*value="6"', page.text)
    assert 'name="contacts-0-name" value="988 Suicide &amp; Crisis Lifeline"' in page.text
    assert 'name="contacts-5-name" value=""' in page.text  # room for up to six contacts


def test_saved_settings_are_stored_and_shown_to_patients(page_as, app, client, auth, people):
    """A valid form is stored (empty rows dropped, spaces trimmed) and reaches Crisis support."""
    auth.login("admin@demo.test")

    response = save_settings(
        client,
        {
            **NO_CONTACTS,
            "name": "  Demo Clinic North ",
            "timezone": "Europe/London",
            "fasting_hours": "8",
            "clear_liquids_hours": "3",
            "substance_free_hours": "48",
            "contacts-0-name": " Samaritans ",
            "contacts-0-phone": "116123",
            "contacts-0-description": "Any time, day or night.",
            # row 1 left empty: it is dropped
            "contacts-2-name": "Shout",
            "contacts-2-sms": "85258",
            "contacts-2-url": "https://giveusashout.org",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/clinic/settings"
    assert "Settings saved." in client.get("/clinic/settings").text
    clinic = clinic_named(app, "demo")
    assert clinic.name == "Demo Clinic North"
    assert clinic.timezone == "Europe/London"
    assert (clinic.fasting_hours, clinic.clear_liquids_hours, clinic.substance_free_hours) == (
        8,
        3,
        48,
    )
    assert clinic.crisis_contacts == [
        {
            "name": "Samaritans",
            "phone": "116123",
            "sms": "",
            "url": "",
            "description": "Any time, day or night.",
        },
        {
            "name": "Shout",
            "phone": "",
            "sms": "85258",
            "url": "https://giveusashout.org",
            "description": "",
        },
    ]

    crisis = page_as("patient@demo.test").get("/patient/crisis-support").text
    assert "<h2>Samaritans</h2>" in crisis
    assert 'href="tel:116123"' in crisis
    assert 'href="sms:85258"' in crisis
    assert 'href="https://giveusashout.org"' in crisis
    # The US line is gone from what the patient reads and dials (the page's attributes hold a
    # random CSRF token, which may contain any three digits).
    assert "988" not in page_text(crisis)
    assert "tel:988" not in crisis


def test_one_clinics_settings_do_not_touch_another(page_as, app, client, auth, people):
    """admin@other.test saving settings changes Other Clinic only."""
    auth.login("admin@other.test")

    response = save_settings(
        client,
        {
            **NO_CONTACTS,
            "name": "Other Clinic West",
            "timezone": "America/Los_Angeles",
            "contacts-0-name": "West Coast Line",
            "contacts-0-phone": "5550100",
        },
    )

    assert response.status_code == 302
    assert clinic_named(app, "other").name == "Other Clinic West"
    demo = clinic_named(app, "demo")
    assert (demo.name, demo.timezone) == ("Demo Clinic", "America/New_York")
    assert demo.crisis_contacts == DEFAULT_CRISIS_CONTACTS
    crisis = page_as("patient@demo.test").get("/patient/crisis-support").text
    assert "West Coast Line" not in crisis
    assert 'href="tel:988"' in crisis


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"name": "  "}, "name", "Enter the clinic's name."),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Not a valid choice."),
        ({"fasting_hours": "25"}, "fasting_hours", "between 0 and 24"),
        ({"clear_liquids_hours": "-1"}, "clear_liquids_hours", "between 0 and 24"),
        ({"substance_free_hours": "169"}, "substance_free_hours", "between 0 and 168"),
        ({"fasting_hours": "six"}, "fasting_hours", "Not a valid integer value."),
        (NO_CONTACTS, "contacts", "Keep at least one crisis contact."),
        ({"contacts-0-name": ""}, "contacts-0-name", "Name the contact."),
        (
            {"contacts-0-phone": "", "contacts-0-sms": ""},
            "contacts-0-phone",
            "Give a phone number, text number or website.",
        ),
        ({"contacts-0-url": "http://988lifeline.org"}, "contacts-0-url", "https://"),
        ({"contacts-0-url": "javascript:alert(1)"}, "contacts-0-url", "https://"),
    ],
    ids=[
        "blank-name",
        "unknown-zone",
        "fasting-over-24",
        "liquids-negative",
        "substances-over-168",
        "hours-not-a-number",
        "no-contacts",
        "contact-without-name",
        "contact-without-a-way-to-reach",
        "plain-http-website",
        "javascript-website",
    ],
)
def test_invalid_settings_are_refused_and_what_was_typed_is_kept(
    app, client, auth, people, changes, field_id, message
):
    """Each bad value re-renders with 400 and a message beside it; nothing is stored."""
    auth.login("admin@demo.test")

    response = save_settings(client, {"name": "Demo Clinic Renamed", **changes})

    assert response.status_code == 400
    assert message in (error_beside(response.text, field_id) or "")
    typed = {**DEMO_SETTINGS, "name": "Demo Clinic Renamed", **changes}
    if typed["name"].strip():
        assert f'value="{typed["name"]}"' in response.text
    if typed["contacts-0-url"]:
        assert f'name="contacts-0-url" value="{html.escape(typed["contacts-0-url"])}"' in (
            response.text
        )
    clinic = clinic_named(app, "demo")
    assert (clinic.name, clinic.fasting_hours) == ("Demo Clinic", 6)
    assert clinic.crisis_contacts == DEFAULT_CRISIS_CONTACTS


def test_contact_error_is_shown_beside_the_row_that_has_it(client, auth, people):
    """With row 1 emptied, a bad website in row 2 is marked on row 2, not on row 1."""
    auth.login("admin@demo.test")

    response = save_settings(
        client,
        {
            **NO_CONTACTS,
            "contacts-0-name": "988 Suicide & Crisis Lifeline",
            "contacts-0-phone": "988",
            "contacts-2-name": "Crisis Text Line",
            "contacts-2-url": "http://crisistextline.org",
        },
    )

    assert response.status_code == 400
    assert error_beside(response.text, "contacts-2-url") == "Websites must start with https://"
    assert error_beside(response.text, "contacts-1-url") is None


def test_any_iana_time_zone_can_be_chosen(app, client, auth, people):
    """A clinic in Nairobi can set Africa/Nairobi as its zone."""
    auth.login("admin@demo.test")
    response = save_settings(client, {"timezone": "Africa/Nairobi"})
    assert response.status_code == 302
    assert clinic_named(app, "demo").timezone == "Africa/Nairobi"


def next_session_shown(page_html: str) -> tuple[datetime, str]:
    """The next session's UTC time (from <time datetime>) and the text shown for it."""
    match = re.search(
        r'class="next-session__when"><time datetime="([^"]+)">([^<]+)</time>', page_html
    )
    assert match, "no next session on the page"
    return datetime.fromisoformat(match.group(1).replace("Z", "+00:00")), match.group(2)


def as_shown_in(zone: str, moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %-d %b %Y, %H:%M")


def test_times_are_shown_in_the_clinics_time_zone(page_as, client, auth, people):
    """Changing the clinic's zone changes how the same session time reads for the patient."""
    patient = page_as("patient@demo.test")
    moment, before = next_session_shown(patient.get("/patient/").text)
    assert before == as_shown_in("America/New_York", moment)

    auth.login("admin@demo.test")
    assert save_settings(client, {"timezone": "Asia/Tokyo"}).status_code == 302

    same_moment, after = next_session_shown(patient.get("/patient/").text)
    assert same_moment == moment  # stored in UTC, untouched
    assert after == as_shown_in("Asia/Tokyo", moment)
    assert after != before


@pytest.mark.parametrize(
    ("email", "home"),
    [("therapist@demo.test", "/therapist/"), ("patient@demo.test", "/patient/")],
)
def test_only_clinic_admins_can_change_settings(app, client, auth, people, email, home):
    """Other roles are sent home from the settings page, and their posts change nothing."""
    auth.login(email)
    assert client.get("/clinic/settings").headers["Location"] == home

    token = csrf_from(client.get(home).text)
    response = client.post(
        "/clinic/settings", data={"csrf_token": token, **DEMO_SETTINGS, "name": "Taken over"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == home
    assert clinic_named(app, "demo").name == "Demo Clinic"


# --- session day: the start window and the clinic's own phone ---------------------------------


def settings_audit_rows(app) -> list[tuple[int | None, int | None, str, str]]:
    """(actor_id, subject_id, subject_type, detail) of every clinic.settings.update row."""
    from kap.models import AuditEvent

    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "clinic.settings.update")
            .order_by(AuditEvent.id)
        )
        return [(r.actor_id, r.subject_id, r.subject_type, r.detail) for r in rows]


def test_start_window_and_phone_are_saved_and_audited_with_the_actor(
    page_as, app, client, auth, people
):
    """One audit row names the admin and the changed fields, never the number typed."""
    auth.login("admin@demo.test")
    response = save_settings(client, {"start_window_minutes": "45", "phone": "(212) 555-0199"})
    assert response.status_code == 302
    clinic = clinic_named(app, "demo")
    assert (clinic.start_window_minutes, clinic.phone) == (45, "(212) 555-0199")
    rows = settings_audit_rows(app)
    assert rows == [
        (
            people["admin@demo.test"].id,
            clinic.id,
            "clinic",
            "changed=start_window_minutes,phone",
        )
    ]
    assert "555" not in rows[0][3]
    crisis = page_as("patient@demo.test").get("/patient/crisis-support").text
    assert 'href="tel:2125550199">Call Demo Clinic: (212) 555-0199</a>' in crisis


def test_saving_unchanged_settings_writes_no_audit_row(app, client, auth, people):
    """Pressing Save with nothing changed changes nothing, so nothing is audited."""
    auth.login("admin@demo.test")
    assert save_settings(client, {}).status_code == 302
    assert settings_audit_rows(app) == []


def test_the_clinic_phone_is_optional(page_as, app, client, auth, people):
    """An empty phone is stored empty and the Crisis support page shows no clinic line."""
    auth.login("admin@demo.test")
    assert save_settings(client, {"phone": ""}).status_code == 302
    assert clinic_named(app, "demo").phone == ""
    assert settings_audit_rows(app)[0][3] == "changed=phone"
    crisis = page_as("patient@demo.test").get("/patient/crisis-support").text
    assert "Call Demo Clinic" not in crisis and 'href="tel:988"' in crisis


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"phone": "call reception"}, "phone", "Use digits, spaces, +, -, ( and ) only"),
        ({"phone": "+1 212 555 0142 ext. 5"}, "phone", "Use digits, spaces, +, -, ( and ) only"),
        ({"phone": "tel:+12125550142"}, "phone", "Use digits, spaces, +, -, ( and ) only"),
        ({"phone": "<b>911</b>"}, "phone", "Use digits, spaces, +, -, ( and ) only"),
        ({"phone": "+-()"}, "phone", "Use digits, spaces, +, -, ( and ) only"),
        ({"phone": "1" * 41}, "phone", "Keep the number to 40 characters."),
        ({"start_window_minutes": "-1"}, "start_window_minutes", "from 0 to 720"),
        ({"start_window_minutes": "721"}, "start_window_minutes", "from 0 to 720"),
        ({"start_window_minutes": "two hours"}, "start_window_minutes", "Not a valid integer"),
        ({"start_window_minutes": ""}, "start_window_minutes", "from 0 to 720"),
    ],
    ids=[
        "phone-words",
        "phone-extension",
        "phone-uri",
        "phone-markup",
        "phone-no-digits",
        "phone-too-long",
        "window-negative",
        "window-over-12-hours",
        "window-words",
        "window-empty",
    ],
)
def test_bad_phone_or_start_window_is_refused_beside_the_field(
    app, client, auth, people, changes, field_id, message
):
    """400, the message beside the field, what was typed kept, nothing stored or audited."""
    auth.login("admin@demo.test")
    response = save_settings(client, changes)
    assert response.status_code == 400
    assert message in (error_beside(response.text, field_id) or "")
    if "phone" in changes:
        assert f'value="{html.escape(changes["phone"])}"' in response.text
    clinic = clinic_named(app, "demo")
    assert (clinic.phone, clinic.start_window_minutes) == ("+1 212 555 0142", 120)
    assert settings_audit_rows(app) == []
