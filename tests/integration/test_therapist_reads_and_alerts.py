"""A therapist's read marks (per clinician), the next unread entry, the session's intention
beside an entry, and alert details (which score, which answer, how to reach the patient)."""

from __future__ import annotations

import re

from sqlalchemy import select

from kap.extensions import db
from kap.models import AuditEvent, EntryRead, JournalEntry
from kap.services.people.care_teams import assign_therapist
from tests.formscrape import form_data
from tests.helpers import user_by_email

PHQ9_ITEM9 = [2, 2, 1, 1, 1, 1, 0, 0, 2]  # item 9 "More than half the days"; total 10
ITEM9_TEXT = "Thoughts that you would be better off dead or of hurting yourself in some way"


def _shared_entry_ids(app, patient_id: int) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(JournalEntry.id)
                .where(JournalEntry.patient_id == patient_id, JournalEntry.shared)
                .order_by(JournalEntry.created_at, JournalEntry.id)
            )
        )


def _actions(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _read_by(app, entry_id: int, email: str) -> bool:
    with app.app_context():
        therapist = user_by_email(email)
        return db.session.get(EntryRead, (entry_id, therapist.id)) is not None


def _token(client) -> str:
    return form_data(client.get("/therapist/").text, "/signout")["csrf_token"]


def test_mark_read_from_the_list_without_opening(app, client, auth, people):
    """Mark read on the patient's list: the entry leaves the unread ones, back at its line,
    audited as entry.mark_read (not as an opened entry)."""
    patient_id = people["patient@demo.test"].id
    first = _shared_entry_ids(app, patient_id)[0]
    auth.login("therapist@demo.test")
    page = client.get(f"/therapist/patients/{patient_id}").text
    assert page.count("<strong>Unread</strong>") == 3
    data = form_data(page, f"/entries/{first}/read")
    response = client.post(f"/therapist/entries/{first}/read", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/therapist/patients/{patient_id}#entry-{first}"
    assert (
        client.get(f"/therapist/patients/{patient_id}").text.count("<strong>Unread</strong>") == 2
    )
    assert _read_by(app, first, "therapist@demo.test")
    assert [e.subject_id for e in _actions(app, "entry.mark_read")] == [first]
    assert _actions(app, "entry.read") == []


def test_read_marks_are_per_therapist(app, client, auth, people):
    """A colleague in the same care team keeps their own unread marks; marking unread
    removes only mine."""
    patient = people["patient@demo.test"]
    with app.app_context():
        assign_therapist(user_by_email(patient.email), user_by_email("therapist2@demo.test"))
        db.session.commit()
    entry_id = _shared_entry_ids(app, patient.id)[0]
    auth.login("therapist@demo.test")
    client.get(f"/therapist/entries/{entry_id}")  # opening marks it read for me
    auth.logout()
    auth.login("therapist2@demo.test")
    page = client.get(f"/therapist/patients/{patient.id}").text
    assert page.count("<strong>Unread</strong>") == 3  # still unread for the colleague
    client.get(f"/therapist/entries/{entry_id}")
    auth.logout()
    auth.login("therapist@demo.test")
    page = client.get(f"/therapist/entries/{entry_id}").text
    response = client.post(
        f"/therapist/entries/{entry_id}/unread", data=form_data(page, f"/entries/{entry_id}/unread")
    )
    # Back to the list, not to the entry: opening it again would mark it read at once.
    assert response.headers["Location"] == f"/therapist/patients/{patient.id}#entry-{entry_id}"
    assert not _read_by(app, entry_id, "therapist@demo.test")
    assert _read_by(app, entry_id, "therapist2@demo.test")
    assert [e.subject_id for e in _actions(app, "entry.mark_unread")] == [entry_id]
    assert "<strong>3 unread</strong>" in client.get("/therapist/").text  # mine: 3 again


def test_marks_need_the_csrf_token(app, client, auth, people):
    """A forged post (no token) changes nothing."""
    entry_id = _shared_entry_ids(app, people["patient@demo.test"].id)[0]
    auth.login("therapist@demo.test")
    response = client.post(f"/therapist/entries/{entry_id}/read", data={})
    assert response.status_code == 400
    assert not _read_by(app, entry_id, "therapist@demo.test")


def test_private_and_other_teams_entries_cannot_be_marked(app, client, auth, people):
    """A private entry, or an entry of a colleague's patient, is 404 and leaves no mark."""
    patient_id = people["patient@demo.test"].id
    with app.app_context():
        private_id = db.session.scalar(
            select(JournalEntry.id).where(
                JournalEntry.patient_id == patient_id, JournalEntry.shared.is_(False)
            )
        )
    shared_id = _shared_entry_ids(app, patient_id)[0]
    auth.login("therapist@demo.test")
    token = _token(client)
    for action in ("read", "unread"):
        url = f"/therapist/entries/{private_id}/{action}"
        assert client.post(url, data={"csrf_token": token}).status_code == 404
    auth.logout()
    auth.login("therapist2@demo.test")
    token = _token(client)
    url = f"/therapist/entries/{shared_id}/read"
    assert client.post(url, data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(EntryRead)) == 0


def test_next_unread_takes_the_patient_first_then_the_oldest_elsewhere(
    app, client, auth, people, api_as
):
    """?patient=: that patient's oldest unread first; without it, the oldest of all; when
    everything is read, the dashboard says so."""
    pat = people["patient@demo.test"]
    with app.app_context():
        newcomer = user_by_email("patient2@demo.test")
        assign_therapist(newcomer, user_by_email("therapist@demo.test"))
        db.session.commit()
        newcomer_id = newcomer.id
    written = api_as("patient2@demo.test").post(
        "/api/v1/journal", json={"client_id": "n-1", "body": "Robin shares this.", "shared": True}
    )
    assert written.status_code == 201
    robins = written.json["id"]
    oldest = _shared_entry_ids(app, pat.id)
    auth.login("therapist@demo.test")
    assert "(4 unread)" in client.get("/therapist/").text
    response = client.get(f"/therapist/entries/next-unread?patient={newcomer_id}")
    assert response.headers["Location"] == f"/therapist/entries/{robins}"
    response = client.get("/therapist/entries/next-unread")
    assert response.headers["Location"] == f"/therapist/entries/{oldest[0]}"
    for entry_id in [robins, *oldest]:
        page = client.get(f"/therapist/entries/{entry_id}").text
    assert "No other unread entries" in page
    response = client.get("/therapist/entries/next-unread?patient=junk")
    assert response.headers["Location"] == "/therapist/"
    assert "you have read everything" in client.get("/therapist/").text


def test_entry_page_shows_the_sessions_intention_and_audits_it(app, client, auth, people):
    """An entry about a session shows that session's intention (decrypted), recorded as an
    intention.read of that session."""
    patient_id = people["patient@demo.test"].id
    with app.app_context():
        entry = db.session.scalars(
            select(JournalEntry).where(
                JournalEntry.patient_id == patient_id,
                JournalEntry.shared,
                JournalEntry.session_id.is_not(None),
            )
        ).first()
        assert entry is not None and entry.session.intention
        entry_id, session_id, intention = entry.id, entry.session_id, entry.session.intention
    auth.login("therapist@demo.test")
    page = client.get(f"/therapist/entries/{entry_id}").text
    assert "intention for that session" in page
    assert re.search(r'<blockquote class="intention" dir="auto">([^<]*)</blockquote>', page)
    assert intention.replace("'", "&#39;") in page
    reads = _actions(app, "intention.read")
    assert [(e.subject_type, e.subject_id, e.patient_id) for e in reads] == [
        ("session", session_id, patient_id)
    ]
    assert intention not in (reads[0].detail or "")


def test_alert_details_name_the_score_the_answer_and_the_contact(app, client, auth, people, api_as):
    """A PHQ-9 with item 9 above 0: the card says PHQ-9, the score, item 9's words and the
    answer, and how to reach the patient (no phone on record: the e-mail); audited."""
    patient = people["patient@demo.test"]
    answered = api_as(patient.email).post(
        "/api/v1/measures", json={"instrument": "phq9", "answers": PHQ9_ITEM9}
    )
    assert answered.status_code == 201
    auth.login("therapist@demo.test")
    for url in ("/therapist/", f"/therapist/patients/{patient.id}"):
        page = client.get(url).text
        card = page[page.index('class="alert-card') :]
        card = card[: card.index("</article>")]
        assert "PHQ-9: score <strong>10</strong> of 27 (Moderate)" in card
        assert ITEM9_TEXT in card
        assert "<strong>More than half the days</strong>" in card
        assert "No phone number on record" in card
        assert f'href="mailto:{patient.email}"' in card
    events = [e for e in _actions(app, "measures.read") if e.detail == "alert"]
    assert len(events) == 2 and {e.patient_id for e in events} == {patient.id}


def test_alert_without_its_answers_says_so(app, client, auth, people):
    """An alert whose check-in cannot be found shows that, not someone else's answers."""
    from kap.models import Alert, AlertKind

    patient = people["patient@demo.test"]
    with app.app_context():
        db.session.add(
            Alert(clinic_id=patient.clinic_id, patient_id=patient.id, kind=AlertKind.PHQ9_ITEM9)
        )
        db.session.commit()
    auth.login("therapist@demo.test")
    page = client.get("/therapist/").text
    assert "The answers behind this alert were not found" in page
    assert ITEM9_TEXT not in page


def test_call_staff_alert_names_the_session(app, client, auth, people):
    """A Call staff alert says which booked session it came from, and the contact."""
    from kap.models import Alert, AlertKind, TreatmentSession

    patient = people["patient@demo.test"]
    with app.app_context():
        session = db.session.scalars(
            select(TreatmentSession).where(TreatmentSession.patient_id == patient.id)
        ).first()
        assert session is not None
        db.session.add(
            Alert(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                session_id=session.id,
                kind=AlertKind.CALL_STAFF,
            )
        )
        db.session.commit()
        booked = session.scheduled_at.isoformat().replace("+00:00", "")
    auth.login("therapist@demo.test")
    page = client.get("/therapist/").text
    card = page[page.index('class="alert-card') :]
    card = card[: card.index("</article>")]
    assert "<dt>Session</dt>" in card and f'datetime="{booked}' in card
    assert "<dt>Check-in</dt>" not in card
    assert f'href="mailto:{patient.email}"' in card


def test_alert_details_cost_the_same_statements_for_one_alert_or_many(
    app, client, auth, people, api_as
):
    """The answers behind every open alert are read in one statement, not one per alert."""
    from sqlalchemy import event

    patient = people["patient@demo.test"]
    phone = api_as(patient.email)

    def dashboard_statements() -> int:
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/therapist/").status_code == 200
        finally:
            with app.app_context():
                event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    auth.login("therapist@demo.test")
    phone.post("/api/v1/measures", json={"instrument": "phq9", "answers": PHQ9_ITEM9})
    dashboard_statements()  # warm: the first request also loads the clinic's definitions
    one = dashboard_statements()
    for _ in range(2):
        phone.post("/api/v1/measures", json={"instrument": "phq9", "answers": PHQ9_ITEM9})
    page = client.get("/therapist/").text
    assert page.count("Answer that raised it") == 3
    assert dashboard_statements() == one
