"""Every route, every role: the expected status. A new route without a row fails this test.

CSRF is switched off here because this test is about who may reach what; the CSRF rules
have their own tests that post real forms.
"""

import pytest

from kap import create_app
from kap.config import TestConfig
from tests.conftest import Auth

ROLES = ("anonymous", "patient", "therapist", "clinic_admin")
SIGN_IN_AS = {
    "patient": "patient@demo.test",
    "therapist": "therapist@demo.test",
    "clinic_admin": "admin@demo.test",
}


def expect(anonymous, patient, therapist, clinic_admin):
    return dict(zip(ROLES, (anonymous, patient, therapist, clinic_admin), strict=True))


# (endpoint, method) -> expected status per role. Ids are the demo patient's (in reach of
# therapist@demo.test and admin@demo.test); out-of-reach ids are covered in test_tenancy.
MATRIX = {
    ("auth.index", "GET"): expect(302, 302, 302, 302),
    ("auth.sign_in", "GET"): expect(200, 302, 302, 302),
    ("auth.sign_in", "POST"): expect(400, 400, 400, 400),
    ("auth.sign_out", "POST"): expect(302, 302, 302, 302),
    ("patient.home", "GET"): expect(302, 200, 302, 302),
    ("patient.crisis_support", "GET"): expect(302, 200, 302, 302),
    ("therapist.dashboard", "GET"): expect(302, 302, 200, 302),
    ("clinic.home", "GET"): expect(302, 302, 302, 200),
    ("api.create_session", "POST"): expect(400, 400, 400, 400),
    ("api.delete_session", "DELETE"): expect(401, 200, 200, 200),
    ("api.me", "GET"): expect(401, 200, 200, 200),
    ("api.list_patients", "GET"): expect(401, 403, 200, 200),
    ("api.get_patient", "GET"): expect(401, 403, 200, 200),
    ("ops.healthz", "GET"): expect(200, 200, 200, 200),
    ("auth.accept_invitation", "GET"): expect(404, 404, 404, 404),  # a made-up token
    ("auth.accept_invitation", "POST"): expect(404, 404, 404, 404),
    ("therapist.patient", "GET"): expect(302, 302, 200, 302),
    ("therapist.entry", "GET"): expect(302, 302, 200, 302),
    ("therapist.comment", "POST"): expect(302, 302, 302, 302),
    ("therapist.add_clinical_note", "POST"): expect(302, 302, 302, 302),
    ("therapist.acknowledge", "POST"): expect(302, 302, 302, 302),
    ("therapist.resolve", "POST"): expect(302, 302, 302, 302),
    ("clinic.templates", "GET"): expect(302, 302, 302, 200),
    ("clinic.new_template", "GET"): expect(302, 302, 302, 200),
    ("clinic.new_template", "POST"): expect(302, 302, 302, 400),
    ("clinic.edit_template", "GET"): expect(302, 302, 302, 200),
    ("clinic.edit_template", "POST"): expect(302, 302, 302, 409),  # no revision: conflict
    ("clinic.archive", "POST"): expect(302, 302, 302, 302),
    ("clinic.restore", "POST"): expect(302, 302, 302, 302),
    ("clinic.audio_library", "GET"): expect(302, 302, 302, 200),
    ("clinic.audio_library", "POST"): expect(302, 302, 302, 400),
    ("clinic.people", "GET"): expect(302, 302, 302, 200),
    ("clinic.add_person", "GET"): expect(302, 302, 302, 200),
    ("clinic.add_person", "POST"): expect(302, 302, 302, 400),
    ("clinic.person", "GET"): expect(302, 302, 302, 200),
    ("clinic.set_care_team", "POST"): expect(302, 302, 302, 302),
    ("clinic.deactivate", "POST"): expect(302, 302, 302, 302),
    ("clinic.reactivate", "POST"): expect(302, 302, 302, 302),
    ("clinic.reissue_invitation", "POST"): expect(302, 302, 302, 302),
    ("clinic.schedule_course", "POST"): expect(302, 302, 302, 400),
    ("clinic.add_booster", "POST"): expect(302, 302, 302, 400),
    ("clinic.reschedule_session", "POST"): expect(302, 302, 302, 302),
    ("clinic.cancel_session", "POST"): expect(302, 302, 302, 302),
    ("clinic.settings", "GET"): expect(302, 302, 302, 200),
    ("clinic.settings", "POST"): expect(302, 302, 302, 400),
    ("media.audio", "GET"): expect(302, 200, 200, 200),
    ("patient.prepare", "GET"): expect(302, 200, 302, 302),
    ("patient.save_checklist", "POST"): expect(302, 302, 302, 302),
    ("patient.save_intention", "POST"): expect(302, 302, 302, 302),
    ("patient.start_session", "POST"): expect(302, 302, 302, 302),  # unticked: refused
    ("patient.change_phase", "POST"): expect(302, 302, 302, 302),
    ("patient.call_staff", "POST"): expect(302, 302, 302, 302),
    ("patient.integration", "GET"): expect(302, 302, 302, 302),  # not started: to prepare
    ("patient.session_mode", "GET"): expect(302, 302, 302, 302),  # not started: to prepare
    ("patient.journal_list", "GET"): expect(302, 200, 302, 302),
    ("patient.new_entry", "GET"): expect(302, 200, 302, 302),
    ("patient.new_entry", "POST"): expect(302, 400, 302, 302),
    ("patient.edit_entry", "GET"): expect(302, 200, 302, 302),
    ("patient.edit_entry", "POST"): expect(302, 400, 302, 302),
    ("patient.set_sharing", "POST"): expect(302, 302, 302, 302),
    ("patient.delete_entry", "GET"): expect(302, 200, 302, 302),
    ("patient.delete_entry", "POST"): expect(302, 302, 302, 302),
    ("patient.reply", "POST"): expect(302, 302, 302, 302),
    ("api.put_checklist_item", "PUT"): expect(401, 400, 403, 403),
    ("api.put_intention", "PUT"): expect(401, 400, 403, 403),
    ("api.post_phase", "POST"): expect(401, 400, 403, 403),
    ("api.post_call_staff", "POST"): expect(401, 400, 403, 403),
    ("api.list_journal", "GET"): expect(401, 200, 403, 403),
    ("api.create_journal_entry", "POST"): expect(401, 400, 403, 403),
    ("api.update_journal_entry", "PATCH"): expect(401, 400, 403, 403),
    ("api.delete_journal_entry", "DELETE"): expect(401, 200, 403, 403),
    ("api.create_comment", "POST"): expect(401, 400, 400, 403),
    ("api.patient_journal", "GET"): expect(401, 403, 200, 403),
    ("api.list_alerts", "GET"): expect(401, 403, 200, 200),
    ("patient.checkins", "GET"): expect(302, 200, 302, 302),
    ("patient.checkin_form", "GET"): expect(302, 200, 302, 302),
    ("patient.checkin_form", "POST"): expect(302, 400, 302, 302),
    ("patient.checkin_result", "GET"): expect(302, 302, 302, 302),  # no ?id: to check-ins
    ("therapist.measures_csv", "GET"): expect(302, 302, 200, 302),
    ("api.create_measure", "POST"): expect(401, 400, 403, 403),
    ("api.list_measures", "GET"): expect(401, 200, 403, 403),
    ("api.patient_measures", "GET"): expect(401, 403, 200, 200),
    ("api.list_audit_events", "GET"): expect(401, 403, 403, 200),
    ("clinic.audit_log", "GET"): expect(302, 302, 302, 200),
    ("clinic.audit_csv", "GET"): expect(302, 302, 302, 200),
    ("board.index", "GET"): expect(302, 302, 200, 200),
    ("board.rows", "GET"): expect(302, 302, 200, 200),
    ("board.record_vitals", "POST"): expect(302, 302, 400, 400),  # required values missing
    ("board.record_check", "POST"): expect(302, 302, 409, 409),  # session not started
    ("board.discharge", "POST"): expect(302, 302, 409, 409),  # not started, no final vitals
    ("board.acknowledge_alert", "POST"): expect(302, 302, 302, 302),
    ("board.resolve_alert", "POST"): expect(302, 302, 400, 400),  # empty note
    ("board.summary", "GET"): expect(302, 302, 200, 200),
    ("patient.my_data", "GET"): expect(302, 200, 302, 302),
    ("patient.export_json", "GET"): expect(302, 200, 302, 302),
    ("patient.export_page", "GET"): expect(302, 200, 302, 302),
    ("patient.ask_for_deletion", "POST"): expect(302, 302, 302, 302),
    ("clinic.delete_data", "POST"): expect(302, 302, 302, 302),  # no DELETE typed: refused
    ("auth.enter_code", "GET"): expect(302, 302, 302, 302),
    ("auth.enter_code", "POST"): expect(302, 302, 302, 302),
    ("auth.enter_recovery_code", "GET"): expect(302, 302, 302, 302),
    ("auth.enter_recovery_code", "POST"): expect(302, 302, 302, 302),
    ("auth.account_security", "GET"): expect(302, 200, 200, 200),
    ("auth.set_up_second_factor", "GET"): expect(302, 200, 200, 200),
    ("auth.set_up_second_factor", "POST"): expect(302, 400, 400, 400),
    ("auth.recovery_codes", "GET"): expect(302, 302, 302, 302),
    ("auth.new_recovery_codes", "POST"): expect(302, 400, 400, 400),
    ("auth.turn_off_second_factor", "POST"): expect(302, 400, 400, 400),
    ("auth.change_password", "POST"): expect(302, 400, 400, 400),
    ("api.openapi_json", "GET"): expect(200, 200, 200, 200),
    # The app shell: no patient data (offline pages are filled in on the phone).
    ("pwa.service_worker", "GET"): expect(200, 200, 200, 200),
    ("pwa.manifest", "GET"): expect(200, 200, 200, 200),
    ("pwa.offline", "GET"): expect(200, 200, 200, 200),
    ("pwa.shell", "GET"): expect(200, 200, 200, 200),
    ("api.list_sessions", "GET"): expect(401, 200, 200, 200),
    ("api.get_session", "GET"): expect(401, 200, 200, 200),
    ("favicon", "GET"): expect(301, 301, 301, 301),
}

SKIPPED_ENDPOINTS = {"static"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _samples(app, people) -> dict:
    """Ids of records in reach of the demo patient's care team and clinic admin."""
    from pathlib import Path

    from kap.extensions import db
    from kap.models import Alert, AudioFile, JournalEntry, SessionTemplate, TreatmentSession

    patient_id = people["patient@demo.test"].id
    with app.app_context():
        template = db.session.scalar(
            db.select(SessionTemplate).where(
                SessionTemplate.clinic_id == people["admin@demo.test"].clinic_id
            )
        )
        session = db.session.scalar(
            db.select(TreatmentSession).where(
                TreatmentSession.patient_id == patient_id,
                TreatmentSession.status == "scheduled",
            )
        )
        media = Path(app.config["MEDIA_DIR"])
        media.mkdir(parents=True, exist_ok=True)
        (media / "sample.wav").write_bytes(b"RIFF....WAVE")
        audio = AudioFile(
            clinic_id=template.clinic_id,
            original_name="sample.wav",
            content_type="audio/wav",
            size_bytes=12,
            duration_seconds=1.0,
            storage_name="sample.wav",
            sha256="0" * 64,
        )
        db.session.add(audio)
        alert = Alert(clinic_id=template.clinic_id, patient_id=patient_id, kind="call_staff")
        db.session.add(alert)
        db.session.commit()
        version = session.template_version
        shared = db.session.scalars(
            db.select(JournalEntry.id)
            .where(JournalEntry.patient_id == patient_id, JournalEntry.shared)
            .order_by(JournalEntry.id)
        ).all()
        return {
            "alert_id": alert.id,
            "instrument": "phq9",
            "page": "home",
            "item_id": version.checklist_items[0].id,
            "entry_id": shared[0],
            "spare_entry_id": shared[1],
            "other_spare_entry_id": shared[2],
            "patient_id": patient_id,
            "user_id": patient_id,
            "template_id": template.id,
            "session_id": session.id,
            "audio_id": audio.id,
            "token": "not-a-real-invitation-token",
        }


#: Routes that destroy their sample get one of their own, so route order never matters.
SAMPLE_OVERRIDES = {
    "patient.delete_entry": {"entry_id": "spare_entry_id"},
    "api.delete_journal_entry": {"entry_id": "other_spare_entry_id"},
}


def _url(rule, samples):
    missing = set(rule.arguments) - samples.keys()
    assert not missing, f"add a sample value for {missing} in {rule.endpoint}"
    names = {name: name for name in rule.arguments} | SAMPLE_OVERRIDES.get(rule.endpoint, {})
    return rule.build({name: samples[names[name]] for name in rule.arguments})[1]


def test_every_route_has_a_row():
    """Each (endpoint, method) in the app has an expected outcome for every role."""

    class NoCsrf(TestConfig):
        WTF_CSRF_ENABLED = False

    app = create_app(NoCsrf())
    routes = {(rule.endpoint, method) for rule, method in _routes(app)}
    missing = routes - MATRIX.keys()
    stale = MATRIX.keys() - routes
    assert not missing, f"routes without an access-matrix row: {sorted(missing)}"
    assert not stale, f"access-matrix rows for routes that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_expected_status_everywhere(app, people, role):
    """Walk every route as ``role`` and compare with the matrix."""
    app.config["WTF_CSRF_ENABLED"] = False
    samples = _samples(app, people)
    failures = []
    for rule, method in _routes(app):
        client = app.test_client()
        if role != "anonymous":
            assert Auth(client).api_login(SIGN_IN_AS[role]).status_code == 200
        url = _url(rule, samples)
        status = client.open(url, method=method).status_code
        expected = MATRIX[(rule.endpoint, method)][role]
        if status != expected:
            failures.append(f"{method} {url} as {role}: {status}, expected {expected}")
    assert not failures, "\n".join(failures)
