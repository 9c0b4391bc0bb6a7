"""Every admin change leaves exactly one audit row, and the audit page names people."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text

from kap.extensions import db
from kap.models import AuditEvent, TreatmentSession, User
from kap.services import audit
from kap.services.clinic.templates import (
    archive_template,
    draft_from_version,
    get_template_for,
    save_template,
)
from kap.services.errors import Conflict
from kap.services.people.invitations import invite_person
from kap.services.sessions.scheduling import add_booster
from kap.services.unit_of_work import unit_of_work
from kap.timezones import to_local
from tests.formscrape import form_data
from tests.helpers import csrf_from, demo_template, user_by_email

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "tone.wav"
IV = "IV infusion (40 minutes of music)"


def _in_two_months() -> str:
    return (datetime.now(UTC).date() + timedelta(days=60)).isoformat()


@dataclass
class Change:
    """An admin change made through its page: where it posts, what, and the row it leaves."""

    url: str
    data: dict
    action: str
    subject_type: str
    subject_id: Callable[[], int]  # read after the change (new records get their id then)
    patient_id: int | None = None
    detail: str = ""  # a part the row's detail must contain


def _token(client, page: str) -> str:
    return csrf_from(client.get(page).text)


def _template_create(client, people):
    data = form_data(client.get("/clinic/templates/new").text, "/templates/new")
    data["name"] = "Audited template"
    return Change(
        "/clinic/templates/new",
        data,
        "template.create",
        "template",
        lambda: demo_template("Audited template").id,
        detail="version=1",
    )


def _template_version(client, people):
    template_id = demo_template(IV).id
    page = client.get(f"/clinic/templates/{template_id}").text
    data = form_data(page, f"/templates/{template_id}")
    return Change(
        f"/clinic/templates/{template_id}",
        data,
        "template.version",
        "template",
        lambda: template_id,
        detail="version=2",
    )


def _template_archive(client, people):
    template_id = demo_template(IV).id
    return Change(
        f"/clinic/templates/{template_id}/archive",
        {"csrf_token": _token(client, "/clinic/templates")},
        "template.archive",
        "template",
        lambda: template_id,
    )


def _template_restore(client, people):
    admin = user_by_email("admin@demo.test")
    template = demo_template(IV)
    template_id = template.id
    archive_template(admin, template)
    return Change(
        f"/clinic/templates/{template_id}/restore",
        {"csrf_token": _token(client, "/clinic/templates")},
        "template.restore",
        "template",
        lambda: template_id,
    )


def _audio_upload(client, people):
    return Change(
        "/clinic/audio",
        {
            "csrf_token": _token(client, "/clinic/audio"),
            "upload": (io.BytesIO(AUDIO.read_bytes()), "tone.wav"),
        },
        "audio.upload",
        "audio_file",
        lambda: db.session.scalar(select(func.max(AuditEvent.subject_id))),
        detail="format=wav",
    )


def _session_schedule(client, people):
    patient = people["patient2@demo.test"]
    data = form_data(client.get(f"/clinic/people/{patient.id}").text, "/courses")
    data.update(pattern="custom", custom_dates=f"{_in_two_months()} 15:00")
    return Change(
        f"/clinic/people/{patient.id}/courses",
        data,
        "session.schedule",
        "course",
        lambda: db.session.scalar(select(func.max(TreatmentSession.course_id))),
        patient_id=patient.id,
        detail="sessions=1",
    )


def _session_booster(client, people):
    patient = people["patient2@demo.test"]
    data = form_data(client.get(f"/clinic/people/{patient.id}").text, "/boosters")
    data.update({"booster-day": _in_two_months(), "booster-clock": "15:00"})
    return Change(
        f"/clinic/people/{patient.id}/boosters",
        data,
        "session.booster",
        "session",
        lambda: db.session.scalar(select(func.max(TreatmentSession.id))),
        patient_id=patient.id,
    )


def _patient2_first_session() -> TreatmentSession:
    patient = user_by_email("patient2@demo.test")
    return db.session.scalar(
        select(TreatmentSession)
        .where(TreatmentSession.patient_id == patient.id)
        .order_by(TreatmentSession.scheduled_at)
        .limit(1)
    )


def _session_reschedule(client, people):
    session = _patient2_first_session()
    session_id, patient_id = session.id, session.patient_id
    old = to_local(session.scheduled_at, "America/New_York")
    return Change(
        f"/clinic/sessions/{session_id}/reschedule",
        {
            "csrf_token": _token(client, "/clinic/people"),
            "day": _in_two_months(),
            "clock": "16:45",
        },
        "session.reschedule",
        "session",
        lambda: session_id,
        patient_id=patient_id,
        detail=f"from={old:%Y-%m-%d %H:%M}; to={_in_two_months()} 16:45",
    )


def _session_cancel(client, people):
    session = _patient2_first_session()
    session_id, patient_id = session.id, session.patient_id
    return Change(
        f"/clinic/sessions/{session_id}/cancel",
        {"csrf_token": _token(client, "/clinic/people"), "reason": "Flu, private words"},
        "session.cancel",
        "session",
        lambda: session_id,
        patient_id=patient_id,
    )


def _person_invite(client, people):
    data = form_data(client.get("/clinic/people/new").text, "/people/new")
    data.update(name="Jo Newcomer", email="jo.newcomer@demo.test", role="therapist")
    return Change(
        "/clinic/people/new",
        data,
        "person.invite",
        "user",
        lambda: user_by_email("jo.newcomer@demo.test").id,
        detail="role=therapist",
    )


def _invitation_reissue(client, people):
    admin = user_by_email("admin@demo.test")
    issued = invite_person(
        admin, name="Lee Later", email="lee.later@demo.test", role="patient", link_for=str
    )
    user_id = issued.user.id
    return Change(
        f"/clinic/people/{user_id}/invitation",
        {"csrf_token": _token(client, "/clinic/people")},
        "invitation.reissue",
        "user",
        lambda: user_id,
        patient_id=user_id,
    )


def _care_team_update(client, people):
    patient = people["patient@demo.test"]
    therapist2 = people["therapist2@demo.test"].id
    data = form_data(client.get(f"/clinic/people/{patient.id}").text, "/care-team")
    data["therapists"] = [str(people["therapist@demo.test"].id), str(therapist2)]
    return Change(
        f"/clinic/people/{patient.id}/care-team",
        data,
        "care_team.update",
        "user",
        lambda: patient.id,
        patient_id=patient.id,
        detail=f"added={therapist2}; removed=-",
    )


def _person_deactivate(client, people):
    therapist = people["therapist2@demo.test"]
    return Change(
        f"/clinic/people/{therapist.id}/deactivate",
        {"csrf_token": _token(client, "/clinic/people")},
        "person.deactivate",
        "user",
        lambda: therapist.id,
    )


def _person_reactivate(client, people):
    patient = people["patient2@demo.test"]
    user_by_email("patient2@demo.test").active = False
    db.session.commit()
    return Change(
        f"/clinic/people/{patient.id}/reactivate",
        {"csrf_token": _token(client, "/clinic/people")},
        "person.reactivate",
        "user",
        lambda: patient.id,
        patient_id=patient.id,
    )


CHANGES = {
    "template.create": _template_create,
    "template.version": _template_version,
    "template.archive": _template_archive,
    "template.restore": _template_restore,
    "audio.upload": _audio_upload,
    "session.schedule": _session_schedule,
    "session.booster": _session_booster,
    "session.reschedule": _session_reschedule,
    "session.cancel": _session_cancel,
    "person.invite": _person_invite,
    "invitation.reissue": _invitation_reissue,
    "care_team.update": _care_team_update,
    "person.deactivate": _person_deactivate,
    "person.reactivate": _person_reactivate,
}


@pytest.mark.parametrize("name", CHANGES)
def test_each_admin_change_leaves_exactly_one_audit_row(app, client, auth, people, name):
    """The change through its page adds one row: this admin, this action, this subject."""
    auth.login("admin@demo.test")
    admin = people["admin@demo.test"]
    with app.app_context():
        change = CHANGES[name](client, people)
        before = db.session.scalar(select(func.max(AuditEvent.id)))
    response = client.post(change.url, data=change.data)
    assert response.status_code == 302, response.text[:2000]
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id)
        ).all()
        assert [(r.action, r.actor_id, r.clinic_id) for r in rows] == [
            (change.action, admin.id, admin.clinic_id)
        ]
        row = rows[0]
        assert (row.subject_type, row.subject_id) == (change.subject_type, change.subject_id())
        assert row.patient_id == change.patient_id
        assert change.detail in row.detail
        assert row.ip_address  # from the request, as for every page write
        assert "private words" not in row.detail  # typed reasons never reach the log
        assert not list(audit.verify_chain())


def test_accepting_an_invitation_is_audited_as_the_person(app, client, people):
    """The invited person setting their password leaves one row with them as the actor."""
    with app.app_context():
        issued = invite_person(
            user_by_email("admin@demo.test"),
            name="Ari Invited",
            email="ari@demo.test",
            role="patient",
            link_for=str,
        )
        token, user_id = issued.token, issued.user.id
        before = db.session.scalar(select(func.max(AuditEvent.id)))
    page = client.get(f"/invite/{token}").text
    data = {"csrf_token": csrf_from(page)}
    data.update(password="a long new passphrase 42", confirm="a long new passphrase 42")
    assert client.post(f"/invite/{token}", data=data).status_code == 302
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.subject_id).where(
                AuditEvent.id > before, AuditEvent.action == "invitation.accept"
            )
        ).all()
    assert rows == [("invitation.accept", user_id, user_id)]


def test_saving_a_care_team_unchanged_records_nothing(app, client, auth, people):
    """No change, no row: the log lists changes, not button presses."""
    auth.login("admin@demo.test")
    patient = people["patient@demo.test"]
    data = form_data(client.get(f"/clinic/people/{patient.id}").text, "/care-team")
    with app.app_context():
        before = db.session.scalar(select(func.max(AuditEvent.id)))
    client.post(f"/clinic/people/{patient.id}/care-team", data=data)
    with app.app_context():
        assert db.session.scalar(select(func.max(AuditEvent.id))) == before


# --- the audit page --------------------------------------------------------------------------


def _booster_for_patient2(app, days: int = 60) -> int:
    with app.app_context():
        session = add_booster(
            user_by_email("admin@demo.test"),
            user_by_email("patient2@demo.test").id,
            demo_template(IV).id,
            datetime.now(UTC).date() + timedelta(days=days),
            time(15, 0),
        )
        return session.id


def test_audit_page_names_the_actor_the_patient_and_the_subject(app, client, auth, people):
    """Who (name and role), which patient and what, in words; no bare ids."""
    _booster_for_patient2(app)
    auth.login("admin@demo.test")
    page = client.get("/clinic/audit?action=session.booster").text
    row = page.split("<tbody>")[1].split("</tr>")[0]
    with app.app_context():
        admin = user_by_email("admin@demo.test")
        patient2 = user_by_email("patient2@demo.test")
        names = (admin.name, patient2.name)
    assert names[0] in row and "clinic admin" in row
    assert names[1] in row  # the patient column
    assert "Session " in row and IV in row  # the subject in words


def test_a_deleted_patient_shows_as_their_pseudonym(app, client, auth, people):
    """After deletion the log keeps the rows and shows the pseudonym, not the old name."""
    patient = people["patient@demo.test"]
    with app.app_context():
        user = db.session.get(User, patient.id)
        old_name = user.name
        user.name, user.deleted_at = "Deleted patient", datetime.now(UTC)
        db.session.commit()
    auth.login("admin@demo.test")
    page = client.get(f"/clinic/audit?person={patient.id}").text
    assert f"Deleted patient #{patient.id}" in page
    assert old_name not in page


def test_person_filter_shows_what_they_did_and_what_was_about_them(
    page_as, app, client, auth, people
):
    """Filtering by a patient lists events they did and events about them, nobody else's."""
    therapist = page_as("therapist@demo.test")
    therapist.get(f"/therapist/patients/{people['patient@demo.test'].id}")
    _booster_for_patient2(app)
    auth.login("admin@demo.test")
    patient2 = people["patient2@demo.test"]
    page = client.get(f"/clinic/audit?person={patient2.id}").text
    rows = page.split("<tbody>")[1]
    assert "session.booster" in rows
    assert "patient.view" not in rows  # about the other patient
    options = page.split('id="person"')[1].split("</select>")[0]
    assert f'<option value="{patient2.id}" selected>' in options
    therapist_page = client.get(f"/clinic/audit?person={people['therapist@demo.test'].id}").text
    rows = therapist_page.split("<tbody>")[1]
    assert "patient.view" in rows and "session.booster" not in rows
    csv = client.get(f"/clinic/audit.csv?person={patient2.id}").text
    assert "session.booster" in csv and "patient.view" not in csv


def test_person_filter_ignores_someone_of_another_clinic(app, client, auth, people):
    """Another clinic's person id is not a filter (nor a hint that they exist)."""
    auth.login("admin@demo.test")
    page = client.get(f"/clinic/audit?person={people['patient@other.test'].id}")
    assert page.status_code == 200 and "signin.success" in page.text
    assert client.get("/clinic/audit?person=junk").status_code == 200


def test_action_filter_offers_every_known_and_every_logged_action(app, client, auth, people):
    """Each KNOWN_ACTIONS name, and an action only found in the log, is an option."""
    with app.app_context():
        admin = user_by_email("admin@demo.test")
        with unit_of_work():
            audit.record("legacy.action_from_an_old_release", actor=admin)
    auth.login("admin@demo.test")
    page = client.get("/clinic/audit").text
    options = page.split('id="action"')[1].split("</select>")[0]
    for action in (*audit.KNOWN_ACTIONS, "legacy.action_from_an_old_release"):
        assert f"<option>{action}</option>" in options, action


def test_names_cost_the_same_statements_for_few_rows_as_for_many(app, client, auth, people):
    """Resolving names is a fixed number of statements per page, not one per row."""
    auth.login("admin@demo.test")

    def statements(url: str) -> int:
        counted = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: counted.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(counted)

    _booster_for_patient2(app)
    statements("/clinic/audit?action=session.booster")  # warm: the first request loads more
    few = statements("/clinic/audit?action=session.booster")
    for days in range(61, 66):
        _booster_for_patient2(app, days)
    with app.app_context():
        patient = user_by_email("patient@demo.test")
        template = get_template_for(user_by_email("admin@demo.test"), demo_template(IV).id)
        with unit_of_work():
            for _ in range(5):
                audit.record(
                    "template.update",
                    actor=patient,
                    subject_type="template",
                    subject_id=template.id,
                    patient_id=patient.id,
                )
    many = statements("/clinic/audit?action=session.booster")
    assert many == few
    assert statements("/clinic/audit") <= few + 4  # more kinds of subject, not more rows


def test_a_template_save_racing_another_is_a_conflict_with_no_audit_row(app, people):
    """Another save landing between read and write: Conflict (not a crash), nothing logged."""
    with app.app_context():
        template = demo_template(IV)
        draft = draft_from_version(template, template.current_version)
        before = db.session.scalar(select(func.max(AuditEvent.id)))
        db.session.execute(  # the other admin's save, committed while this one was open
            text("UPDATE session_templates SET revision = revision + 1 WHERE id = :id"),
            {"id": template.id},
        )
        with pytest.raises(Conflict):
            save_template(user_by_email("admin@demo.test"), template, draft, template.revision)
        assert db.session.scalar(select(func.max(AuditEvent.id))) == before


def test_every_subject_the_code_audits_has_a_label_and_no_label_is_orphaned():
    """The audit page words each subject_type the services write (a dose, a reply...) and
    SUBJECT_LABELS names none the code never writes."""
    import pathlib
    import re

    from kap.services.audit_log import SUBJECT_LABELS

    source = pathlib.Path(__file__).resolve().parents[2] / "kap"
    written = set()
    for path in source.rglob("*.py"):
        written |= set(re.findall(r'subject_type="([a-z_]+)"', path.read_text()))
    # bookings pass (subject_type, id) to their audit helper
    booking = (source / "services" / "sessions" / "scheduling.py").read_text()
    written |= set(re.findall(r'\("([a-z_]+)", [a-z_.]+\.id\)', booking))
    assert "medication_administration" in written and "journal_comment" in written
    assert written - set(SUBJECT_LABELS) == set()
    assert set(SUBJECT_LABELS) - written == set()
