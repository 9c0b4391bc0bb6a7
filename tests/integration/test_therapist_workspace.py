"""Therapist dashboard, a patient's timeline, shared entries, clinical notes, alerts, audit."""

from __future__ import annotations

from sqlalchemy import select, text, update

from kap.extensions import db
from kap.models import Alert, AlertKind, AuditEvent, ClinicalNote, JournalEntry
from kap.services import audit
from kap.services.people.workspace import dashboard_rows
from kap.services.unit_of_work import unit_of_work
from tests.formscrape import form_data
from tests.helpers import user_by_email


def _alert(app, patient_id, clinic_id, kind=AlertKind.CALL_STAFF):
    with app.app_context():
        alert = Alert(clinic_id=clinic_id, patient_id=patient_id, kind=kind)
        db.session.add(alert)
        db.session.commit()
        return alert.id


def test_dashboard_lists_only_the_care_list(client, auth, people):
    """therapist@demo.test sees Pat Jordan and not Robin Lee (therapist2's patient)."""
    auth.login("therapist@demo.test")
    page = client.get("/therapist/").text
    assert "Pat Jordan" in page and "Robin Lee" not in page


def test_dashboard_puts_open_alerts_first_then_unread(ctx, people):
    """Needs attention: a patient with an open alert sorts above one with unread entries."""
    therapist = user_by_email("therapist@demo.test")
    newcomer = user_by_email("patient2@demo.test")
    from kap.services.people.care_teams import assign_therapist
    from kap.services.screening.intake import decide, latest_intake

    # The demo leaves Robin's intake waiting with a review alert: decided first, so the one
    # open alert is the one added here.
    robins_therapist = user_by_email("therapist2@demo.test")
    decide(robins_therapist, latest_intake(newcomer).id, "cleared", "", patient_id=newcomer.id)
    assign_therapist(newcomer, therapist)
    db.session.add(
        Alert(clinic_id=newcomer.clinic_id, patient_id=newcomer.id, kind=AlertKind.PHQ9_ITEM9)
    )
    db.session.commit()
    rows = dashboard_rows(therapist)
    assert [r.patient.email for r in rows] == ["patient2@demo.test", "patient@demo.test"]
    assert rows[0].open_alerts == 1
    assert rows[1].unread_entries == 3  # the demo's shared entries, none opened yet


def test_a_care_team_row_naming_someone_not_a_patient_adds_nothing(ctx, people):
    """The dashboard reads sessions, answers and unread entries by the care list, but keeps
    only the patients ``patients_visible_to`` lists: a care-team row naming a colleague (the
    services never write one, the database allows it; here it is written straight to the
    table, with rows of theirs in the patients' tables) adds no line, and none of their
    facts reach anyone else's line."""
    from datetime import UTC, datetime, timedelta

    from kap.models import CareTeamMember, MeasureResponse, SessionStatus
    from kap.models import TreatmentSession as Session

    therapist = user_by_email("therapist@demo.test")
    colleague = user_by_email("therapist2@demo.test")
    before = {row.patient.email: row for row in dashboard_rows(therapist)}
    ours = db.session.scalar(select(Session).limit(1))  # any of the demo's: its template
    clinic_id = therapist.clinic_id
    db.session.add_all(
        [
            CareTeamMember(patient_id=colleague.id, therapist_id=therapist.id, clinic_id=clinic_id),
            Session(
                clinic_id=clinic_id,
                patient_id=colleague.id,
                template_version_id=ours.template_version_id,
                scheduled_at=datetime.now(UTC) + timedelta(hours=1),
                status=SessionStatus.SCHEDULED,
            ),
            MeasureResponse(
                clinic_id=clinic_id,
                patient_id=colleague.id,
                instrument="phq9",
                answers=[3] * 9,
                score=27,
            ),
            JournalEntry(
                clinic_id=clinic_id, patient_id=colleague.id, client_id="c-1", shared=True
            ),
        ]
    )
    db.session.commit()
    rows = dashboard_rows(therapist)
    assert [row.patient.email for row in rows] == list(before)
    for row in rows:
        was = before[row.patient.email]
        assert (row.next_session_at, row.latest_phq9, row.unread_entries, row.open_alerts) == (
            was.next_session_at,
            was.latest_phq9,
            was.unread_entries,
            was.open_alerts,
        )


def test_dashboard_query_count_does_not_grow_with_patients(ctx, people):
    """The dashboard runs a fixed number of queries whatever the care list size."""
    from sqlalchemy import event

    from kap.services.people.accounts import create_user
    from kap.services.people.care_teams import assign_therapist

    therapist = user_by_email("therapist@demo.test")

    def count_queries():
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            db.session.expire_all()
            dashboard_rows(user_by_email("therapist@demo.test"))
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    before = count_queries()
    for n in range(12):
        patient = create_user(
            therapist.clinic, email=f"p{n}@demo.test", name=f"P {n}", role="patient"
        )
        assign_therapist(patient, therapist)
    db.session.commit()
    assert count_queries() == before


def test_timeline_shows_sessions_entries_and_is_audited(app, client, auth, people):
    """Opening a patient shows their course and shared entries, and records an audited read."""
    auth.login("therapist@demo.test")
    patient_id = people["patient@demo.test"].id
    page = client.get(f"/therapist/patients/{patient_id}").text
    assert "To understand why I keep pulling away" in page  # an intention
    assert "grandmother" in page  # a shared entry
    assert "angry at my brother" not in page  # a private one
    assert page.count("<strong>Unread</strong>") == 3
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.view"))
        assert event.patient_id == patient_id
        assert event.actor_id == people["therapist@demo.test"].id


def test_timeline_pages_shared_entries_newest_first(api_as, client, auth, people):
    """A long-shared journal: the timeline shows 20 shared entries a page, newest first."""
    writer = api_as("patient@demo.test")
    for number in range(30):
        body = {"client_id": f"shared-{number}", "body": f"shared no. {number:02d}", "shared": True}
        response = writer.post("/api/v1/journal", json=body)
        assert response.status_code == 201
    auth.login("therapist@demo.test")
    url = f"/therapist/patients/{people['patient@demo.test'].id}"
    first = client.get(url).text
    assert first.count('class="entry-list__item') == 20
    assert "shared no. 29" in first and "shared no. 09" not in first
    assert f'rel="next" href="{url}?page=2"' in first
    second = client.get(f"{url}?page=2").text
    assert "shared no. 09" in second and "shared no. 29" not in second


def test_opening_an_entry_marks_it_read_and_audits_it(app, client, auth, people):
    """The entry page shows the full text and thread; afterwards it is no longer unread."""
    auth.login("therapist@demo.test")
    patient_id = people["patient@demo.test"].id
    with app.app_context():
        entry_id = db.session.scalar(
            select(JournalEntry.id).where(JournalEntry.shared).order_by(JournalEntry.id)
        )
    page = client.get(f"/therapist/entries/{entry_id}").text
    assert "yellow light" in page and "Yes, I&#39;d like that." in page
    timeline = client.get(f"/therapist/patients/{patient_id}").text
    assert timeline.count("<strong>Unread</strong>") == 2
    with app.app_context():
        assert db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "entry.read", AuditEvent.subject_id == entry_id
            )
        )


def test_private_and_other_peoples_entries_are_not_found(app, client, auth, people):
    """A private entry, or a colleague's patient's entry, answers 404 to the therapist."""
    with app.app_context():
        private_id = db.session.scalar(
            select(JournalEntry.id).where(JournalEntry.shared.is_(False))
        )
        shared_id = db.session.scalar(select(JournalEntry.id).where(JournalEntry.shared))
    auth.login("therapist@demo.test")
    assert client.get(f"/therapist/entries/{private_id}").status_code == 404
    auth.logout()
    auth.login("therapist2@demo.test")
    assert client.get(f"/therapist/entries/{shared_id}").status_code == 404
    assert client.get(f"/therapist/patients/{people['patient@demo.test'].id}").status_code == 404


def test_therapist_comments_and_the_patient_sees_it(app, client, auth, people):
    """A therapist's comment appears under the patient's entry in their journal."""
    with app.app_context():
        entry_id = db.session.scalar(select(JournalEntry.id).where(JournalEntry.shared))
    auth.login("therapist@demo.test")
    page = client.get(f"/therapist/entries/{entry_id}").text
    data = form_data(page, "/comments")
    data["body"] = "I noticed the word 'edges'. Let's stay with it."
    assert client.post(f"/therapist/entries/{entry_id}/comments", data=data).status_code == 302
    auth.logout()
    auth.login("patient@demo.test")
    assert "I noticed the word &#39;edges&#39;" in client.get("/patient/journal").text


def test_clinical_notes_stay_with_the_care_team(app, client, auth, people):
    """Notes are saved for the care team; a colleague outside it cannot add or see them."""
    patient_id = people["patient@demo.test"].id
    auth.login("therapist@demo.test")
    page = client.get(f"/therapist/patients/{patient_id}").text
    data = form_data(page, "/notes")
    data["body"] = "Discussed sleep; consider earlier session time."
    assert client.post(f"/therapist/patients/{patient_id}/notes", data=data).status_code == 302
    assert "consider earlier session time" in client.get(f"/therapist/patients/{patient_id}").text
    auth.logout()
    auth.login("patient@demo.test")
    for url in ("/patient/", "/patient/journal", "/api/v1/journal"):
        assert "consider earlier session time" not in client.get(url).text
    auth.logout()
    auth.login("therapist2@demo.test")
    token = form_data(client.get("/therapist/").text, "/signout")["csrf_token"]
    response = client.post(
        f"/therapist/patients/{patient_id}/notes",
        data={"csrf_token": token, "body": "Not my patient"},
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ClinicalNote)) == 1


def test_alert_is_acknowledged_then_resolved_with_a_note(app, client, auth, people):
    """Acknowledge marks it seen; resolving needs a note and removes it from the dashboard."""
    patient = people["patient@demo.test"]
    alert_id = _alert(app, patient.id, patient.clinic_id, AlertKind.PHQ9_ITEM9)
    auth.login("therapist@demo.test")
    page = client.get("/therapist/").text
    assert "PHQ-9 item 9 answered above 0" in page
    client.post(
        f"/therapist/alerts/{alert_id}/acknowledge",
        data=form_data(page, f"/alerts/{alert_id}/acknowledge"),
    )
    page = client.get("/therapist/").text
    empty = form_data(page, f"/alerts/{alert_id}/resolve")
    client.post(f"/therapist/alerts/{alert_id}/resolve", data={**empty, "note": " "})
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        assert alert.acknowledged_by_id == people["therapist@demo.test"].id
        assert alert.resolved_at is None
    client.post(
        f"/therapist/alerts/{alert_id}/resolve",
        data={**empty, "note": "Called the patient; safe, plan agreed."},
    )
    assert "PHQ-9 item 9 answered above 0" not in client.get("/therapist/").text
    with app.app_context():
        assert db.session.get(Alert, alert_id).resolution_note.startswith("Called the patient")


def test_alert_of_a_colleagues_patient_cannot_be_touched(app, client, auth, people):
    """therapist2 cannot acknowledge an alert about therapist@demo.test's patient (404)."""
    patient = people["patient@demo.test"]
    alert_id = _alert(app, patient.id, patient.clinic_id)
    auth.login("therapist2@demo.test")
    token = form_data(client.get("/therapist/").text, "/signout")["csrf_token"]
    assert (
        client.post(
            f"/therapist/alerts/{alert_id}/acknowledge", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_acknowledge_never_redirects_off_site(app, client, auth, people):
    """A forged `back` field cannot send the therapist to another host."""
    patient = people["patient@demo.test"]
    alert_id = _alert(app, patient.id, patient.clinic_id)
    auth.login("therapist@demo.test")
    token = form_data(client.get("/therapist/").text, "/signout")["csrf_token"]
    response = client.post(
        f"/therapist/alerts/{alert_id}/acknowledge",
        data={"csrf_token": token, "back": "https://evil.example/"},
    )
    assert response.headers["Location"] == "/therapist/"


def test_audit_chain_verifies_and_catches_a_changed_or_removed_row(app, people):
    """audit-verify passes on an honest log and fails when a row is edited or deleted."""
    runner = app.test_cli_runner()
    with app.app_context():
        therapist = user_by_email("therapist@demo.test")
        with unit_of_work():
            events = [
                audit.record(
                    "patient.view", actor=therapist, subject_type="user", subject_id=n, patient_id=n
                )
                for n in range(1, 4)
            ]
        ids = [e.id for e in events]
    assert runner.invoke(args=["audit-verify"]).exit_code == 0
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(subject_id=99))
        db.session.commit()
    changed = runner.invoke(args=["audit-verify"])
    assert changed.exit_code == 1 and f"row {ids[1]}" in changed.output
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(subject_id=2))
        db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[0]})
        db.session.commit()
    removed = runner.invoke(args=["audit-verify"])
    assert removed.exit_code == 1 and f"row {ids[1]}" in removed.output


def test_audit_rows_hold_no_journal_text(app, client, auth, people):
    """Reading and commenting leave ids and action names in the log, never the words."""
    auth.login("therapist@demo.test")
    with app.app_context():
        entry_id = db.session.scalar(select(JournalEntry.id).where(JournalEntry.shared))
    page = client.get(f"/therapist/entries/{entry_id}").text
    data = form_data(page, "/comments")
    data["body"] = "A very particular phrase 7731"
    client.post(f"/therapist/entries/{entry_id}/comments", data=data)
    with app.app_context():
        for event in db.session.scalars(select(AuditEvent)):
            assert "7731" not in (event.detail or "")
            assert "grandmother" not in (event.detail or "")
