"""Session templates: defaults, validation, list editing, versions and concurrent saves."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from kap.clinic.template_editor import apply_list_action
from kap.extensions import db
from kap.models import SessionTemplate, TemplateVersion, TreatmentSession, User
from kap.services.clinic.templates import (
    CueRow,
    TrackRow,
    create_template,
    draft_from_version,
    new_template_draft,
    save_template,
    validate_draft,
)
from kap.services.errors import Conflict, Invalid
from tests.formscrape import form_data, forms
from tests.helpers import demo_template

WALKTHROUGH = "Walkthrough (3 minutes)"


def _admin():
    return db.session.scalar(select(User).where(User.email == "admin@demo.test"))


def _template(name=WALKTHROUGH) -> SessionTemplate:
    return demo_template(name)


# --- drafts and validation (services) -----------------------------------------------------


def test_new_template_starts_from_the_clinics_preparation_rules(ctx, people):
    """Default checklist items are written with the clinic's own numbers, all editable."""
    clinic = _admin().clinic
    clinic.fasting_hours = 4
    draft = new_template_draft(clinic, "esketamine_nasal")
    texts = " ".join(item.text for item in draft.checklist)
    help_texts = " ".join(item.help_text for item in draft.checklist)
    assert "No food for 4 hours" in texts
    assert "alcohol" in texts and "ride home" in texts
    for drug in ("Benzodiazepines", "lamotrigine", "clarithromycin", "grapefruit"):
        assert drug in help_texts
    assert draft.observation_minutes == "120"  # esketamine's two-hour observation
    assert draft.tracks and draft.cues and draft.intention_prompts and draft.integration_prompts


def test_a_prompt_after_the_playlist_ends_is_an_error(ctx, people):
    """A cue later than the last track's end names the playlist length."""
    draft = new_template_draft(_admin().clinic)
    draft.name = "Short"
    draft.tracks = [TrackRow(title="Only", duration="1:00")]
    draft.cues = [CueRow("0:30", "Fine", True), CueRow("1:01", "Too late", True)]
    with pytest.raises(Invalid) as error:
        validate_draft(draft, {})
    assert list(error.value.fields) == ["cues-1-at"]
    assert "after the playlist ends (1:00)" in error.value.fields["cues-1-at"][0]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: setattr(d, "name", "  "), "name"),
        (lambda d: setattr(d.checklist[0], "text", ""), "checklist-0-text"),
        (lambda d: d.intention_prompts.__setitem__(1, " "), "intention-1"),
        (lambda d: d.integration_prompts.__setitem__(0, ""), "integration-0"),
        (lambda d: setattr(d.tracks[0], "title", ""), "tracks-0-title"),
        (lambda d: setattr(d.tracks[0], "duration", "forever"), "tracks-0-duration"),
        (lambda d: setattr(d.tracks[1], "texture", "dubstep"), "tracks-1-texture"),
        (lambda d: setattr(d.cues[0], "text", ""), "cues-0-text"),
        (lambda d: setattr(d.cues[0], "at", "soon"), "cues-0-at"),
        (lambda d: setattr(d, "downtime_minutes", "-1"), "downtime_minutes"),
        (lambda d: setattr(d, "crossfade_seconds", "99"), "crossfade_seconds"),
        (lambda d: setattr(d, "route", "intravenous-ish"), "route"),
    ],
)
def test_each_rule_names_its_field(ctx, people, change, field):
    """Empty required text, bad numbers and unknown choices are errors on their own field."""
    draft = new_template_draft(_admin().clinic)
    draft.name = "Rules"
    change(draft)
    with pytest.raises(Invalid) as error:
        validate_draft(draft, {})
    assert field in error.value.fields


def test_upload_track_must_be_a_file_of_this_clinic(ctx, people):
    """An uploaded track pointing at an unknown file is refused."""
    draft = new_template_draft(_admin().clinic)
    draft.name = "Uploads"
    draft.tracks = [TrackRow(title="Mystery", kind="upload", audio_file_id=999)]
    draft.cues = []
    with pytest.raises(Invalid) as error:
        validate_draft(draft, {})
    assert "tracks-0-kind" in error.value.fields


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("add-checklist", ["a", "b", "c", ""]),
        ("remove-checklist-1", ["a", "c"]),
        ("up-checklist-2", ["a", "c", "b"]),
        ("down-checklist-0", ["b", "a", "c"]),
        ("up-checklist-0", ["a", "b", "c"]),
        ("down-checklist-2", ["a", "b", "c"]),
    ],
)
def test_list_actions_add_remove_and_reorder(ctx, people, action, expected):
    """Rows are added at the end, removed in place and moved one step (not past the ends)."""
    draft = new_template_draft(_admin().clinic)
    draft.checklist = draft.checklist[:3]
    for row, text in zip(draft.checklist, "abc", strict=True):
        row.text = text
    assert apply_list_action(draft, action)
    assert [row.text for row in draft.checklist] == expected


@pytest.mark.parametrize("action", ["explode-checklist", "remove-checklist-9", "up-nothing-1", "x"])
def test_unknown_list_actions_change_nothing(ctx, people, action):
    """A forged or stale action is refused."""
    draft = new_template_draft(_admin().clinic)
    before = [row.text for row in draft.checklist]
    assert not apply_list_action(draft, action)
    assert [row.text for row in draft.checklist] == before


# --- versions and concurrent saves (services) ----------------------------------------------


def test_saving_a_template_in_use_creates_a_new_version(ctx, people):
    """Sessions scheduled before an edit keep the version they were scheduled with."""
    template = _template()
    old_version = template.current_version
    scheduled = db.session.scalars(
        select(TreatmentSession).where(TreatmentSession.template_version_id == old_version.id)
    ).all()
    assert scheduled, "the demo schedules a Walkthrough session"
    draft = draft_from_version(template, old_version)
    draft.checklist[0].text = "Nothing to eat after breakfast"
    result = save_template(_admin(), template, draft, template.revision)
    assert result.new_version and result.version.number == old_version.number + 1
    assert result.sessions_kept == len(scheduled)
    db.session.expire_all()
    assert old_version.checklist_items[0].text.startswith("No food for")
    assert template.current_version.checklist_items[0].text == "Nothing to eat after breakfast"
    for session in scheduled:
        assert session.template_version_id == old_version.id


def test_a_new_template_requires_intake_and_consent_and_asks_the_usual_questionnaires(ctx, people):
    """Gates default on for a new template; the schedule starts PHQ-9 + GAD-7 before, the
    side-effect check after, the bladder check monthly."""
    draft = new_template_draft(_admin().clinic)
    assert draft.requires_intake and draft.requires_consent
    draft.name = "Gated"
    version = create_template(_admin(), draft).current_version
    assert version.requires_intake and version.requires_consent
    assert version.checkin_instruments == ["phq9", "gad7"]
    assert (version.after_instruments, version.monthly_instruments) == (
        ["side_effects"],
        ["bladder"],
    )


def test_choosing_questionnaires_in_use_makes_a_new_version(ctx, people):
    """The questionnaires and gates are version fields: sessions keep what they had."""
    template = _template()
    old_version = template.current_version
    draft = draft_from_version(template, old_version)
    draft.checkin_instruments = ["phq9", "pcl5"]
    draft.monthly_instruments = []
    was = (old_version.requires_intake, old_version.requires_consent)
    draft.requires_consent = not was[1]
    result = save_template(_admin(), template, draft, template.revision)
    assert result.new_version
    db.session.expire_all()
    assert old_version.checkin_instruments == ["phq9", "gad7"]
    assert (old_version.requires_intake, old_version.requires_consent) == was
    new = template.current_version
    assert (new.checkin_instruments, new.monthly_instruments) == (["phq9", "pcl5"], [])
    assert (new.requires_intake, new.requires_consent) == (was[0], not was[1])


def test_a_questionnaire_the_clinic_does_not_offer_is_refused(ctx, people):
    """Another clinic's code, or the intake, cannot be scheduled as a check-in."""
    draft = new_template_draft(_admin().clinic)
    draft.name = "Odd"
    draft.after_instruments = ["side_effects", "not_ours"]
    with pytest.raises(Invalid) as error:
        create_template(_admin(), draft)
    assert list(error.value.fields) == ["after_instruments"]
    assert "not_ours" in error.value.fields["after_instruments"][0]


def test_saving_an_unused_template_edits_it_in_place(ctx, people):
    """A version nobody has used yet is simply updated."""
    admin = _admin()
    draft = new_template_draft(admin.clinic)
    draft.name = "Fresh"
    template = create_template(admin, draft)
    draft.description = "Edited"
    result = save_template(admin, template, draft, template.revision)
    assert not result.new_version
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(TemplateVersion)
            .where(TemplateVersion.template_id == template.id)
        )
        == 1
    )
    assert template.current_version.description == "Edited"


def test_a_save_based_on_an_old_revision_is_refused(ctx, people):
    """The second of two admins saving the same template is told, and nothing is overwritten."""
    template = _template()
    opened_at = template.revision
    first = draft_from_version(template, template.current_version)
    first.description = "First admin's words"
    save_template(_admin(), template, first, opened_at)
    second = draft_from_version(template, template.current_version)
    second.description = "Second admin's words"
    with pytest.raises(Conflict, match="Someone else saved"):
        save_template(_admin(), template, second, opened_at)
    db.session.expire_all()
    assert _template().current_version.description == "First admin's words"


def test_template_names_are_unique_within_a_clinic(ctx, people):
    """A second active template with the same name is refused on the name field."""
    draft = new_template_draft(_admin().clinic)
    draft.name = WALKTHROUGH.upper()
    with pytest.raises(Invalid) as error:
        create_template(_admin(), draft)
    assert "name" in error.value.fields


# --- the editor pages ------------------------------------------------------------------------


def _editor(client, url):
    page = client.get(url)
    assert page.status_code == 200
    return page, form_data(page.text, "/clinic/templates")


def test_editor_round_trips_every_field(client, auth, people, app):
    """Saving the editor unchanged keeps the template exactly as it was (no field lost)."""
    auth.login("admin@demo.test")
    with app.app_context():
        template = _template("IV infusion (40 minutes of music)")
        template_id, before = template.id, draft_from_version(template, template.current_version)
    page, _ = _editor(client, f"/clinic/templates/{template_id}")
    # Every field as a browser sends it: ticked questionnaires repeat one name.
    fields = next(f["fields"] for f in forms(page.text) if "/clinic/templates" in f["action"])
    data = MultiDict([*fields, ("action", "save")])
    assert data.getlist("checkin_instruments") == ["phq9", "gad7"]
    response = client.post(f"/clinic/templates/{template_id}", data=data)
    assert response.status_code == 302
    with app.app_context():
        template = db.session.get(SessionTemplate, template_id)
        assert draft_from_version(template, template.current_version) == before


def test_editor_adds_a_row_and_keeps_everything_typed(client, auth, people):
    """Add buttons re-render the form with the new row and the unsaved edits intact."""
    auth.login("admin@demo.test")
    _, data = _editor(client, "/clinic/templates/new")
    data.update({"name": "Draft in progress", "checklist-0-text": "My own first item"})
    response = client.post("/clinic/templates/new", data={**data, "action": "add-cues"})
    assert response.status_code == 200
    again = form_data(response.text, "/clinic/templates")
    assert again["name"] == "Draft in progress"
    assert again["checklist-0-text"] == "My own first item"
    cue_rows = {k.split("-")[1] for k in again if k.startswith("cues-")}
    assert len(cue_rows) == len({k.split("-")[1] for k in data if k.startswith("cues-")}) + 1


def test_invalid_save_re_renders_with_messages_and_the_text(client, auth, people, app):
    """A late prompt is shown beside its field, with everything typed still there; nothing saved."""
    auth.login("admin@demo.test")
    _, data = _editor(client, "/clinic/templates/new")
    data.update({"name": "Will not save", "cues-0-at": "9:59:00", "cues-0-text": "Too late"})
    response = client.post("/clinic/templates/new", data={**data, "action": "save"})
    assert response.status_code == 400
    assert "comes after the playlist ends" in response.text
    assert 'aria-describedby="cues-0-at-error"' in response.text
    assert form_data(response.text, "/clinic/templates")["cues-0-text"] == "Too late"
    with app.app_context():
        assert _template("Will not save") is None


def test_creating_a_template_redirects_to_its_editor(client, auth, people, app):
    """A valid new template is saved as version 1 and opens for further editing."""
    auth.login("admin@demo.test")
    _, data = _editor(client, "/clinic/templates/new")
    data["name"] = "Afternoon IV"
    response = client.post("/clinic/templates/new", data={**data, "action": "save"})
    assert response.status_code == 302
    with app.app_context():
        template = _template("Afternoon IV")
        assert template.current_version.number == 1
        assert response.headers["Location"] == f"/clinic/templates/{template.id}"


def _template_id(app, name: str) -> int:
    """A demo template's id, looked up by name (ids differ between databases)."""
    with app.app_context():
        return _template(name).id


def test_editing_a_template_in_use_says_a_new_version_was_made(client, auth, people, app):
    """The admin is told that scheduled sessions keep the previous version."""
    url = f"/clinic/templates/{_template_id(app, WALKTHROUGH)}"
    auth.login("admin@demo.test")
    page, data = _editor(client, url)
    assert "saving creates version 2" in page.text
    data["description"] = "Updated walkthrough"
    response = client.post(url, data={**data, "action": "save"}, follow_redirects=True)
    assert "Saved as version 2" in response.text
    assert "keep the previous version" in response.text


def test_second_admin_saving_the_same_template_is_refused(client, auth, page_as, people, app):
    """Two editors open the template; the second save answers 409 and keeps their text."""
    template_id = _template_id(app, "IV infusion (40 minutes of music)")
    url = f"/clinic/templates/{template_id}"
    auth.login("admin@demo.test")
    other_client = page_as("admin@demo.test")
    _, first = _editor(client, url)
    _, second = _editor(other_client, url)
    first["description"] = "Mine"
    assert client.post(url, data={**first, "action": "save"}).status_code == 302
    second["description"] = "Theirs"
    response = other_client.post(url, data={**second, "action": "save"})
    assert response.status_code == 409
    assert "Someone else saved this template" in response.text
    assert form_data(response.text, "/clinic/templates")["description"] == "Theirs"
    with app.app_context():
        assert db.session.get(SessionTemplate, template_id).current_version.description == "Mine"


def test_archived_templates_are_kept_and_not_offered_for_scheduling(client, auth, people, app):
    """Archiving hides a template from scheduling; its sessions still point at it."""
    template_id = _template_id(app, WALKTHROUGH)
    auth.login("admin@demo.test")
    page = client.get("/clinic/templates")
    token = form_data(page.text, f"/clinic/templates/{template_id}/archive")["csrf_token"]
    archive = f"/clinic/templates/{template_id}/archive"
    assert client.post(archive, data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(SessionTemplate, template_id).archived_at is not None
    person_page = client.get(f"/clinic/people/{people['patient@demo.test'].id}").text
    schedule = person_page.split('id="schedule"')[1]
    assert WALKTHROUGH not in schedule


def test_other_clinics_template_is_not_found(client, auth, people, app):
    """An admin of another clinic gets 404 for this clinic's template, read or write."""
    template_id = _template_id(app, WALKTHROUGH)  # Demo Clinic's
    auth.login("admin@other.test")
    assert client.get(f"/clinic/templates/{template_id}").status_code == 404
    token = form_data(client.get("/clinic/templates").text, "")["csrf_token"]
    response = client.post(f"/clinic/templates/{template_id}/archive", data={"csrf_token": token})
    assert response.status_code == 404
