"""Bad input: oversized bodies, malformed JSON, Unicode round trips, HTML shown as text."""

from __future__ import annotations

import json
import re

import pytest

from kap.api import MAX_JSON_BYTES
from kap.api.openapi import build_spec
from kap.extensions import db
from kap.models import ChecklistItem, Clinic, JournalEntry, SessionTemplate, TreatmentSession, User
from kap.services.journal.clinical_notes import add_note
from tests.formscrape import form_data
from tests.helpers import ApiClient

#: Every API operation that reads a JSON body, from the description (new ones join in).
BODY_OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in build_spec()["paths"].items()
    for method, operation in item.items()
    if isinstance(operation, dict) and "requestBody" in operation
)
#: Who each operation is for (None or empty: anyone signed in), from the same description.
ROLES = {
    (method.upper(), path): operation.get("x-kap-roles")
    for path, item in build_spec()["paths"].items()
    for method, operation in item.items()
    if isinstance(operation, dict)
}


@pytest.fixture
def patient_api(api_as, people) -> ApiClient:
    return api_as("patient@demo.test")


@pytest.fixture
def therapist_api(api_as, people) -> ApiClient:
    """The demo patient's therapist, for the operations only clinicians may use."""
    return api_as("therapist@demo.test")


@pytest.fixture
def ids(patient_api):
    """Real ids for path parameters: the patient's next session, its first item, an entry."""
    session_id = patient_api.get("/api/v1/sessions").json["sessions"][-1]["id"]
    item_id = patient_api.get(f"/api/v1/sessions/{session_id}").json["checklist"][0]["id"]
    entry = {"client_id": "ids-1", "body": "Mine", "shared": True}
    entry_id = patient_api.post("/api/v1/journal", json=entry).json["id"]
    return {"session_id": session_id, "item_id": item_id, "entry_id": entry_id}


def send(api: ApiClient, method: str, path: str, data: bytes, content_type="application/json"):
    """A raw body, as a client that builds its own requests would send it."""
    return api.client.open(
        path, method=method, data=data, content_type=content_type, headers=api.headers
    )


def entry_count(app) -> int:
    """Journal entries stored, deleted ones included."""
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(JournalEntry))


def assert_error(response, status: int, code: str) -> None:
    """``status`` in the API error format with ``code``."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]


# --- oversized bodies ---------------------------------------------------------------------


def json_of_size(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    shell = b'{"client_id": "big-1", "body": ""}'
    return shell[:-2] + b"x" * (size - len(shell)) + shell[-2:]


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_api_refuses_a_body_over_256_kb_with_413(app, patient_api, ids, method, path):
    """One byte over the limit: 413 in the error format, on every route that reads a body."""
    before = entry_count(app)
    response = send(patient_api, method, path.format(**ids), json_of_size(MAX_JSON_BYTES + 1))
    assert_error(response, 413, "too_large")
    assert entry_count(app) == before


def test_api_reads_a_body_of_exactly_256_kb(patient_api):
    """At the limit the body is read: this one is refused for its content (400), not its size."""
    response = send(patient_api, "POST", "/api/v1/journal", json_of_size(MAX_JSON_BYTES))
    assert_error(response, 400, "invalid")
    assert "body" in response.json["error"]["fields"]


def test_page_form_over_the_content_limit_answers_413_page(page_as, app, people):
    """A journal form larger than MAX_CONTENT_LENGTH is refused unread, with a page."""
    client = page_as("patient@demo.test")
    data = form_data(client.get("/patient/journal/new").text, "/journal/new")
    prefix = f"csrf_token={data['csrf_token']}&client_id=big-page&body=".encode()
    body = prefix + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1 - len(prefix))
    before = entry_count(app)
    response = client.post(
        "/patient/journal/new", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "too large" in response.text
    assert entry_count(app) == before


def test_multipart_form_field_over_500_kb_answers_413(page_as, app, people):
    """In a multipart form, one text field over Flask's 500 KB form-memory limit: 413."""
    client = page_as("patient@demo.test")
    data = form_data(client.get("/patient/journal/new").text, "/journal/new")
    data["body"] = "x" * 600_000
    before = entry_count(app)
    response = client.post("/patient/journal/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert entry_count(app) == before


def test_sign_in_page_over_the_content_limit_answers_413(app, client, people):
    """Before anyone signs in, an oversized form is refused with 413, not read."""
    body = b"email=" + b"x" * app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/signin", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


# --- malformed JSON -----------------------------------------------------------------------

MALFORMED = {
    "not JSON": (b"{bad", "application/json"),
    "an array": (b"[1, 2]", "application/json"),
    "a string": (b'"text"', "application/json"),
    "null": (b"null", "application/json"),
    "empty": (b"", "application/json"),
    "invalid UTF-8": (b'{"body": "\xff\xfe"}', "application/json"),
    "text/plain": (b'{"body": "x"}', "text/plain"),
    "a form": (b"body=x&client_id=y", "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_malformed_json_answers_400_in_the_error_format(
    patient_api, therapist_api, ids, method, path
):
    """Not a JSON object, or not sent as JSON: 400 'invalid', on every route with a body, for
    a caller it is for (the patient, or a therapist where patients get 403 before reading)."""
    roles = ROLES[method, path]
    caller = patient_api if not roles or "patient" in roles else therapist_api
    for label, (data, content_type) in MALFORMED.items():
        response = send(caller, method, path.format(**ids), data, content_type)
        assert response.status_code == 400, (label, response.get_data(as_text=True)[:200])
        assert response.json["error"]["code"] == "invalid", label
        assert response.json["error"]["message"], label


def test_wrong_method_answers_405_in_the_error_format(patient_api):
    """A method a route does not have: 405 in the error format, not an HTML page, saying in
    Allow which methods the route has (RFC 9110 requires it on a 405)."""
    for method, path, allowed in (
        ("PUT", "/api/v1/journal", {"GET", "POST"}),
        ("DELETE", "/api/v1/me", {"GET"}),
    ):
        response = send(patient_api, method, path, b"{}")
        assert_error(response, 405, "method_not_allowed")
        assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
        assert response.headers.get_all("Content-Type") == ["application/json"]


def test_a_page_refusing_a_method_says_which_it_takes(patient_api):
    """The same on a page: the error page, with its Allow header and one Content-Type."""
    response = patient_api.put("/patient/journal")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert response.headers.get_all("Content-Type") == ["text/html; charset=utf-8"]


def test_deeply_nested_json_is_invalid_input(client, people):
    """50,000 nested arrays (100 KB, under the size limit) are invalid input, not a crash."""
    response = client.post(
        "/api/v1/session", data="[" * 50_000 + "]" * 50_000, content_type="application/json"
    )
    assert_error(response, 400, "invalid")


@pytest.mark.parametrize("path", ["/api/v1/session", "/api/v1/journal"])
def test_lone_surrogate_in_a_string_is_invalid_input(patient_api, path):
    """JSON may spell a lone surrogate (\\ud800); it is not text, so it is invalid input."""
    raw = b'{"email": "a\\ud800", "password": "x", "client_id": "s-1", "body": "a\\ud800"}'
    assert_error(send(patient_api, "POST", path, raw), 400, "invalid")


# --- Unicode round trips ------------------------------------------------------------------

UNICODE = "\n".join(
    [
        "Emoji 😀 🙏🏽 👩‍👩‍👧‍👦 🏳️‍🌈 🇩🇪",
        "RTL \u200fשלום עולם — مرحبا بالعالم\u200f",  # noqa: RUF001
        "Combining e\u0301 (not é), Z̴̡̪a̷l̶g̸o, Hangul \u1100\u1161",
        "Astral 𝒜𝓁𝓅𝒽𝒶 and CJK 日本語",  # noqa: RUF001
        "Zero width: a\u200bb\u200dc, BOM \ufeff inside",
    ]
)
NAME = "Zoë Ωmega 🌱 שרה Nguyễn e\u0301"


def test_unicode_survives_journal_comment_and_intention_round_trips(api_as, patient_api, ids):
    """Emoji, RTL, combining marks and zero-width characters come back byte for byte."""
    patient = patient_api
    entry = {"client_id": "uni-1", "body": UNICODE, "shared": True}
    created = patient.post("/api/v1/journal", json=entry)
    assert created.json["body"] == UNICODE
    edited = patient.patch(f"/api/v1/journal/{created.json['id']}", json={"body": UNICODE + "!"})
    assert edited.json["body"] == UNICODE + "!"
    therapist = api_as("therapist@demo.test")
    comment = therapist.post(
        f"/api/v1/journal/{created.json['id']}/comments", json={"body": UNICODE}
    )
    assert comment.json["body"] == UNICODE
    listed = patient.get("/api/v1/journal").json["entries"]
    mine = next(e for e in listed if e["client_id"] == "uni-1")
    assert mine["body"] == UNICODE + "!"
    assert mine["comments"][0]["body"] == UNICODE
    session_path = f"/api/v1/sessions/{ids['session_id']}"
    put = patient.put(f"{session_path}/intention", json={"text": UNICODE})
    assert put.json["intention"] == UNICODE
    assert patient.get(session_path).json["intention"] == UNICODE


def test_unicode_survives_the_journal_page_and_json_escapes(api_as, page_as, people):
    """Written in the page form, read back through the API; \\u escapes decode the same."""
    client = page_as("patient@demo.test")
    data = form_data(client.get("/patient/journal/new").text, "/journal/new")
    data["body"] = UNICODE
    assert client.post("/patient/journal/new", data=data).status_code == 302
    page = client.get("/patient/journal").text
    assert UNICODE.split("\n")[0] in page
    api = api_as("patient@demo.test")
    assert api.get("/api/v1/journal").json["entries"][0]["body"] == UNICODE
    escaped = json.dumps({"client_id": "esc-1", "body": UNICODE}, ensure_ascii=True)
    assert send(api, "POST", "/api/v1/journal", escaped.encode()).json["body"] == UNICODE


def test_unicode_person_name_survives_the_clinic_form_and_the_api(api_as, page_as, people):
    """An admin adds a patient with such a name; the API and the pages show it unchanged."""
    admin = page_as("admin@demo.test")
    data = form_data(admin.get("/clinic/people/new").text, "/people/new")
    data.update({"name": NAME, "email": "zoe@demo.test", "role": "patient"})
    added = admin.post("/clinic/people/new", data=data)
    assert added.status_code == 302
    assert NAME in admin.get(added.headers["Location"]).text
    api = api_as("admin@demo.test")
    names = [p["name"] for p in api.get("/api/v1/patients").json["patients"]]
    assert NAME in names


# --- HTML and script are shown as text ----------------------------------------------------


def hostile(field: str) -> str:
    """Markup that would run if a page put ``field`` into its HTML unescaped."""
    return f"<script>alert({field})</script><img src=x onerror=alert({field})>"


def shown_as_text(field: str) -> str:
    return f"&lt;script&gt;alert({field})&lt;/script&gt;&lt;img src=x onerror=alert({field})&gt;"


RAW_MARKUP = re.compile(r"<script>alert|<img src=x onerror", re.IGNORECASE)

#: Where each text field is shown (role, page), with ids filled in from ``hostile_data``.
SHOWN_ON = {
    "journal_body": [
        ("patient", "/patient/journal"),
        ("patient", "/patient/journal/{entry_id}/edit"),
        ("patient", "/patient/my-data/export"),
        ("therapist", "/therapist/patients/{patient_id}"),
        ("therapist", "/therapist/entries/{entry_id}"),
    ],
    "comment": [("patient", "/patient/journal"), ("therapist", "/therapist/entries/{entry_id}")],
    "reply": [("patient", "/patient/journal"), ("therapist", "/therapist/entries/{entry_id}")],
    "intention": [
        ("patient", "/patient/sessions/{session_id}"),
        ("therapist", "/therapist/patients/{patient_id}"),
    ],
    "clinical_note": [("therapist", "/therapist/patients/{patient_id}")],
    "checklist_item": [("patient", "/patient/sessions/{session_id}")],
    "template_name": [
        ("patient", "/patient/"),
        ("therapist", "/therapist/patients/{patient_id}"),
        ("therapist", "/board/"),
        ("clinic_admin", "/clinic/templates"),
        ("clinic_admin", "/clinic/people/{patient_id}"),
    ],
    "patient_name": [
        ("therapist", "/therapist/"),
        ("therapist", "/therapist/patients/{patient_id}"),
        ("therapist", "/board/"),
        ("clinic_admin", "/clinic/people"),
        ("clinic_admin", "/clinic/people/{patient_id}"),
    ],
    "therapist_name": [("patient", "/patient/journal"), ("clinic_admin", "/clinic/people")],
    "clinic_name": [("clinic_admin", "/clinic/"), ("clinic_admin", "/clinic/settings")],
    "crisis_contact": [
        ("patient", "/patient/crisis-support"),
        ("clinic_admin", "/clinic/settings"),
    ],
}
EMAILS = {
    "patient": "patient@demo.test",
    "therapist": "therapist@demo.test",
    "clinic_admin": "admin@demo.test",
}


@pytest.fixture
def hostile_data(api_as, app, people, ids) -> dict[str, int]:
    """Every text field holds markup: written through the API where there is one."""
    patient = api_as("patient@demo.test")
    therapist = api_as("therapist@demo.test")
    entry = {"client_id": "xss-1", "body": hostile("journal_body"), "shared": True}
    entry_id = patient.post("/api/v1/journal", json=entry).json["id"]
    for writer, field in ((therapist, "comment"), (patient, "reply")):
        response = writer.post(
            f"/api/v1/journal/{entry_id}/comments", json={"body": hostile(field)}
        )
        assert response.status_code == 201
    session_id = ids["session_id"]
    response = patient.put(
        f"/api/v1/sessions/{session_id}/intention", json={"text": hostile("intention")}
    )
    assert response.status_code == 200
    patient_id = people["patient@demo.test"].id
    with app.app_context():
        add_note(
            db.session.get(User, people["therapist@demo.test"].id),
            patient_id,
            hostile("clinical_note"),
        )
        session = db.session.get(TreatmentSession, session_id)
        version = session.template_version
        templates = db.session.scalars(
            db.select(SessionTemplate).where(SessionTemplate.clinic_id == session.clinic_id)
        )
        for number, template in enumerate(templates):  # the board shows today's session's
            template.name = f"{hostile('template_name')} {number}"
        db.session.get(ChecklistItem, version.checklist_items[0].id).text = hostile(
            "checklist_item"
        )
        db.session.get(User, patient_id).name = hostile("patient_name")
        db.session.get(User, people["therapist@demo.test"].id).name = hostile("therapist_name")
        clinic = db.session.get(Clinic, people["patient@demo.test"].clinic_id)
        clinic.name = hostile("clinic_name")
        contact = {"name": hostile("crisis_contact"), "phone": "988", "sms": "", "url": ""}
        clinic.crisis_contacts = [{**contact, "description": hostile("crisis_contact")}]
        db.session.commit()
    return {"entry_id": entry_id, "session_id": session_id, "patient_id": patient_id}


def test_markup_in_every_text_field_is_shown_as_text(page_as, hostile_data):
    """Each field appears escaped where it is shown, and no page carries it as live markup."""
    clients = {role: page_as(email) for role, email in EMAILS.items()}
    pages: dict[tuple[str, str], str] = {}
    for field, places in SHOWN_ON.items():
        for role, path in places:
            key = (role, path.format(**hostile_data))
            if key not in pages:
                response = clients[role].get(key[1])
                assert response.status_code == 200, key
                pages[key] = response.text
            assert shown_as_text(field) in pages[key], (field, key)
    for key, html in pages.items():
        assert not RAW_MARKUP.search(html), key
