"""Check-ins: exactly-once API, field errors, the item-9 alert and its reach, scoped and
audited reads, the patient's questionnaire pages and the care team's CSV export."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from kap.demo.measures import seed_demo_measures
from kap.extensions import db
from kap.models import Alert, AuditEvent, MeasureResponse, TreatmentSession, User
from kap.services.clinic.instruments import save_questionnaire
from kap.services.measures.checkins import chart_for
from kap.therapist.measures_views import csv_safe
from tests.formscrape import form_data

PHQ9_CALM = [1, 1, 1, 1, 0, 0, 0, 0, 0]
PHQ9_ITEM9 = [2, 2, 1, 1, 1, 1, 0, 0, 1]


def _post(api, **body):
    return api.post("/api/v1/measures", json=body)


def _count(app, model, **where):
    with app.app_context():
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.session.scalar(query)


def _audit_actions(app, actor_id):
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == actor_id))
        return [(e.action, e.patient_id, e.detail) for e in events]


def _seed_demo_history(app):
    with app.app_context():
        seed_demo_measures({u.email: u for u in db.session.scalars(select(User))})


# --- API: recording ---------------------------------------------------------------------


def test_same_client_id_twice_records_once(api_as, app, people):
    """First POST answers 201, the retry 200 with the same check-in; one row is stored."""
    api = api_as("patient@demo.test")
    first = _post(api, instrument="phq9", answers=PHQ9_CALM, client_id="dev-1-m1")
    again = _post(api, instrument="phq9", answers=PHQ9_CALM, client_id="dev-1-m1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json == again.json
    assert {k: first.json[k] for k in ("instrument", "score", "severity")} == {
        "instrument": "phq9",
        "score": 4,
        "severity": "minimal",
    }
    assert first.json["created_at"].endswith("Z") and first.json["item9_positive"] is False
    assert _count(app, MeasureResponse, client_id="dev-1-m1") == 1


def test_check_in_linked_to_own_session(api_as, app, people):
    """A check-in may name one of the patient's own sessions."""
    api = api_as("patient@demo.test")
    with app.app_context():
        session_id = db.session.scalar(
            select(TreatmentSession.id).where(
                TreatmentSession.patient_id == people["patient@demo.test"].id
            )
        )
    created = _post(api, instrument="gad7", answers=[0] * 7, session_id=session_id)
    assert created.status_code == 201 and created.json["session_id"] == session_id


def _other_patients_session(app, people):
    with app.app_context():
        return db.session.scalar(
            select(TreatmentSession.id).where(
                TreatmentSession.patient_id == people["patient2@demo.test"].id
            )
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"answers": [0] * 9}, "instrument"),
        ({"instrument": "bdi", "answers": [0] * 9}, "instrument"),
        ({"instrument": "phq9"}, "answers"),
        ({"instrument": "phq9", "answers": [0] * 8}, "answers"),
        ({"instrument": "gad7", "answers": "0000000"}, "answers"),
        ({"instrument": "gad7", "answers": [0, 1, 4, -1, "2", True, 1.0]}, "answers"),
        ({"instrument": "gad7", "answers": [0] * 7, "client_id": "has spaces"}, "client_id"),
        ({"instrument": "gad7", "answers": [0] * 7, "session_id": "first"}, "session_id"),
        ({"instrument": "gad7", "answers": [0] * 7, "session_id": "OTHER"}, "session_id"),
    ],
)
def test_invalid_check_ins_answer_400_with_field_errors(api_as, app, people, body, field):
    """Bad instrument, answers, client_id or session_id: 400 naming the field; nothing stored."""
    if body.get("session_id") == "OTHER":
        body = body | {"session_id": _other_patients_session(app, people)}
    api = api_as("patient@demo.test")
    before = _count(app, MeasureResponse)
    response = _post(api, **body)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"
    assert field in response.json["error"]["fields"]
    assert _count(app, MeasureResponse) == before


def test_every_bad_answer_is_reported(api_as, people):
    """Four bad answers give four messages, numbered as a person counts questions."""
    api = api_as("patient@demo.test")
    bad = [0, 1, 4, -1, "2", True, 1]
    messages = _post(api, instrument="gad7", answers=bad).json["error"]["fields"]
    assert [m.split()[1] for m in messages["answers"]] == ["3", "4", "5", "6"]


def test_a_body_that_is_not_json_is_refused(api_as, people):
    """Form-encoded bodies get 400 in the API error format."""
    api = api_as("patient@demo.test")
    response = api.post("/api/v1/measures", data={"instrument": "phq9"})
    assert response.status_code == 400 and "error" in response.json


# --- Safety: item 9 -----------------------------------------------------------------------


def _alert_patients(api_as, email):
    api = api_as(email)
    response = api.get("/api/v1/alerts")
    assert response.status_code == 200
    return [(a["kind"], a["patient_id"]) for a in response.json["alerts"]]


def test_item9_opens_one_alert_for_the_care_team_and_admin_only(api_as, app, people):
    """Item 9 > 0: the answer points to crisis support; one phq9_item9 alert reaches the care
    team and the clinic admin, not a colleague outside the team nor another clinic."""
    api = api_as("patient@demo.test")
    created = _post(api, instrument="phq9", answers=PHQ9_ITEM9, client_id="i9-1")
    assert created.status_code == 201
    assert created.json["item9_positive"] is True
    assert created.json["crisis_support_url"] == "/patient/crisis-support"
    assert created.json["crisis_contacts"][0]["phone"]
    _post(api, instrument="phq9", answers=PHQ9_ITEM9, client_id="i9-1")  # a retry
    patient_id = people["patient@demo.test"].id
    assert _count(app, Alert, kind="phq9_item9", patient_id=patient_id) == 1
    alert = ("phq9_item9", patient_id)
    assert alert in _alert_patients(api_as, "therapist@demo.test")
    assert alert in _alert_patients(api_as, "admin@demo.test")
    for outsider in ("therapist2@demo.test", "therapist@other.test", "admin@other.test"):
        assert alert not in _alert_patients(api_as, outsider)


def test_item9_zero_opens_no_alert(api_as, app, people):
    """A PHQ-9 with item 9 at 0, even a severe one, opens no safety alert."""
    api = api_as("patient@demo.test")
    assert _post(api, instrument="phq9", answers=[3] * 8 + [0]).status_code == 201
    assert _count(app, Alert, kind="phq9_item9") == 0


# --- API: reading -------------------------------------------------------------------------


def test_patient_reads_only_their_own_history(api_as, people):
    """GET /measures lists the caller's check-ins, oldest first, and no one else's."""
    other = api_as("patient@demo.test")
    _post(other, instrument="gad7", answers=[3] * 7)
    api = api_as("patient2@demo.test")
    _post(api, instrument="phq9", answers=PHQ9_CALM)
    _post(api, instrument="gad7", answers=[1] * 7)
    listed = api.get("/api/v1/measures").json["measures"]
    # The demo intake's AUDIT-C (kap/demo/intake.py) came first.
    assert [(m["instrument"], m["score"]) for m in listed] == [
        ("auditc", 0),
        ("phq9", 4),
        ("gad7", 7),
    ]
    only_gad7 = api.get("/api/v1/measures?instrument=gad7").json["measures"]
    assert [(m["instrument"], m["score"]) for m in only_gad7] == [("gad7", 7)]
    assert api.get("/api/v1/measures?instrument=bdi").status_code == 400


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("therapist@demo.test", 200),
        ("admin@demo.test", 200),
        ("therapist2@demo.test", 404),
        ("therapist@other.test", 404),
        ("admin@other.test", 404),
        ("patient@demo.test", 403),
        ("patient2@demo.test", 403),
    ],
)
def test_patient_measures_reach_only_the_care_team_and_clinic(api_as, people, email, status):
    """GET /patients/<id>/measures: care team and admin read; others 404; patients 403."""
    api = api_as("patient@demo.test")
    created = _post(api, instrument="phq9", answers=PHQ9_CALM).json["id"]
    reader = api_as(email)
    response = reader.get(f"/api/v1/patients/{people['patient@demo.test'].id}/measures")
    assert response.status_code == status
    if status == 200:
        assert created in [m["id"] for m in response.json["measures"]]


def test_clinician_reads_are_audited_without_scores(api_as, app, people):
    """A therapist's read leaves measures.read; the write leaves measure.create; no scores."""
    api = api_as("patient@demo.test")
    _post(api, instrument="phq9", answers=PHQ9_CALM)
    api.get("/api/v1/measures")
    patient_id = people["patient@demo.test"].id
    patient_actions = _audit_actions(app, patient_id)
    assert ("measure.create", patient_id, "") in patient_actions
    assert "measures.read" not in [action for action, _, _ in patient_actions]
    therapist = api_as("therapist@demo.test")
    therapist.get(f"/api/v1/patients/{patient_id}/measures")
    assert ("measures.read", patient_id, "") in _audit_actions(
        app, people["therapist@demo.test"].id
    )


def test_chart_for_a_therapist_marks_sessions_and_reads_out_the_trend(app, people):
    """With the demo history: 4 PHQ-9 points, 3 session markers, a response, an audit row."""
    _seed_demo_history(app)
    with app.app_context():
        therapist = db.session.get(User, people["therapist@demo.test"].id)
        chart = chart_for(therapist, people["patient@demo.test"].id, "phq9")
        assert chart["svg"].count('class="session-marker"') == 3
        assert [row["score"] for row in chart["rows"]] == [19, 14, 10, 7]
        assert (chart["summary"].response, chart["summary"].remission) == (True, False)
    assert ("measures.read", people["patient@demo.test"].id, "phq9") in _audit_actions(
        app, people["therapist@demo.test"].id
    )


def test_demo_measures_are_idempotent_and_raise_no_alert(app, people):
    """Seeding twice gives one history (4 PHQ-9, GAD-7 and PCL-5, a side-effect check after
    the last session), answers matching, no alert."""
    _seed_demo_history(app)
    _seed_demo_history(app)
    with app.app_context():
        rows = db.session.scalars(select(MeasureResponse)).all()
        # Beside them: the AUDIT-C each of the three demo intakes included (kap/demo/intake.py).
        assert sum(r.instrument == "auditc" for r in rows) == 3
        assert sorted(r.instrument for r in rows if r.instrument != "auditc") == (
            ["gad7"] * 4 + ["pcl5"] * 4 + ["phq9"] * 4 + ["side_effects"]
        )
        assert [r.score for r in rows if r.instrument == "pcl5"] == [48, 41, 35, 29]
        # The scored items add up to the total (PHQ-9's difficulty question is not one of them).
        assert all(
            sum(r.answers[:9] if r.instrument == "phq9" else r.answers) == r.score for r in rows
        )
        assert all(r.answers[8] == 0 for r in rows if r.instrument == "phq9")
    # The one alert is patient2's intake waiting for review (the demo intakes), none of these.
    assert _count(app, Alert) == _count(app, Alert, kind="intake_review") == 1


# --- Patient pages (CSRF on, posted like a browser) ---------------------------------------


def _form_page(client, auth, instrument="phq9", email="patient@demo.test"):
    assert auth.login(email).status_code == 302
    page = client.get(f"/patient/check-ins/{instrument}")
    assert page.status_code == 200
    return page.text


def _answers(values):
    return {f"q{number}": str(value) for number, value in enumerate(values, start=1)}


def test_questionnaire_has_a_labelled_radio_for_every_answer(client, auth, people):
    """Nine questions and the optional difficulty question as fieldsets with a legend, each
    with four labelled radios 0-3; only the nine are required."""
    html = _form_page(client, auth)
    assert html.count("<legend>") == 10
    assert html.count('<span class="muted">(optional)</span>') == 1
    radios = re.findall(r'<input type="radio" id="(q\d+-\d)" name="q\d+" value="(\d)"', html)
    assert len(radios) == 40 and {value for _, value in radios} == {"0", "1", "2", "3"}
    assert html.count(" required") == 36
    for radio_id, _ in radios:
        assert f'<label class="check" for="{radio_id}">' in html
    assert "Feeling down, depressed, or hopeless" in html
    assert ">Crisis support</a>" in html


def test_missing_answers_re_render_with_a_message_each_keeping_choices(app, client, auth, people):
    """Two unanswered questions: 400, a message per question, chosen answers still chosen."""
    before = _count(app, MeasureResponse)
    html = _form_page(client, auth)
    data = form_data(html, "/patient/check-ins/phq9") | _answers([2, 0, 1, 1, 0, 0, 3])
    response = client.post("/patient/check-ins/phq9", data=data)
    assert response.status_code == 400
    assert "Choose an answer for question 8." in response.text
    assert "Choose an answer for question 9." in response.text
    assert "Choose an answer for question 1." not in response.text
    kept = form_data(response.text, "/patient/check-ins/phq9")
    assert (kept["q1"], kept["q7"], kept["client_id"]) == ("2", "3", data["client_id"])
    assert "q8" not in kept
    assert _count(app, MeasureResponse) == before


def test_double_submit_records_once(app, client, auth, people):
    """The same form sent twice (a double tap) stores one check-in and shows the same result."""
    data = form_data(_form_page(client, auth, "gad7"), "/patient/check-ins/gad7")
    data |= _answers([2] * 7)
    before = _count(app, MeasureResponse)
    first = client.post("/patient/check-ins/gad7", data=data)
    second = client.post("/patient/check-ins/gad7", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(app, MeasureResponse) == before + 1
    result = client.get(first.headers["Location"]).text
    assert "14 out of 21" in result and "moderate" in result
    assert "988 Suicide" not in result


def test_form_without_csrf_token_is_refused(app, client, auth, people):
    """A post without the CSRF token is refused and stores nothing."""
    data = form_data(_form_page(client, auth), "/patient/check-ins/phq9") | _answers(PHQ9_CALM)
    del data["csrf_token"]
    before = _count(app, MeasureResponse)
    assert client.post("/patient/check-ins/phq9", data=data).status_code == 400
    assert _count(app, MeasureResponse) == before


def test_item9_answer_shows_crisis_contacts_before_the_score(app, client, auth, people):
    """Item 9 > 0 on the page: the result opens with the crisis contacts, then the score."""
    data = form_data(_form_page(client, auth), "/patient/check-ins/phq9") | _answers(PHQ9_ITEM9)
    response = client.post("/patient/check-ins/phq9", data=data)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).text
    main = page[page.index('<main id="main"') :]
    assert "care team has been told" in main
    assert main.index("988 Suicide &amp; Crisis Lifeline") < main.index("Your score is")
    assert main.index('href="tel:988"') < main.index("9 out of 27")
    assert _count(app, Alert, kind="phq9_item9") == 1


def test_another_patients_result_is_not_found(api_as, people):
    """A check-in result is only its own patient's to open."""
    api = api_as("patient@demo.test")
    measure_id = _post(api, instrument="phq9", answers=PHQ9_CALM).json["id"]
    other = api_as("patient2@demo.test")
    assert other.get(f"/patient/check-ins/result?id={measure_id}").status_code == 404
    assert api.get(f"/patient/check-ins/result?id={measure_id}").status_code == 200


def test_check_ins_page_shows_what_is_due_and_history(api_as, app, people):
    """patient2 (first session tomorrow) is asked for both; the demo patient sees a history."""
    other = api_as("patient2@demo.test")
    page = other.get("/patient/check-ins").text
    assert "Answer the PHQ-9" in page and "Answer the GAD-7" in page
    _seed_demo_history(app)
    api = api_as("patient@demo.test")
    page = api.get("/patient/check-ins").text
    assert "<svg" in page and "19 of 27" in page and "Moderately severe" in page


def test_therapist_sees_a_chart_per_scored_instrument_with_its_own_rule(api_as, app, people):
    """The demo patient's timeline charts PHQ-9, GAD-7, PCL-5 and the side-effect check, each
    with its table; PCL-5's summary uses its 10-point response and its cut-off of 33."""
    _seed_demo_history(app)
    page = api_as("therapist@demo.test").get(
        f"/therapist/patients/{people['patient@demo.test'].id}"
    )
    assert page.status_code == 200
    html = page.text
    headings = re.findall(r'<h3 id="chart-([a-z0-9_]+)">', html)
    assert {"phq9", "gad7", "pcl5", "side_effects"} <= set(headings)
    assert headings[:3] == ["phq9", "gad7", "pcl5"]  # outcome measures first
    assert html.count('class="measure-chart"') == len(headings)
    assert html.count("scores as a table</summary>") == len(headings)
    pcl5 = html.split('id="chart-pcl5"')[1].split("</section>")[0]
    assert "≥ 10-point drop" in pcl5 and "Remission (&lt; 33)" in pcl5
    assert "<td>48</td>" in pcl5 and "<td>29</td>" in pcl5
    phq9 = html.split('id="chart-phq9"')[1].split("</section>")[0]
    assert "≥ 50 % drop" in phq9 and "Remission (&lt; 5)" in phq9


def test_unscored_questionnaires_are_listed_with_their_answers(api_as, app, people):
    """A clinic's unscored questionnaire is not charted: its answers are listed, text
    decrypted, for the care team."""
    with app.app_context():
        admin = db.session.get(User, people["admin@demo.test"].id)
        save_questionnaire(
            admin,
            definition={
                "code": "week_notes",
                "name": "Week notes",
                "items": [
                    {
                        "id": "mood",
                        "text": "Mood",
                        "options": [
                            {"value": 0, "label": "Low"},
                            {"value": 1, "label": "Fine"},
                        ],
                    },
                    {"id": "notes", "text": "Anything to tell us?", "kind": "text"},
                ],
            },
        )
    body = {"instrument": "week_notes", "answers": [1, "Slept better after the walk"]}
    assert _post(api_as("patient@demo.test"), **body).status_code == 201
    html = (
        api_as("therapist@demo.test")
        .get(f"/therapist/patients/{people['patient@demo.test'].id}")
        .text
    )
    assert 'id="chart-week_notes"' not in html
    notes = html.split('id="answers-week_notes"')[1].split("</section>")[0]
    assert '<dt>Mood</dt><dd dir="auto">Fine</dd>' in notes
    assert '<dd dir="auto">Slept better after the walk</dd>' in notes


# --- CSV export ---------------------------------------------------------------------------


def _csv(api_as, email, patient_id):
    api = api_as(email)
    return api.get(f"/therapist/patients/{patient_id}/measures.csv")


def test_csv_export_lists_measures_with_change_from_baseline(api_as, app, people):
    """The care team downloads dates, instruments, scores, severity and change, audited."""
    _seed_demo_history(app)
    patient_id = people["patient@demo.test"].id
    response = _csv(api_as, "therapist@demo.test", patient_id)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="measures-patient-{patient_id}-')
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["date", "time", "instrument", "score", "severity", "change_from_baseline"]
    phq9 = [row for row in rows[1:] if row[2] == "PHQ-9"]
    assert [(r[3], r[4], r[5]) for r in phq9] == [
        ("19", "Moderately severe", "baseline"),
        ("14", "Moderate", "down 5"),
        ("10", "Moderate", "down 9"),
        ("7", "Mild", "down 12"),
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", phq9[0][0]) and phq9[0][1] == "19:30"  # local time
    events = _audit_actions(app, people["therapist@demo.test"].id)
    assert ("measures.export", patient_id, "") in events


def test_csv_cells_never_start_a_formula(api_as, app, people):
    """No exported cell starts with = + - @, rises and falls included; the guard defuses any."""
    api = api_as("patient2@demo.test")
    for values in ([0] * 7, [3] * 7, [1] * 7):
        _post(api, instrument="gad7", answers=values)
    response = _csv(api_as, "therapist2@demo.test", people["patient2@demo.test"].id)
    cells = [cell for row in csv.reader(io.StringIO(response.text)) for cell in row]
    assert "up 21" in cells and "up 7" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    assert csv_safe('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [csv_safe(v) for v in ("+1", "-2", "@SUM(A1)", "\tx", 7)] == [
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "7",
    ]


@pytest.mark.parametrize("email", ["therapist2@demo.test", "therapist@other.test"])
def test_csv_export_outside_the_care_team_is_not_found(api_as, app, people, email):
    """A therapist outside the care team, or of another clinic, gets 404 and no audit row."""
    response = _csv(api_as, email, people["patient@demo.test"].id)
    assert response.status_code == 404
    assert not [a for a in _audit_actions(app, people[email].id) if a[0] == "measures.export"]
