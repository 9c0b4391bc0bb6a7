"""A clinic's own questionnaires: the editor, versions, archive, and who may answer them."""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy import select

from kap.extensions import db
from kap.models import Alert, AuditEvent, ClinicInstrument, MeasureResponse, User
from kap.services.clinic.instruments import definition_json, save_questionnaire
from kap.services.measures.library import instrument_for, instruments_for
from kap.services.measures.scoring import BUILT_IN
from tests.formscrape import form_data, forms

NEW = "/clinic/questionnaires/new"


def _sleep_form(page_text: str) -> dict[str, str]:
    data = form_data(page_text, NEW)
    data |= {
        "code": "sleep_check",
        "name": "Sleep check",
        "question": "Over the last week:",
        "scored": "y",
        "bands": "0-2 = Fine\n3-6 = Poor",
        "items-0-text": "How well did you sleep?",
        "items-0-kind": "choice",
        "items-0-options": "0 = Well\n1 = So-so\n2 = Badly\n3 = Hardly at all",
        "items-0-alert_at_least": "3",
        "items-1-text": "Hours of sleep last night",
        "items-1-kind": "number",
        "items-1-minimum": "0",
        "items-1-maximum": "3",
        "items-2-text": "Anything else?",
        "items-2-kind": "text",
        "action": "save",
    }
    data.pop("items-2-required", None)  # the text question is optional
    return data


def _create(page_as):
    admin = page_as("admin@demo.test")
    page = admin.get(NEW)
    assert page.status_code == 200
    response = admin.post(NEW, data=_sleep_form(page.text))
    assert response.status_code == 302, response.text
    assert response.headers["Location"].endswith("/clinic/questionnaires/sleep_check")
    return admin


def _rows(app, code="sleep_check"):
    with app.app_context():
        return [
            (row.version, row.definition, row.archived_at)
            for row in db.session.scalars(
                select(ClinicInstrument)
                .where(ClinicInstrument.code == code)
                .order_by(ClinicInstrument.version)
            )
        ]


def test_create_edit_answer_keeps_the_version(app, people, page_as, api_as):
    """Created as version 1, edited to version 2; a patient answers version 2 by API and page;
    each answer is stored with its version; saving is audited by ids only."""
    admin = _create(page_as)
    [(version, definition, _)] = _rows(app)
    assert version == 1 and definition["scoring"]["bands"][1] == [3, 6, "poor", "Poor"]
    items = definition["items"]
    assert [item["kind"] for item in items] == ["choice", "number", "text"]
    assert items[0]["alert"] == {"at_least": 3, "kind": "questionnaire"}

    api = api_as("patient@demo.test")
    listed = {i["code"]: i for i in api.get("/api/v1/instruments").get_json()["instruments"]}
    assert listed["sleep_check"]["version"] == 1
    first = api.post(
        "/api/v1/measures",
        json={"instrument": "sleep_check", "answers": [1, 2, "Dreams"], "client_id": "s-1"},
    )
    assert first.status_code == 201, first.get_json()

    page = admin.get("/clinic/questionnaires/sleep_check")
    data = form_data(page.text, "/clinic/questionnaires/sleep_check")
    assert data["items-0-text"] == "How well did you sleep?" and data["based_on"] == "1"
    data |= {"items-0-text": "How well did you sleep this week?", "action": "save"}
    assert admin.post("/clinic/questionnaires/sleep_check", data=data).status_code == 302
    assert [version for version, _, _ in _rows(app)] == [1, 2]

    second = api.post(
        "/api/v1/measures",
        json={"instrument": "sleep_check", "answers": [0, 1], "client_id": "s-2"},
    )
    assert second.status_code == 201
    patient = page_as("patient@demo.test")
    form = patient.get("/patient/check-ins/sleep_check")
    assert "How well did you sleep this week?" in form.text
    answers = form_data(form.text, "/patient/check-ins/sleep_check") | {"q1": "2", "q2": "1"}
    assert patient.post("/patient/check-ins/sleep_check", data=answers).status_code == 302

    with app.app_context():
        stored = db.session.scalars(
            select(MeasureResponse)
            .where(MeasureResponse.instrument == "sleep_check")
            .order_by(MeasureResponse.id)
        ).all()
        assert [(r.instrument_version, r.score) for r in stored] == [(1, 3), (2, 1), (2, 3)]
        assert json.loads(stored[0].text_answers) == {"q3": "Dreams"}
        saves = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "instrument.save")
        ).all()
        assert [event.detail for event in saves] == [
            "code=sleep_check; version=1",
            "code=sleep_check; version=2",
        ]


def test_archive_hides_it_from_patients_but_keeps_history(app, people, page_as, api_as):
    """Archived: not listed, not answerable; earlier answers still read with their words."""
    admin = _create(page_as)
    api = api_as("patient@demo.test")
    body = {"instrument": "sleep_check", "answers": [3, 1], "client_id": "s-1"}
    assert api.post("/api/v1/measures", json=body).status_code == 201
    token = form_data(admin.get("/clinic/questionnaires").text, "/sleep_check/archive")
    assert admin.post("/clinic/questionnaires/sleep_check/archive", data=token).status_code == 302
    assert _rows(app)[-1][2] is not None

    listed = api.get("/api/v1/instruments").get_json()["instruments"]
    assert "sleep_check" not in {i["code"] for i in listed}
    again = api.post("/api/v1/measures", json=body | {"client_id": "s-2"})
    assert again.status_code == 400 and "instrument" in again.get_json()["error"]["fields"]
    history = api.get("/api/v1/measures").get_json()
    assert any(m["instrument"] == "sleep_check" for m in history["measures"])
    timeline = page_as("therapist@demo.test").get(
        f"/therapist/patients/{people['patient@demo.test'].id}"
    )
    assert "Sleep check" in timeline.text

    page = admin.get("/clinic/questionnaires")
    token = form_data(page.text, "/sleep_check/restore")
    assert admin.post("/clinic/questionnaires/sleep_check/restore", data=token).status_code == 302
    listed = api.get("/api/v1/instruments").get_json()["instruments"]
    assert "sleep_check" in {i["code"] for i in listed}


def test_an_answer_at_the_alert_threshold_alerts_the_care_team(app, people, page_as, api_as):
    """ "Raises an alert at or above 3": answering 3 opens one alert, shown in words."""
    _create(page_as)
    body = {"instrument": "sleep_check", "answers": [3, 0], "client_id": "s-1"}
    assert api_as("patient@demo.test").post("/api/v1/measures", json=body).status_code == 201
    with app.app_context():
        [alert] = db.session.scalars(select(Alert).where(Alert.kind == "questionnaire")).all()
        assert (alert.kind, alert.patient_id) == ("questionnaire", people["patient@demo.test"].id)
    dashboard = page_as("therapist@demo.test").get("/therapist/").text
    assert "flags for the care team" in dashboard


def test_a_clinic_code_cannot_shadow_a_shipped_one(app, people, page_as):
    """phq9 is always the published PHQ-9: the editor refuses the code and keeps the input."""
    admin = page_as("admin@demo.test")
    data = _sleep_form(admin.get(NEW).text) | {"code": "phq9"}
    response = admin.post(NEW, data=data)
    assert response.status_code == 400
    assert "is a shipped questionnaire" in response.text
    kept = form_data(response.text, NEW)
    assert kept["code"] == "phq9" and kept["items-0-options"].startswith("0 = Well")
    assert _rows(app, "phq9") == []


def test_another_clinic_never_sees_it(app, people, page_as, api_as):
    """Neither listed for nor answerable by another clinic, nor editable by its admin."""
    _create(page_as)
    other = api_as("patient@other.test")
    listed = other.get("/api/v1/instruments").get_json()["instruments"]
    assert "sleep_check" not in {i["code"] for i in listed}
    body = {"instrument": "sleep_check", "answers": [0, 0]}
    assert other.post("/api/v1/measures", json=body).status_code == 400
    other_admin = page_as("admin@other.test")
    assert other_admin.get("/clinic/questionnaires/sleep_check").status_code == 404
    assert "Sleep check" not in other_admin.get("/clinic/questionnaires").text


def test_bad_input_re_renders_every_problem_next_to_its_field(app, people, page_as):
    """Option lines without "=", a missing name, bands that miss totals, a word for a number:
    400, every message at once beside its field, everything typed still there, nothing saved."""
    admin = page_as("admin@demo.test")
    data = _sleep_form(admin.get(NEW).text) | {
        "name": "",
        "bands": "0-2 = Fine",
        "items-0-options": "0 = Well\nBadly",
        "items-1-maximum": "lots",
    }
    response = admin.post(NEW, data=data)
    assert response.status_code == 400
    html = response.text
    assert 'id="items-0-options-error"' in html and "Line 2" in html
    assert 'id="items-1-maximum-error"' in html and 'id="name-error"' in html
    assert 'id="bands-error"' in html and "cover 0 to" in html
    kept = form_data(html, NEW)
    assert kept["items-0-options"] == "0 = Well\nBadly" and kept["items-1-maximum"] == "lots"
    assert kept["bands"] == "0-2 = Fine" and kept["items-2-text"] == "Anything else?"
    assert _rows(app) == []


def test_add_more_rows_keeps_what_was_typed(app, people, page_as):
    """ "Add more questions" adds five empty rows and saves nothing."""
    admin = page_as("admin@demo.test")
    data = _sleep_form(admin.get(NEW).text) | {"action": "add-items"}
    response = admin.post(NEW, data=data)
    assert response.status_code == 200
    kept = form_data(response.text, NEW)
    assert kept["items-0-text"] == "How well did you sleep?"
    assert "items-7-text" in kept and "items-8-text" not in kept
    assert _rows(app) == []


def test_json_editor_saves_and_reports_problems(app, people, page_as, api_as):
    """The advanced form takes a whole definition; problems come back beside the kept text."""
    admin = page_as("admin@demo.test")
    page = admin.get(NEW)
    token = form_data(page.text, NEW)["csrf_token"]
    definition = {
        "code": "pain",
        "name": "Pain",
        "options": [{"value": 0, "label": "None"}, {"value": 1, "label": "Some"}],
        "items": [{"id": "1", "text": "Head"}, {"id": "2", "text": "Back"}],
        "scoring": {"max": 3},
    }
    text = json.dumps(definition)
    bad = admin.post(NEW, data={"csrf_token": token, "editor": "json", "definition_json": text})
    assert bad.status_code == 400
    assert "The items add up to 2, not 3." in bad.text
    advanced = [dict(f["fields"]) for f in forms(bad.text) if f["action"] == NEW][1]
    assert advanced["definition_json"] == text
    definition["scoring"]["max"] = 2
    good = admin.post(
        NEW, data={"csrf_token": token, "editor": "json", "definition_json": json.dumps(definition)}
    )
    assert good.status_code == 302
    listed = api_as("patient@demo.test").get("/api/v1/instruments").get_json()["instruments"]
    pain = next(i for i in listed if i["code"] == "pain")
    assert pain["max_score"] == 2


def test_the_clinic_makes_the_intake_its_own_and_can_go_back(app, people, page_as):
    """The intake is edited like any questionnaire; the clinic's version replaces the shipped
    one (kind "intake", never a check-in); archiving it brings the shipped one back."""
    admin = page_as("admin@demo.test")
    url = "/clinic/questionnaires/intake"
    page = admin.get(url)
    assert page.status_code == 200
    data = form_data(page.text, url)
    first_blank = next(
        n for n in range(60) if f"items-{n}-text" in data and not data[f"items-{n}-text"]
    )
    data |= {
        "name": "Our intake",
        f"items-{first_blank}-text": "Which medicines do you take?",
        f"items-{first_blank}-kind": "text",
        f"items-{first_blank}-review_if_answered": "y",
        "action": "save",
    }
    response = admin.post(url, data=data)
    assert response.status_code == 302, response.text
    with app.app_context():
        clinic_id = people["admin@demo.test"].clinic_id
        intake = instrument_for(clinic_id, "intake")
        assert (intake.kind, intake.name, intake.clinic_id) == ("intake", "Our intake", clinic_id)
        assert intake.items[-1].review_if_answered
        assert "intake" not in {spec.code for spec in instruments_for(clinic_id)}
    token = form_data(admin.get("/clinic/questionnaires").text, "/intake/archive")
    assert admin.post(f"{url}/archive", data=token).status_code == 302
    with app.app_context():
        # the shipped intake again (once it ships; none from the clinic either way)
        offered = [spec.clinic_id for spec in instruments_for(clinic_id, "intake")]
        assert offered == ([None] if "intake" in BUILT_IN else [])


def test_json_cannot_turn_the_intake_into_a_check_in(app, people, page_as):
    """Code "intake" is always of kind "intake"; the problem is listed under the JSON."""
    admin = page_as("admin@demo.test")
    url = "/clinic/questionnaires/intake"
    token = form_data(admin.get(url).text, url)["csrf_token"]
    definition = {
        "code": "intake",
        "kind": "measure",
        "name": "Sneaky",
        "items": [{"id": "1", "text": "Anything?", "kind": "text"}],
    }
    response = admin.post(
        url, data={"csrf_token": token, "editor": "json", "definition_json": json.dumps(definition)}
    )
    assert response.status_code == 400
    assert "kind: The questionnaire “intake” is of kind “intake”." in response.text
    assert _rows(app, "intake") == []


def test_a_save_based_on_an_older_version_is_refused_and_keeps_the_input(app, people, page_as):
    """Two admins open version 1; the second save answers 409, keeps their words, saves
    nothing; the first admin's version 2 stands."""
    first = _create(page_as)
    second = page_as("admin@demo.test")
    url = "/clinic/questionnaires/sleep_check"
    mine = form_data(first.get(url).text, url) | {"name": "Mine", "action": "save"}
    theirs = form_data(second.get(url).text, url) | {"name": "Theirs", "action": "save"}
    assert first.post(url, data=mine).status_code == 302
    response = second.post(url, data=theirs)
    assert response.status_code == 409
    assert "Someone saved version 2" in response.text
    assert form_data(response.text, url)["name"] == "Theirs"
    assert [(v, d["name"]) for v, d, _ in _rows(app)] == [(1, "Sleep check"), (2, "Mine")]
    again = form_data(response.text, url) | {"action": "save"}  # seen the news: save anyway
    assert second.post(url, data=again).status_code == 302
    assert [d["name"] for _, d, _ in _rows(app)] == ["Sleep check", "Mine", "Theirs"]


def test_saving_the_form_unchanged_keeps_the_questionnaire(app, people, page_as):
    """Loaded from JSON with its own severity names and alert kinds, saved through the form
    untouched: version 2 reads exactly like version 1 (hidden fields carry what the form
    does not show)."""
    admin = page_as("admin@demo.test")
    token = form_data(admin.get(NEW).text, NEW)["csrf_token"]
    definition = {
        "code": "licensed",
        "name": "Licensed scale",
        "question": "In the past week:",
        "options": [{"value": v, "label": f"Level {v}"} for v in range(3)],
        "items": [
            {"id": "a", "text": "First", "alert": {"at_least": 2, "kind": "side_effect_severe"}},
            {"id": "b", "text": "Second", "section": "Body"},
            {"id": "c", "text": "Notes", "kind": "text", "required": False},
        ],
        "scoring": {
            "bands": [[0, 1, "low_band", "Low"], [2, 4, "high_band", 'High (see "notes")']],
            "response": {"points_drop": 2},
            "remission_below": 1,
        },
    }
    data = {"csrf_token": token, "editor": "json", "definition_json": json.dumps(definition)}
    assert admin.post(NEW, data=data).status_code == 302
    url = "/clinic/questionnaires/licensed"
    form = form_data(admin.get(url).text, url) | {"action": "save"}
    assert admin.post(url, data=form).status_code == 302
    with app.app_context():
        clinic_id = people["admin@demo.test"].clinic_id
        first, second = (instrument_for(clinic_id, "licensed", v) for v in (1, 2))
        assert second.version == 2
        assert dataclasses.replace(second, version=1) == first


def test_a_questionnaire_the_intake_asks_cannot_be_archived(app, people, page_as):
    """Archiving what the clinic's intake includes would break the intake page: refused."""
    admin = _create(page_as)
    with app.app_context():
        admin_user = db.session.get(User, people["admin@demo.test"].id)
        intake = definition_json(instrument_for(admin_user.clinic_id, "intake"))
        definition = json.loads(intake) | {"includes": ["auditc", "sleep_check"]}
        save_questionnaire(admin_user, definition=definition, code="intake")
    token = form_data(admin.get("/clinic/questionnaires").text, "/sleep_check/archive")
    response = admin.post("/clinic/questionnaires/sleep_check/archive", data=token)
    assert response.status_code == 302
    assert "take it out of the intake" in admin.get("/clinic/questionnaires").text
    assert _rows(app)[-1][2] is None
