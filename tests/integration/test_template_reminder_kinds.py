"""The template editor's Reminders fieldset: which reminders a template's sessions send."""

from __future__ import annotations

import re

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from kap.extensions import db
from kap.models import AuditEvent, Clinic, SessionTemplate, TemplateVersion
from kap.models.reminders import ALL_REMINDER_KINDS, ReminderKind
from kap.services.clinic.reminder_choices import REMINDER_CHOICES, clean_reminder_kinds
from kap.services.clinic.templates import new_template_draft
from tests.formscrape import forms
from tests.helpers import demo_template

WALKTHROUGH = "Walkthrough (3 minutes)"


def _editor_fields(client, url: str) -> tuple[str, MultiDict]:
    """The editor page and its form's fields as a browser would send them."""
    page = client.get(url)
    assert page.status_code == 200
    fields = next(f["fields"] for f in forms(page.text) if "/clinic/templates" in f["action"])
    return page.text, MultiDict(fields)


def _with_kinds(data: MultiDict, kinds: list[str]) -> MultiDict:
    """``data`` with exactly ``kinds`` ticked, and the Save button."""
    kept = [(k, v) for k, v in data.items(multi=True) if k != "reminder_kinds"]
    return MultiDict([*kept, *[("reminder_kinds", kind) for kind in kinds], ("action", "save")])


def test_every_kind_has_words_in_the_order_reminders_happen():
    """One checkbox per ReminderKind, none missing, in ALL_REMINDER_KINDS order."""
    assert tuple(choice.kind for choice in REMINDER_CHOICES) == ALL_REMINDER_KINDS
    assert all(choice.label and choice.hint for choice in REMINDER_CHOICES)


def test_clean_reminder_kinds_orders_dedupes_and_names_unknown_ones():
    """Known kinds once each in the canonical order; unknown ones are reported."""
    assert clean_reminder_kinds(["ride", "fasting", "ride", "spam"]) == (
        ["fasting", "ride"],
        ["spam"],
    )
    assert clean_reminder_kinds([]) == ([], [])


def test_new_template_editor_offers_every_reminder_ticked(client, auth, people, ctx):
    """A new template starts with every reminder on, in a 'Reminders' fieldset with labels."""
    auth.login("admin@demo.test")
    page, data = _editor_fields(client, "/clinic/templates/new")
    assert "<legend>Reminders</legend>" in page
    assert data.getlist("reminder_kinds") == list(ALL_REMINDER_KINDS)
    for choice in REMINDER_CHOICES:
        assert re.search(
            rf'<label class="check"><input type="checkbox" name="reminder_kinds" '
            rf'value="{choice.kind}" checked> <span>{re.escape(choice.label)}<',
            page,
        )
    demo = db.session.scalar(select(Clinic).where(Clinic.slug == "demo"))
    assert new_template_draft(demo).reminder_kinds == list(ALL_REMINDER_KINDS)


def test_saving_kinds_on_a_template_in_use_makes_a_version_that_keeps_them(
    client, auth, people, app
):
    """Unticking two kinds on a template sessions use: a new version holds the rest, in
    order; the old version (and its sessions) keep every kind; the audit row is the editor's."""
    with app.app_context():
        template = demo_template(WALKTHROUGH)
        template_id, old_version_id = template.id, template.current_version.id
    url = f"/clinic/templates/{template_id}"
    auth.login("admin@demo.test")
    _, data = _editor_fields(client, url)
    chosen = [ReminderKind.RIDE, ReminderKind.SESSION_DAY_BEFORE, ReminderKind.CHECKIN_DUE]
    response = client.post(url, data=_with_kinds(data, chosen))
    assert response.status_code == 302
    with app.app_context():
        template = db.session.get(SessionTemplate, template_id)
        new = template.current_version
        old = db.session.get(TemplateVersion, old_version_id)
        assert new.id != old.id
        assert new.reminder_kinds == ["session_day_before", "ride", "checkin_due"]
        assert old.reminder_kinds == list(ALL_REMINDER_KINDS)
        event = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "template.version")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event.subject_id == template_id and event.detail.startswith("version=")
    _, again = _editor_fields(client, url)  # the editor shows what was saved
    assert again.getlist("reminder_kinds") == ["session_day_before", "ride", "checkin_due"]
    # Saved again unchanged (the version is not in use yet): the kinds stay.
    unchanged = _with_kinds(again, again.getlist("reminder_kinds"))
    assert client.post(url, data=unchanged).status_code == 302
    with app.app_context():
        kept = db.session.get(SessionTemplate, template_id).current_version.reminder_kinds
        assert kept == ["session_day_before", "ride", "checkin_due"]


def test_no_reminders_at_all_is_a_valid_choice(client, auth, people, app):
    """Nothing ticked: the template's sessions send no reminders."""
    with app.app_context():
        template_id = demo_template("IV infusion (40 minutes of music)").id
    url = f"/clinic/templates/{template_id}"
    auth.login("admin@demo.test")
    _, data = _editor_fields(client, url)
    assert client.post(url, data=_with_kinds(data, [])).status_code == 302
    with app.app_context():
        assert db.session.get(SessionTemplate, template_id).current_version.reminder_kinds == []


def test_an_unknown_kind_is_refused_beside_the_fieldset(client, auth, people, app):
    """A posted kind the app does not know: 400, the message tied to the fieldset, unsaved."""
    with app.app_context():
        template = demo_template(WALKTHROUGH)
        template_id, version_id = template.id, template.current_version.id
    url = f"/clinic/templates/{template_id}"
    auth.login("admin@demo.test")
    _, data = _editor_fields(client, url)
    response = client.post(url, data=_with_kinds(data, ["ride", "sms_blast"]))
    assert response.status_code == 400
    assert 'id="reminder_kinds-error">Not a reminder this app sends: sms_blast.' in response.text
    assert 'aria-describedby="reminder_kinds-error"' in response.text
    with app.app_context():
        template = db.session.get(SessionTemplate, template_id)
        assert template.current_version.id == version_id
        assert template.current_version.reminder_kinds == list(ALL_REMINDER_KINDS)


def test_adding_a_row_keeps_the_unticked_kinds(client, auth, people):
    """An editor round trip (Add a row) keeps the boxes as the admin left them."""
    auth.login("admin@demo.test")
    _, data = _editor_fields(client, "/clinic/templates/new")
    posted = _with_kinds(data, ["fasting", "no_alcohol"])
    posted.setlist("action", ["add-cues"])
    response = client.post("/clinic/templates/new", data=posted)
    assert response.status_code == 200
    fields = next(f["fields"] for f in forms(response.text) if "/clinic/templates" in f["action"])
    assert MultiDict(fields).getlist("reminder_kinds") == ["fasting", "no_alcohol"]
