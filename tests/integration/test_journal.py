"""The journal: private by default, sharing, exactly-once sync, edits, deletion and comments."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kap.extensions import db
from kap.models import JournalEntry
from tests.formscrape import form_data


def _post(api, **body):
    return api.post("/api/v1/journal", json=body)


def _entry_count(app, **where):
    with app.app_context():
        query = select(func.count()).select_from(JournalEntry)
        for name, value in where.items():
            query = query.where(getattr(JournalEntry, name) == value)
        return db.session.scalar(query)


def test_same_client_id_twice_gives_one_entry(api_as, app, people):
    """A client_id creates once (201); the same id again answers 200 with the same entry."""
    api = api_as("patient@demo.test")
    before = _entry_count(app)
    first = _post(api, client_id="device-1-entry-1", body="First words", shared=False)
    second = _post(api, client_id="device-1-entry-1", body="First words", shared=False)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json["id"] == second.json["id"]
    assert first.json["entry"] == {k: v for k, v in first.json.items() if k != "entry"}
    assert _entry_count(app) == before + 1


def test_new_entries_are_private_by_default(api_as, people):
    """Without `shared`, the entry is private and the therapist does not see it."""
    api = api_as("patient@demo.test")
    created = _post(api, client_id="p-1", body="Only for me")
    assert created.json["shared"] is False
    therapist = api_as("therapist@demo.test")
    patient_id = people["patient@demo.test"].id
    bodies = [
        e["body"] for e in therapist.get(f"/api/v1/patients/{patient_id}/journal").json["entries"]
    ]
    assert "Only for me" not in bodies


def test_therapist_reads_shared_entries_only_and_unsharing_hides_again(api_as, people):
    """The care-team therapist sees exactly the shared entries; unsharing takes one away."""
    api = api_as("patient@demo.test")
    entry = _post(api, client_id="s-1", body="Please read", shared=True).json
    therapist = api_as("therapist@demo.test")
    url = f"/api/v1/patients/{people['patient@demo.test'].id}/journal"
    shared = therapist.get(url).json["entries"]
    assert "Please read" in [e["body"] for e in shared]
    assert all(e["shared"] for e in shared)
    assert api.patch(f"/api/v1/journal/{entry['id']}", json={"shared": False}).status_code == 200
    assert "Please read" not in [e["body"] for e in therapist.get(url).json["entries"]]


@pytest.mark.parametrize("email", ["therapist2@demo.test", "therapist@other.test"])
def test_therapist_outside_the_care_team_sees_nothing(api_as, people, email):
    """A colleague or another clinic's therapist gets 404 for the patient's journal."""
    outsider = api_as(email)
    response = outsider.get(f"/api/v1/patients/{people['patient@demo.test'].id}/journal")
    assert response.status_code == 404


def test_clinic_admin_cannot_read_journals(api_as, people):
    """Running the clinic does not include reading journals: 403 for admins."""
    admin = api_as("admin@demo.test")
    response = admin.get(f"/api/v1/patients/{people['patient@demo.test'].id}/journal")
    assert response.status_code == 403


def test_therapist_cannot_open_a_private_entry_by_id(api_as, people):
    """Commenting on (or otherwise touching) a private entry answers 404 for the therapist."""
    api = api_as("patient@demo.test")
    private = _post(api, client_id="priv-1", body="Mine alone").json
    therapist = api_as("therapist@demo.test")
    response = therapist.post(f"/api/v1/journal/{private['id']}/comments", json={"body": "Hi"})
    assert response.status_code == 404


def test_comments_and_replies_appear_under_the_entry(api_as, people):
    """The therapist comments on a shared entry; the patient replies; both show in order."""
    api = api_as("patient@demo.test")
    entry = _post(api, client_id="c-1", body="Shared thought", shared=True).json
    therapist = api_as("therapist@demo.test")
    comment = therapist.post(
        f"/api/v1/journal/{entry['id']}/comments",
        json={"body": "Thank you — let's talk Thursday."},
    )
    assert comment.status_code == 201
    assert comment.json["author"]["role"] == "therapist"
    reply = api.post(f"/api/v1/journal/{entry['id']}/comments", json={"body": "OK"})
    assert reply.status_code == 201
    mine = next(e for e in api.get("/api/v1/journal").json["entries"] if e["id"] == entry["id"])
    assert [c["body"] for c in mine["comments"]] == ["Thank you — let's talk Thursday.", "OK"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"client_id": "x1", "body": ""}, "body"),
        ({"client_id": "x2", "body": "   "}, "body"),
        ({"client_id": "x3", "body": "a" * 20_001}, "body"),
        ({"client_id": "x4", "body": "ok", "mood": 11}, "mood"),
        ({"client_id": "x5", "body": "ok", "mood": True}, "mood"),
        ({"client_id": "x6", "body": "ok", "mood": 5.5}, "mood"),
        ({"client_id": "x7", "body": "ok", "shared": "yes"}, "shared"),
        ({"client_id": "x8", "body": "ok", "session_id": 999999}, "session_id"),
        ({"body": "no id"}, "client_id"),
        ({"client_id": "has spaces", "body": "ok"}, "client_id"),
    ],
)
def test_bad_entries_are_400_with_the_field_named(api_as, app, people, body, field):
    """Each invalid field answers 400 naming it, and nothing is stored."""
    api = api_as("patient@demo.test")
    before = _entry_count(app)
    response = _post(api, **body)
    assert response.status_code == 400
    assert field in response.json["error"]["fields"]
    assert _entry_count(app) == before


def test_exactly_twenty_thousand_characters_fit(api_as, people):
    """The limit is inclusive: 20,000 characters are accepted, line breaks kept."""
    api = api_as("patient@demo.test")
    body = ("line\n" * 4000)[:20_000]
    response = _post(api, client_id="long-1", body=body)
    assert response.status_code == 201
    assert response.json["body"] == body


def test_unicode_and_emoji_survive(api_as, people):
    """Accents, scripts and emoji round-trip unchanged."""
    api = api_as("patient@demo.test")
    text = "Übung macht den Meister — 静かな水 — 🌊🕯️ — שָׁלוֹם"
    created = _post(api, client_id="uni-1", body=text).json
    fetched = next(
        e for e in api.get("/api/v1/journal").json["entries"] if e["id"] == created["id"]
    )
    assert fetched["body"] == text


def test_deleted_entry_is_gone_and_its_replay_is_refused(api_as, app, people):
    """Deleting wipes the text; a late replay of its creation does not bring it back (409)."""
    api = api_as("patient@demo.test")
    entry = _post(api, client_id="del-1", body="Regret this", shared=True).json
    assert api.delete(f"/api/v1/journal/{entry['id']}").status_code == 200
    assert entry["id"] not in [e["id"] for e in api.get("/api/v1/journal").json["entries"]]
    replay = _post(api, client_id="del-1", body="Regret this", shared=True)
    assert replay.status_code == 409
    with app.app_context():
        row = db.session.get(JournalEntry, entry["id"])
        assert row.body == "" and row.deleted_at is not None and not row.shared


def test_edit_from_a_stale_device_keeps_both_texts(api_as, people):
    """Two devices edit the same entry: the later edit wins, the other text stays as a copy."""
    api = api_as("patient@demo.test")
    entry = _post(api, client_id="two-dev", body="Original").json
    phone = api.patch(
        f"/api/v1/journal/{entry['id']}",
        json={"body": "Edited on the phone", "base_revision": 1},
    )
    assert phone.json["revision"] == 2
    laptop = api.patch(
        f"/api/v1/journal/{entry['id']}",
        json={"body": "Edited on the laptop", "base_revision": 1},
    )
    assert laptop.json["body"] == "Edited on the laptop"
    bodies = [e["body"] for e in api.get("/api/v1/journal").json["entries"]]
    assert "Edited on the phone" in bodies and "Edited on the laptop" in bodies


def test_other_patients_entries_are_not_found(api_as, people):
    """Editing, deleting or replying to another patient's entry answers 404."""
    api = api_as("patient@demo.test")
    entry = _post(api, client_id="own-1", body="Mine", shared=True).json
    other = api_as("patient2@demo.test")
    assert other.patch(f"/api/v1/journal/{entry['id']}", json={"body": "x"}).status_code == 404
    assert other.delete(f"/api/v1/journal/{entry['id']}").status_code == 404
    assert (
        other.post(f"/api/v1/journal/{entry['id']}/comments", json={"body": "x"}).status_code == 404
    )


# --- pages ---------------------------------------------------------------------------------


def test_journal_page_groups_by_session_and_says_who_can_read(client, auth, people):
    """Entries are grouped by session; each says whether it is private or who reads it."""
    auth.login("patient@demo.test")
    page = client.get("/patient/journal").text
    assert page.count("Session ·") >= 3
    assert "Private: only you can read it." in page
    assert "Shared: Dr. Tess Rivera can read it and reply." in page
    assert "Let&#39;s start there on Thursday" in page  # the therapist's comment


def _session_ids(app, email="patient@demo.test"):
    from kap.models import TreatmentSession, User

    with app.app_context():
        patient = db.session.scalar(select(User).where(User.email == email))
        return db.session.scalars(
            select(TreatmentSession.id)
            .where(TreatmentSession.patient_id == patient.id)
            .order_by(TreatmentSession.scheduled_at)
        ).all()


def test_each_session_is_one_group_even_when_entries_interleave(api_as, app, client, auth, people):
    """Notes about two sessions written in turn: one group (one landmark label) per session."""
    first, second = _session_ids(app)[:2]
    api = api_as("patient@demo.test")
    for number in range(4):  # first, second, first, second: interleaved in time
        about = first if number % 2 == 0 else second
        _post(api, client_id=f"interleave-{number}", body=f"note {number}", session_id=about)
    auth.login("patient@demo.test")
    page = client.get("/patient/journal").text
    labels = re.findall(r'<section class="journal-group" aria-label="([^"]+)"', page)
    assert len(labels) == len(set(labels))  # axe landmark-unique: no label twice
    newest = page.index("note 3")
    assert page.index("note 1") > newest and page.index("note 1") < page.index("note 2")


def test_journal_pages_hold_twenty_entries_newest_first(api_as, client, auth, people):
    """A long journal is paged: 20 entries a page, Older/Newer links, junk reads as page 1."""
    api = api_as("patient@demo.test")
    for number in range(45):
        assert (
            _post(api, client_id=f"paged-{number}", body=f"entry no. {number:02d}").status_code
            == 201
        )
    auth.login("patient@demo.test")
    first = client.get("/patient/journal").text
    assert first.count('<article class="card entry"') == 20
    assert "entry no. 44" in first and "entry no. 24" not in first
    assert 'rel="next" href="/patient/journal?page=2"' in first and 'rel="prev"' not in first
    second = client.get("/patient/journal?page=2").text
    assert "entry no. 24" in second and "entry no. 44" not in second
    assert 'rel="prev" href="/patient/journal"' in second and 'rel="next"' in second
    for junk in ("0", "-1", "abc", "٣", "9" * 40):
        assert client.get(f"/patient/journal?page={junk}").text.count("entry no. 44") == 1
    beyond = client.get("/patient/journal?page=999")
    assert beyond.status_code == 200 and "Go to the newest entries" in beyond.text


def test_api_journal_is_paged_with_limit_and_offset(api_as, people):
    """GET /api/v1/journal: limit/offset, next_offset null on the last page, bad values 400."""
    api = api_as("patient@demo.test")
    for number in range(5):
        _post(api, client_id=f"api-paged-{number}", body=f"api entry {number}")
    total = len(api.get("/api/v1/journal").json["entries"])
    seen, offset = [], 0
    while offset is not None:
        body = api.get(f"/api/v1/journal?limit=2&offset={offset}").json
        assert len(body["entries"]) <= 2
        seen += [e["id"] for e in body["entries"]]
        offset = body["next_offset"]
    assert len(seen) == len(set(seen)) == total
    for bad in ("limit=0", "limit=501", "offset=-1", "limit=x"):
        response = api.get(f"/api/v1/journal?{bad}")
        assert response.status_code == 400 and response.json["error"]["code"]


def test_too_long_entry_keeps_the_text_in_the_form(client, auth, people, app):
    """Over 20,000 characters: a clear error, status 400, the whole text still in the box."""
    auth.login("patient@demo.test")
    data = form_data(client.get("/patient/journal/new").text, "/journal/new")
    long_body = "I remember the light. " * 1000
    response = client.post("/patient/journal/new", data={**data, "body": long_body})
    assert response.status_code == 400
    assert "up to 20,000 characters" in response.text
    assert form_data(response.text, "/journal/new")["body"] == long_body
    assert _entry_count(app, client_id=data["client_id"]) == 0


def test_submitting_the_same_form_twice_creates_one_entry(client, auth, people, app):
    """The form's hidden client_id makes a double submit (or a retry) exactly-once."""
    auth.login("patient@demo.test")
    data = form_data(client.get("/patient/journal/new").text, "/journal/new")
    data.update(body="Once only", shared="y")
    first = client.post("/patient/journal/new", data=data)
    second = client.post("/patient/journal/new", data=data)
    assert first.status_code == second.status_code == 302
    assert _entry_count(app, client_id=data["client_id"]) == 1
    with app.app_context():  # bodies are encrypted at rest: compare after decryption
        matching = [e for e in db.session.scalars(select(JournalEntry)) if e.body == "Once only"]
    assert [e.shared for e in matching] == [True]


def test_delete_asks_first_then_removes(client, auth, people, app):
    """Delete shows a confirmation page; only the POST removes the entry."""
    auth.login("patient@demo.test")
    with app.app_context():
        entry_id = db.session.scalar(select(JournalEntry.id).where(JournalEntry.shared))
    confirm = client.get(f"/patient/journal/{entry_id}/delete")
    assert "Delete this entry?" in confirm.text
    client.post(f"/patient/journal/{entry_id}/delete", data=form_data(confirm.text, ""))
    with app.app_context():
        assert db.session.get(JournalEntry, entry_id).deleted_at is not None


def test_journal_page_rows_match_the_models(api_as, app, people):
    """The page's plain-row read (kap/services/journal/page.py) gives what the models give:
    the same entries in order, decrypted texts, sessions, replies and their authors."""
    from kap.models import User
    from kap.services.journal.entries import own_entries
    from kap.services.journal.page import journal_page

    api = api_as("patient@demo.test")
    _post(api, client_id="rows-1", body="Plain rows, same words 🌱", shared=True)
    with app.test_request_context("/patient/journal"):
        patient = db.session.get(User, people["patient@demo.test"].id)
        lines = journal_page(patient, 50).items
        models = db.session.scalars(own_entries(patient).limit(50)).all()
        assert [line.id for line in lines] == [entry.id for entry in models]
        for line, entry in zip(lines, models, strict=True):
            fields = ("body", "mood", "shared", "client_id", "created_at")
            assert [getattr(line, f) for f in fields] == [getattr(entry, f) for f in fields]
            assert (line.session.scheduled_at if line.session else None) == (
                entry.session.scheduled_at if entry.session else None)  # fmt: skip
            assert [(c.author_id, c.author.name if c.author else None, c.body, c.created_at)
                    for c in line.comments] == [
                (c.author_id, c.author.name if c.author else None, c.body, c.created_at)
                for c in entry.comments]  # fmt: skip
        assert any(line.comments for line in lines)
