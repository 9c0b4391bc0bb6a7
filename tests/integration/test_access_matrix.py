"""Every route, every caller: the expected outcome. A new route without a row fails the suite.

The callers are the demo patient (who owns every record whose id is in a URL below), another
patient of the same clinic, the patient's care-team therapist, a therapist of the same clinic
outside the care team, the clinic admin, the patient, therapist and admin of another clinic,
and someone signed out. Each caller walks every route in a freshly seeded app of their own,
so what one caller may legitimately change never decides another caller's outcome.

Writes send what would change the owner's data if the caller were allowed to (a comment, an
unshare, a deactivation), and every refusal is checked to have changed nothing. Every answer
is checked not to show the owner's writing, notes or identity to someone who may not see them.

CSRF is switched off here because this test is about who may reach what; the CSRF rules
have their own tests that post real forms.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from kap import create_app
from kap.config import TestConfig
from kap.demo.seed import seed_demo
from kap.extensions import db, limiter
from kap.models import (
    Alert,
    AudioFile,
    ConsentSignature,
    MeasureResponse,
    SessionTemplate,
    TreatmentSession,
    User,
)
from kap.models.reminders import CalendarFeed
from kap.services.clinic.instruments import save_questionnaire
from kap.services.journal import entries as journal
from kap.services.journal.clinical_notes import add_note
from kap.services.media import media_store
from kap.services.people.accounts import create_user
from kap.services.people.care_teams import assign_therapist
from kap.services.reminders.calendar import token_hash
from kap.services.reminders.subscriptions import save_subscription
from kap.services.screening.intake import submit as submit_intake
from kap.services.sessions.flow import set_intention
from tests.helpers import INTAKE_CHOICES, ApiClient


class NoCsrf(TestConfig):
    WTF_CSRF_ENABLED = False


@dataclass(frozen=True)
class Refused:
    """The caller may not do this. Nothing changes, and the answer depends on the reason."""

    name: str
    page: int  # the status of a page (a redirect: to the sign-in page or the caller's home)
    api: int  # the status under /api/


#: Signed out: pages send to the sign-in page, the API answers 401.
AUTH = Refused("AUTH", page=302, api=401)
#: Signed in with a role this area is not for: pages send to the caller's home, the API 403.
ROLE = Refused("ROLE", page=302, api=403)
#: A record the caller may not see: 404, exactly as for an id that does not exist.
GONE = Refused("GONE", page=404, api=404)

#: The callers (sign-in and role), in the order of the tables' columns.
CALLERS = {
    "anonymous": (None, None),
    "patient": ("patient@demo.test", "patient"),  # owns every record in the URLs
    "patient2": ("patient2@demo.test", "patient"),
    "therapist": ("therapist@demo.test", "therapist"),  # in the patient's care team
    "therapist2": ("therapist2@demo.test", "therapist"),  # same clinic, not in the team
    "admin": ("admin@demo.test", "clinic_admin"),
    "other_patient": ("patient@other.test", "patient"),
    "other_therapist": ("therapist@other.test", "therapist"),
    "other_admin": ("admin@other.test", "clinic_admin"),
}

HOMES = {"patient": "/patient/", "therapist": "/therapist/", "clinic_admin": "/clinic/"}


def _parse(table: str) -> dict[tuple[str, str], dict[str, int | Refused]]:
    """``endpoint method cell…`` lines (``#`` starts a comment) into a lookup per caller."""
    words = {refusal.name: refusal for refusal in (AUTH, ROLE, GONE)}
    rows = {}
    for line in table.splitlines():
        line = line.split("#", 1)[0].split()
        if not line:
            continue
        endpoint, method, *cells = line
        assert len(cells) == len(CALLERS), f"{endpoint} {method}: one cell per caller"
        assert (endpoint, method) not in rows, f"{endpoint} {method}: two rows"
        rows[endpoint, method] = {
            caller: words[cell] if cell in words else int(cell)
            for caller, cell in zip(CALLERS, cells, strict=True)
        }
    return rows


# Ids in URLs are the demo patient's records (or their clinic's): see _plant below.
#
# Columns: signed out | the patient | another patient, same clinic | the care-team therapist |
# a therapist of the same clinic outside the care team | the clinic admin | the patient,
# therapist and admin of another clinic.
MATRIX = _parse("""
# endpoint                 method  anon  pat   pat2  ther  ther2 admin o.pat o.thr o.adm
auth.index                  GET    AUTH  302   302   302   302   302   302   302   302
auth.sign_in                GET    200   302   302   302   302   302   302   302   302
auth.sign_in                POST   400   400   400   400   400   400   400   400   400
auth.sign_out               POST   AUTH  302   302   302   302   302   302   302   302
auth.accept_invitation      GET    404   404   404   404   404   404   404   404   404  # made up
auth.accept_invitation      POST   404   404   404   404   404   404   404   404   404
auth.enter_code             GET    AUTH  302   302   302   302   302   302   302   302
auth.enter_code             POST   AUTH  302   302   302   302   302   302   302   302
auth.enter_recovery_code    GET    AUTH  302   302   302   302   302   302   302   302
auth.enter_recovery_code    POST   AUTH  302   302   302   302   302   302   302   302
auth.account_security       GET    AUTH  200   200   200   200   200   200   200   200
auth.set_up_second_factor   GET    AUTH  200   200   200   200   200   200   200   200
auth.set_up_second_factor   POST   AUTH  400   400   400   400   400   400   400   400
auth.recovery_codes         GET    AUTH  302   302   302   302   302   302   302   302
auth.new_recovery_codes     POST   AUTH  400   400   400   400   400   400   400   400
auth.turn_off_second_factor POST   AUTH  400   400   400   400   400   400   400   400
auth.change_password        POST   AUTH  400   400   400   400   400   400   400   400
patient.home                GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.crisis_support      GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.prepare             GET    AUTH  200   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.save_checklist      POST   AUTH  302   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.save_intention      POST   AUTH  302   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.start_session       POST   AUTH  302   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.change_phase        POST   AUTH  302   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.call_staff          POST   AUTH  302   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.session_mode        GET    AUTH  302   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.session_prompts     GET    AUTH  200   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.integration         GET    AUTH  302   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.journal_list        GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.new_entry           GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.new_entry           POST   AUTH  302   302   ROLE  ROLE  ROLE  302   ROLE  ROLE
patient.edit_entry          GET    AUTH  200   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.edit_entry          POST   AUTH  302   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.set_sharing         POST   AUTH  302   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.delete_entry        GET    AUTH  200   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.delete_entry        POST   AUTH  302   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.reply               POST   AUTH  302   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.checkins            GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.checkin_form        GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.checkin_form        POST   AUTH  302   302   ROLE  ROLE  ROLE  302   ROLE  ROLE
patient.checkin_result      GET    AUTH  200   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.my_data             GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.export_json         GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.export_page         GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.export_fhir         GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.ask_for_deletion    POST   AUTH  302   302   ROLE  ROLE  ROLE  302   ROLE  ROLE
patient.consent_page        GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.sign_consent        POST   AUTH  302   400   ROLE  ROLE  ROLE  GONE  ROLE  ROLE  # name
patient.consent_copy        GET    AUTH  200   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.intake              GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.intake              POST   AUTH  302   302   ROLE  ROLE  ROLE  302   ROLE  ROLE
patient.reminders           GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
patient.reminders           POST   AUTH  302   302   ROLE  ROLE  ROLE  302   ROLE  ROLE  # own
patient.ride                GET    AUTH  200   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.confirm_ride_home   POST   AUTH  302   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
patient.turn_on_calendar    POST   AUTH  302   302   ROLE  ROLE  ROLE  302   ROLE  ROLE  # own link
patient.stop_calendar       POST   AUTH  302   302   ROLE  ROLE  ROLE  302   ROLE  ROLE
therapist.dashboard         GET    AUTH  ROLE  ROLE  200   200   ROLE  ROLE  200   ROLE
therapist.patient           GET    AUTH  ROLE  ROLE  200   GONE  ROLE  ROLE  GONE  ROLE
therapist.measures_csv      GET    AUTH  ROLE  ROLE  200   GONE  ROLE  ROLE  GONE  ROLE
therapist.fhir_record       GET    AUTH  ROLE  ROLE  200   GONE  ROLE  ROLE  GONE  ROLE
therapist.entry             GET    AUTH  ROLE  ROLE  200   GONE  ROLE  ROLE  GONE  ROLE
therapist.comment           POST   AUTH  ROLE  ROLE  302   GONE  ROLE  ROLE  GONE  ROLE
therapist.mark_entry_read    POST   AUTH  ROLE  ROLE  302   GONE  ROLE  ROLE  GONE  ROLE
therapist.mark_entry_unread  POST   AUTH  ROLE  ROLE  302   GONE  ROLE  ROLE  GONE  ROLE
# The next unread entry of the caller's own patients (the dashboard when there is none).
therapist.next_unread        GET    AUTH  ROLE  ROLE  302   302   ROLE  ROLE  302   ROLE
therapist.add_clinical_note POST   AUTH  ROLE  ROLE  302   GONE  ROLE  ROLE  GONE  ROLE
therapist.acknowledge       POST   AUTH  ROLE  ROLE  302   GONE  ROLE  ROLE  GONE  ROLE
therapist.resolve           POST   AUTH  ROLE  ROLE  302   GONE  ROLE  ROLE  GONE  ROLE
therapist.consent_copy      GET    AUTH  ROLE  ROLE  200   GONE  ROLE  ROLE  GONE  ROLE
therapist.intake            GET    AUTH  ROLE  ROLE  200   GONE  ROLE  ROLE  GONE  ROLE
therapist.decide_intake     POST   AUTH  ROLE  ROLE  302   GONE  ROLE  ROLE  GONE  ROLE
clinic.home                 GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
clinic.templates            GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
clinic.new_template         GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
clinic.new_template         POST   AUTH  ROLE  ROLE  ROLE  ROLE  400   ROLE  ROLE  400
clinic.edit_template        GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  GONE
clinic.edit_template        POST   AUTH  ROLE  ROLE  ROLE  ROLE  409   ROLE  ROLE  GONE  # no rev.
clinic.archive              POST   AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  GONE
clinic.restore              POST   AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  GONE
clinic.questionnaires       GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
clinic.new_questionnaire    GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
clinic.new_questionnaire    POST   AUTH  ROLE  ROLE  ROLE  ROLE  400   ROLE  ROLE  400  # empty
clinic.edit_questionnaire   GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  GONE
clinic.edit_questionnaire   POST   AUTH  ROLE  ROLE  ROLE  ROLE  400   ROLE  ROLE  GONE  # empty
clinic.archive_questionnaire POST  AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  GONE
clinic.restore_questionnaire POST  AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  GONE
clinic.audio_library        GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
clinic.audio_library        POST   AUTH  ROLE  ROLE  ROLE  ROLE  400   ROLE  ROLE  400
clinic.upload_recording     POST   AUTH  ROLE  ROLE  ROLE  ROLE  400   ROLE  ROLE  400
clinic.people               GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
clinic.add_person           GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
clinic.add_person           POST   AUTH  ROLE  ROLE  ROLE  ROLE  400   ROLE  ROLE  400
clinic.person               GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  GONE
clinic.set_care_team        POST   AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  GONE
clinic.deactivate           POST   AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  GONE
clinic.reactivate           POST   AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  GONE
clinic.reissue_invitation   POST   AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  GONE
clinic.delete_data          POST   AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  GONE
clinic.schedule_course      POST   AUTH  ROLE  ROLE  ROLE  ROLE  400   ROLE  ROLE  GONE  # empty
clinic.add_booster          POST   AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  GONE
clinic.reschedule_session   POST   AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  GONE
clinic.cancel_session       POST   AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  GONE
clinic.settings             GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
clinic.settings             POST   AUTH  ROLE  ROLE  ROLE  ROLE  400   ROLE  ROLE  400
clinic.audit_log            GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
clinic.audit_csv            GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
clinic.consent_documents    GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
clinic.consent_documents    POST   AUTH  ROLE  ROLE  ROLE  ROLE  302   ROLE  ROLE  302  # own
# The board is the whole clinic's floor, care team or not (kap/services/board/today.py).
board.index                 GET    AUTH  ROLE  ROLE  200   200   200   ROLE  200   200
board.rows                  GET    AUTH  ROLE  ROLE  200   200   200   ROLE  200   200
board.check_in_patient      POST   AUTH  ROLE  ROLE  409   409   409   ROLE  GONE  GONE  # no vitals
board.record_administration POST   AUTH  ROLE  ROLE  302   302   302   ROLE  GONE  GONE
board.record_vitals         POST   AUTH  ROLE  ROLE  302   302   302   ROLE  GONE  GONE
board.record_check          POST   AUTH  ROLE  ROLE  302   302   302   ROLE  GONE  GONE  # dosed
board.discharge             POST   AUTH  ROLE  ROLE  409   409   409   ROLE  GONE  GONE  # too soon
board.acknowledge_alert     POST   AUTH  ROLE  ROLE  302   302   302   ROLE  GONE  GONE
board.resolve_alert         POST   AUTH  ROLE  ROLE  302   302   302   ROLE  GONE  GONE
board.summary               GET    AUTH  ROLE  ROLE  200   200   200   ROLE  GONE  GONE
board.summary_pdf           GET    AUTH  ROLE  ROLE  200   200   200   ROLE  GONE  GONE
board.reopen_discharge      POST   AUTH  ROLE  ROLE  409   409   409   ROLE  GONE  GONE  # not out
main.audio                  GET    AUTH  200   200   200   200   200   GONE  GONE  GONE
api.create_session          POST   400   400   400   400   400   400   400   400   400  # no body
api.delete_session          DELETE AUTH  200   200   200   200   200   200   200   200
api.me                      GET    AUTH  200   200   200   200   200   200   200   200
api.list_sessions           GET    AUTH  200   200   200   200   200   200   200   200
api.get_session             GET    AUTH  200   GONE  200   GONE  200   GONE  GONE  GONE
api.session_calls           GET    AUTH  200   GONE  200   GONE  200   GONE  GONE  GONE
api.put_checklist_item      PUT    AUTH  200   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
api.put_intention           PUT    AUTH  200   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
api.post_phase              POST   AUTH  409   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE  # not today
api.post_call_staff         POST   AUTH  201   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
api.post_administration     POST   AUTH  ROLE  ROLE  201   201   201   ROLE  GONE  GONE
api.post_check              POST   AUTH  ROLE  ROLE  201   201   201   ROLE  GONE  GONE
api.list_journal            GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
api.create_journal_entry    POST   AUTH  201   201   ROLE  ROLE  ROLE  201   ROLE  ROLE
api.update_journal_entry    PATCH  AUTH  200   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
api.delete_journal_entry    DELETE AUTH  200   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
api.create_comment          POST   AUTH  201   GONE  201   GONE  ROLE  GONE  GONE  ROLE
api.list_patients           GET    AUTH  ROLE  ROLE  200   200   200   ROLE  200   200
api.get_patient             GET    AUTH  ROLE  ROLE  200   GONE  200   ROLE  GONE  GONE
api.patient_journal         GET    AUTH  ROLE  ROLE  200   GONE  ROLE  ROLE  GONE  ROLE
api.create_measure          POST   AUTH  201   201   ROLE  ROLE  ROLE  201   ROLE  ROLE
api.list_measures           GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
api.list_instruments        GET    AUTH  200   200   200   200   200   200   200   200
api.get_reminders           GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
api.put_reminders           PUT    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE  # own
api.patient_measures        GET    AUTH  ROLE  ROLE  200   GONE  200   ROLE  GONE  GONE
# The FHIR record: the patient and the care team; not the clinic admin (fhir_export.py).
api.my_fhir                 GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE
api.patient_fhir            GET    AUTH  ROLE  ROLE  200   GONE  ROLE  ROLE  GONE  ROLE
api.list_alerts             GET    AUTH  ROLE  ROLE  200   200   200   ROLE  200   200
api.post_discharge          POST   AUTH  ROLE  ROLE  409   409   409   ROLE  GONE  GONE  # too soon
api.post_discharge_reopen   POST   AUTH  ROLE  ROLE  409   409   409   ROLE  GONE  GONE  # not out
api.list_audit_events       GET    AUTH  ROLE  ROLE  ROLE  ROLE  200   ROLE  ROLE  200
# This device's push subscription: any signed-in user saves their own; only theirs is deleted.
api.save_push_subscription  POST   AUTH  201   201   201   201   201   201   201   201
api.delete_push_subscription DELETE AUTH 200   GONE  GONE  GONE  GONE  GONE  GONE  GONE
api.get_calendar            GET    AUTH  200   200   ROLE  ROLE  ROLE  200   ROLE  ROLE  # own link
api.delete_calendar         DELETE AUTH  204   204   ROLE  ROLE  ROLE  204   ROLE  ROLE
api.put_ride                PUT    AUTH  200   GONE  ROLE  ROLE  ROLE  GONE  ROLE  ROLE
api.openapi_json            GET    200   200   200   200   200   200   200   200   200
main.healthz                GET    200   200   200   200   200   200   200   200   200
main.readyz                 GET    200   200   200   200   200   200   200   200   200
# Prometheus' metrics: only with KAP_METRICS_TOKEN as a bearer token, which no session carries.
main.metrics                GET    404   404   404   404   404   404   404   404   404
# The app shell: no patient data (offline pages are filled in on the phone).
pwa.service_worker          GET    200   200   200   200   200   200   200   200   200
pwa.manifest                GET    200   200   200   200   200   200   200   200   200
pwa.offline                 GET    200   200   200   200   200   200   200   200   200
pwa.shell                   GET    200   200   200   200   200   200   200   200   200
main.favicon                GET    301   301   301   301   301   301   301   301   301
# The private calendar feed: no sign-in; a made-up secret is 404 for everyone.
main.calendar_feed          GET    404   404   404   404   404   404   404   404   404
""")

#: The feed with a real secret: whoever holds the URL reads it, with a cookie or without.
CALENDAR_FEED_MATRIX = _parse("""
# endpoint                 method  anon  pat   pat2  ther  ther2 admin o.pat o.thr o.adm
main.calendar_feed          GET    200   200   200   200   200   200   200   200   200
""")

#: The same routes with the id of the patient's private entry: only the patient has it.
PRIVATE_ENTRY_MATRIX = _parse("""
# endpoint                 method  anon  pat   pat2  ther  ther2 admin o.pat o.thr o.adm
therapist.entry             GET    AUTH  ROLE  ROLE  GONE  GONE  ROLE  ROLE  GONE  ROLE
therapist.comment           POST   AUTH  ROLE  ROLE  GONE  GONE  ROLE  ROLE  GONE  ROLE
therapist.mark_entry_read    POST   AUTH  ROLE  ROLE  GONE  GONE  ROLE  ROLE  GONE  ROLE
therapist.mark_entry_unread  POST   AUTH  ROLE  ROLE  GONE  GONE  ROLE  ROLE  GONE  ROLE
api.create_comment          POST   AUTH  201   GONE  GONE  GONE  ROLE  GONE  GONE  ROLE
""")

#: Routes that change their record get one of their own, so route order never matters.
SAMPLE_OVERRIDES = {
    "patient.delete_entry": {"entry_id": "spare_entry_id"},
    "api.delete_journal_entry": {"entry_id": "other_spare_entry_id"},
    "patient.start_session": {"session_id": "phase_session_id"},
    "patient.change_phase": {"session_id": "phase_session_id"},
    "patient.call_staff": {"session_id": "phase_session_id"},
    "api.post_phase": {"session_id": "phase_session_id"},
    "api.post_call_staff": {"session_id": "phase_session_id"},
    "clinic.reschedule_session": {"session_id": "spare_session_id"},
    "clinic.cancel_session": {"session_id": "spare_session_id"},
    # pre-dose readings: on a session nobody doses (today's is dosed by the dose routes)
    "board.record_vitals": {"session_id": "undosed_session_id"},
    "api.post_check": {"session_id": "undosed_session_id"},
    "clinic.archive": {"template_id": "spare_template_id"},
    "clinic.restore": {"template_id": "spare_template_id"},
    "clinic.delete_data": {"user_id": "leaving_patient_id"},
    "therapist.resolve": {"alert_id": "resolve_alert_id"},
    "board.resolve_alert": {"alert_id": "board_resolve_alert_id"},
}

#: Each table, with the samples its URLs use instead of the usual ones.
TABLES = {
    "": (MATRIX, {}),
    "private entry": (PRIVATE_ENTRY_MATRIX, {"entry_id": "private_entry_id"}),
    "calendar feed": (CALENDAR_FEED_MATRIX, {"token": "calendar_token"}),
}

#: Ids that travel in the query string.
QUERIES = {("patient.checkin_result", "GET"): {"id": "measure_id"}}


#: A browser's push key (a P-256 point) for the push subscription rows.
MATRIX_P256DH = (
    "BNqRRlt4Bf0HDZEE293wFET4g4mtnJ_KWgPVqDjcsN1r7JbkoU6VzwdGsJM_MR0goYAwxghoCRsLakw1LJhbNqY"
)

#: What each write sends: a change to the owner's data, were the caller allowed to make it
#: (form fields for pages, JSON under /api/; a callable receives the samples). Other writes
#: send nothing.
PAYLOADS = {
    ("patient.save_checklist", "POST"): lambda s: {"item": s["item_ids"]},
    ("patient.save_intention", "POST"): {"text": "An intention from the access matrix."},
    ("patient.change_phase", "POST"): {"phase": "session"},
    ("patient.new_entry", "POST"): {"body": "Written by the access matrix.", "client_id": "m-1"},
    ("patient.edit_entry", "POST"): {"body": "Edited by the access matrix.", "shared": "y"},
    ("patient.set_sharing", "POST"): {"shared": "n"},
    ("patient.reply", "POST"): {"body": "A reply from the access matrix."},
    ("patient.checkin_form", "POST"): {f"q{n}": "0" for n in range(1, 10)},
    ("patient.intake", "POST"): {
        **{f"intake-{item}": "0" for item in INTAKE_CHOICES},
        "intake-medications": "Written by the access matrix.",
        **{f"auditc-{n}": "0" for n in (1, 2, 3)},
    },
    ("therapist.decide_intake", "POST"): {"decision": "cleared"},
    ("therapist.comment", "POST"): {"body": "A comment from the access matrix."},
    ("therapist.add_clinical_note", "POST"): {"body": "A note from the access matrix."},
    ("therapist.resolve", "POST"): {"note": "Called the patient back."},
    ("clinic.set_care_team", "POST"): {},  # nobody ticked: the patient would lose their team
    ("clinic.delete_data", "POST"): {"confirm": "DELETE"},
    ("clinic.add_booster", "POST"): lambda s: {
        "booster-template_id": s["template_id"],
        "booster-day": "2031-03-04",
        "booster-clock": "10:00",
    },
    ("clinic.reschedule_session", "POST"): {"day": "2031-03-05", "clock": "11:00"},
    ("clinic.cancel_session", "POST"): {"reason": "Cancelled by the access matrix."},
    ("board.record_vitals", "POST"): {
        "kind": "pre_dose",
        "systolic": "120",
        "diastolic": "80",
        "heart_rate": "70",
    },
    ("board.record_check", "POST"): {"note": "Resting."},
    ("board.resolve_alert", "POST"): {"note": "Sat with the patient."},
    ("board.check_in_patient", "POST"): {"photo_id_checked": "y"},
    ("board.record_administration", "POST"): {
        "medication": "Ketamine",
        "route": "iv",
        "dose": "35",
        "unit": "mg",
    },
    ("board.discharge", "POST"): {
        "driver": "Matrix driver",
        "override_reason": "Discharged by the access matrix.",
        "step": "confirm",
        "seen_patient": "y",
    },
    ("board.reopen_discharge", "POST"): {"reason": "Reopened by the access matrix."},
    ("api.post_discharge", "POST"): {
        "driver": "Matrix driver",
        "override_reason": "Discharged by the access matrix.",
    },
    ("api.post_discharge_reopen", "POST"): {"reason": "Reopened by the access matrix."},
    ("api.put_checklist_item", "PUT"): {"checked": True},
    ("api.put_intention", "PUT"): {"text": "An intention sent to the API."},
    ("api.post_phase", "POST"): {"phase": "session"},
    ("api.post_call_staff", "POST"): {"client_id": "matrix-call"},
    ("api.post_administration", "POST"): {
        "medication": "Ketamine",
        "route": "iv",
        "dose": 35,
        "unit": "mg",
    },
    ("api.post_check", "POST"): {
        "kind": "pre_dose",
        "systolic": 120,
        "diastolic": 80,
        "heart_rate": 70,
    },
    ("api.create_journal_entry", "POST"): {"client_id": "m-2", "body": "Sent to the API."},
    ("api.update_journal_entry", "PATCH"): {"body": "Edited over the API.", "shared": False},
    ("api.create_comment", "POST"): {"body": "A comment sent to the API."},
    ("api.create_measure", "POST"): {"instrument": "gad7", "answers": [0] * 7},
    ("api.put_reminders", "PUT"): {"channels": {"push": False, "email": True}},
    ("api.save_push_subscription", "POST"): {
        "endpoint": "https://fcm.googleapis.com/fcm/send/matrix-device",
        "keys": {"p256dh": MATRIX_P256DH, "auth": "AxWOZ8do-RQg8QeahlpiRA"},
    },
    ("patient.confirm_ride_home", "POST"): {"driver": "Matrix driver"},
    ("api.put_ride", "PUT"): {"driver": "Matrix driver"},
    # The owner signed this version already (a repeat changes nothing); the name is theirs
    # typed in lower case, so no other caller's page can show the owner's name.
    ("patient.sign_consent", "POST"): lambda s: {
        "document_id": s["consent_document_id"],
        "shown_sha256": s["consent_sha256"],
        "typed_name": OWNER_NAME.lower(),
        "agreed": "y",
    },
    ("clinic.consent_documents", "POST"): {
        "title": "Consent from the access matrix",
        "body_markdown": "Written by the access matrix.",
    },
}

# Text planted in the owner's records, and the callers who may ever be shown it.
PRIVATE_TEXT = "Matrix canary: a private entry"
SHARED_TEXT = "Matrix canary: a shared entry"
NOTE_TEXT = "Matrix canary: a clinical note"
INTENTION_TEXT = "Matrix canary: an intention"
ROOM_TEXT = "Matrix canary room"
INTAKE_TEXT = "Matrix canary: a medication"
OWNER_NAME = "Pat Jordan"
OWNER_EMAIL = "patient@demo.test"
CANARIES = {
    PRIVATE_TEXT: {"patient"},
    SHARED_TEXT: {"patient", "therapist"},
    NOTE_TEXT: {"therapist"},
    INTENTION_TEXT: {"patient", "therapist"},  # "Your care team can read it."
    INTAKE_TEXT: {"patient", "therapist"},  # the patient: in their own data export
    ROOM_TEXT: {"patient", "therapist", "admin"},
    OWNER_NAME: {"patient", "therapist", "admin"},
    OWNER_EMAIL: {"patient", "therapist", "admin"},
}
#: The session board shows the whole clinic's sessions (name, room, phase, vitals) to all of
#: its therapists, by design (kap/services/board/today.py), so a colleague outside the care team
#: sees these there.
ON_THE_BOARD = {ROOM_TEXT, OWNER_NAME}

#: Tables that change on every request (sessions) or record the attempt itself (audit).
UNTRACKED = {"audit_events", "auth_sessions"}


@dataclass
class World:
    """One seeded app, in which one caller walks every route."""

    app: Flask
    samples: dict[str, object]

    @classmethod
    def build(cls, media_dir: Path) -> World:
        app = create_app(NoCsrf())
        app.config["MEDIA_DIR"] = str(media_dir)
        with app.app_context():
            db.drop_all()
            db.create_all()
            limiter.reset()
            seed_demo()
            samples = _plant()
            db.session.remove()
        return cls(app, samples)

    def close(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()

    def state(self) -> list:
        """Every tracked row, to compare before and after a refused request."""
        with self.app.app_context():
            rows = [
                db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
                for table in db.metadata.sorted_tables
                if table.name not in UNTRACKED
            ]
            db.session.remove()
        return rows

    def url(self, endpoint: str, method: str, table: str) -> str:
        """The route's URL with the ids of the samples ``table`` says it uses."""
        rule = next(self.app.url_map.iter_rules(endpoint))
        names = (
            {name: name for name in rule.arguments}
            | SAMPLE_OVERRIDES.get(endpoint, {})
            | {k: v for k, v in TABLES[table][1].items() if k in rule.arguments}
        )
        missing = set(names.values()) - self.samples.keys()
        assert not missing, f"add a sample value for {missing} in {endpoint}"
        url = rule.build({name: self.samples[names[name]] for name in rule.arguments})[1]
        query = {k: self.samples[v] for k, v in QUERIES.get((endpoint, method), {}).items()}
        return f"{url}?{urlencode(query)}" if query else url


def _plant() -> dict[str, object]:
    """Records of the demo patient and clinic for the URLs, with the canaries in them."""
    owner = db.session.scalar(select(User).where(User.email == "patient@demo.test"))
    therapist = db.session.scalar(select(User).where(User.email == "therapist@demo.test"))
    today, phase_session, spare_session = db.session.scalars(
        select(TreatmentSession)
        .where(TreatmentSession.patient_id == owner.id, TreatmentSession.status == "scheduled")
        .order_by(TreatmentSession.scheduled_at)
    ).all()[:3]
    undosed_session = TreatmentSession(
        clinic_id=owner.clinic_id,
        patient_id=owner.id,
        template_version_id=spare_session.template_version_id,
        scheduled_at=spare_session.scheduled_at + timedelta(days=30),
    )
    db.session.add(undosed_session)
    db.session.flush()
    templates = db.session.scalars(
        select(SessionTemplate)
        .where(SessionTemplate.clinic_id == owner.clinic_id)
        .order_by(SessionTemplate.id)
    ).all()
    today.location_label = ROOM_TEXT
    set_intention(owner, today.id, INTENTION_TEXT)
    entries = [
        journal.create_entry(owner, f"matrix-{n}", {"body": body, "shared": shared})[0].id
        for n, (body, shared) in enumerate(
            [
                (SHARED_TEXT, True),
                ("A shared entry to delete.", True),
                ("Another shared entry to delete.", True),
                (PRIVATE_TEXT, False),
            ]
        )
    ]
    add_note(therapist, owner.id, NOTE_TEXT)
    intake = submit_intake(
        owner,
        {
            "intake": {item: 0 for item in INTAKE_CHOICES} | {"medications": INTAKE_TEXT},
            "auditc": [0, 0, 0],
        },
    )
    admin = db.session.scalar(select(User).where(User.email == "admin@demo.test"))
    questionnaire = save_questionnaire(
        admin,
        definition={
            "code": "matrix_check",
            "name": "Matrix check",
            "items": [{"id": "1", "text": "Anything?", "kind": "text"}],
        },
    )
    leaving = create_user(
        owner.clinic, email="leaving@demo.test", name="Lee Leaving", role="patient"
    )
    assign_therapist(leaving, therapist)
    # A feed of a patient no caller is (a caller's own walk revokes theirs).
    subscriber = create_user(
        owner.clinic, email="subscriber@demo.test", name="Sue Scriber", role="patient"
    )
    calendar_token = secrets.token_urlsafe(32)
    feed = CalendarFeed(
        user_id=subscriber.id, clinic_id=subscriber.clinic_id, token_hash=token_hash(calendar_token)
    )
    feed.token = calendar_token
    db.session.add(feed)
    media_store().put("sample.wav", io.BytesIO(b"RIFF....WAVE"))
    audio = AudioFile(
        clinic_id=owner.clinic_id,
        original_name="sample.wav",
        content_type="audio/wav",
        size_bytes=12,
        duration_seconds=1.0,
        storage_name="sample.wav",
        sha256="0" * 64,
    )
    alerts = [
        Alert(clinic_id=owner.clinic_id, patient_id=owner.id, kind="call_staff") for _ in range(3)
    ]
    db.session.add_all([audio, *alerts])
    db.session.commit()
    push_subscription, _ = save_subscription(
        owner,
        endpoint="https://fcm.googleapis.com/fcm/send/matrix-owner",
        p256dh=MATRIX_P256DH,
        auth="AxWOZ8do-RQg8QeahlpiRA",
    )
    items = today.template_version.checklist_items
    signature = db.session.scalar(
        select(ConsentSignature).where(ConsentSignature.patient_id == owner.id)
    )
    return {
        "alert_id": alerts[0].id,
        "resolve_alert_id": alerts[1].id,
        "board_resolve_alert_id": alerts[2].id,
        "audio_id": audio.id,
        "entry_id": entries[0],
        "spare_entry_id": entries[1],
        "other_spare_entry_id": entries[2],
        "private_entry_id": entries[3],
        "item_id": items[0].id,
        "item_ids": [item.id for item in items],
        "intake_id": intake.id,
        "measure_id": db.session.scalar(
            select(MeasureResponse.id).where(MeasureResponse.patient_id == owner.id).limit(1)
        ),
        "patient_id": owner.id,
        "user_id": owner.id,
        "leaving_patient_id": leaving.id,
        "session_id": today.id,
        "phase_session_id": phase_session.id,
        "spare_session_id": spare_session.id,
        "undosed_session_id": undosed_session.id,
        "template_id": templates[0].id,
        "spare_template_id": templates[1].id,
        "subscription_id": push_subscription.id,
        "signature_id": signature.id,
        "consent_document_id": signature.document_id,
        "consent_sha256": signature.document_sha256,
        "instrument": "phq9",
        "code": questionnaire.code,
        "page": "home",
        "token": "not-a-real-invitation-token",
        "calendar_token": calendar_token,
    }


@pytest.fixture(scope="module")
def world_of(tmp_path_factory):
    """The caller's world, seeded on first use. One at a time: a shared database server (see
    KAP_TEST_DATABASE_URL) holds one."""
    current: dict[str, World] = {}

    def world_of(caller: str) -> World:
        if caller not in current:
            for world in current.values():
                world.close()
            current.clear()
            current[caller] = World.build(tmp_path_factory.mktemp(caller) / "media")
        return current[caller]

    yield world_of
    for world in current.values():
        world.close()


def _send(world: World, caller: str, endpoint: str, method: str, table: str):
    """The request, as ``caller`` in a client of its own; returns the URL and the response."""
    email = CALLERS[caller][0]
    client = ApiClient.signed_in(world.app, email).client if email else world.app.test_client()
    url = world.url(endpoint, method, table)
    payload = PAYLOADS.get((endpoint, method))
    if callable(payload):
        payload = payload(world.samples)
    if payload is None:
        return url, client.open(url, method=method)
    body = {"json": payload} if url.startswith("/api/") else {"data": payload}
    return url, client.open(url, method=method, **body)


def _refusal_problems(response, url: str, refused: Refused, caller: str) -> list[str]:
    """What is wrong with a refusal: its status, or where a refused page sends the caller."""
    status = refused.api if url.startswith("/api/") else refused.page
    if response.status_code != status:
        return [f"{response.status_code}, expected {status} ({refused.name})"]
    if status != 302:
        return []
    location = urlsplit(response.headers["Location"]).path
    expected = "/signin" if refused is AUTH else HOMES[CALLERS[caller][1]]
    return [] if location == expected else [f"sent to {location}, expected {expected}"]


def _leaks(response, caller: str, endpoint: str) -> list[str]:
    """The canaries in the answer that ``caller`` may not be shown."""
    body = response.get_data()
    return [
        f"shows {text!r}"
        for text, allowed in CANARIES.items()
        if caller not in allowed
        and not (caller == "therapist2" and endpoint.startswith("board.") and text in ON_THE_BOARD)
        and text.encode() in body
    ]


#: Headers every response carries exactly once (kap/web/headers.py appends them).
ONCE_EACH = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "Cross-Origin-Opener-Policy",
    "Cross-Origin-Resource-Policy",
    "X-Frame-Options",
)


def _header_problems(response) -> list[str]:
    """Security headers missing or sent twice (a view that set one as well)."""
    counts = {name: len(response.headers.getlist(name)) for name in ONCE_EACH}
    return [f"{name} sent {count} times" for name, count in counts.items() if count != 1]


CASES = [
    pytest.param(
        caller, endpoint, method, table, id="-".join([caller, endpoint, method, *table.split()])
    )
    for caller in CALLERS  # caller by caller: each world is seeded once
    for table, (rows, _) in TABLES.items()
    for endpoint, method in rows
]


@pytest.mark.parametrize(("caller", "endpoint", "method", "table"), CASES)
def test_caller_gets_the_expected_answer(world_of, caller, endpoint, method, table):
    """The table's answer; a refusal changes nothing; nobody is shown what is not theirs."""
    world = world_of(caller)
    expected = TABLES[table][0][endpoint, method][caller]
    refused = isinstance(expected, Refused)
    before = world.state() if refused else None
    url, response = _send(world, caller, endpoint, method, table)
    if refused:
        problems = _refusal_problems(response, url, expected, caller)
        if world.state() != before:
            problems.append("a refused request changed the database")
    elif response.status_code != expected:
        problems = [f"{response.status_code}, expected {expected}"]
    else:
        problems = []
    problems += _leaks(response, caller, endpoint)
    problems += _header_problems(response)
    assert not problems, f"{method} {url} as {caller}: " + "; ".join(problems)


def _routes(app: Flask):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_has_a_row():
    """Each (endpoint, method) in the app has an expected answer for every caller."""
    routes = {(rule.endpoint, method) for rule, method in _routes(create_app(NoCsrf()))}
    missing = routes - MATRIX.keys()
    stale = (MATRIX.keys() | PRIVATE_ENTRY_MATRIX.keys() | CALENDAR_FEED_MATRIX.keys()) - routes
    assert not missing, f"routes without an access-matrix row: {sorted(missing)}"
    assert not stale, f"access-matrix rows for routes that no longer exist: {sorted(stale)}"


def test_every_id_in_a_url_is_hidden_from_someone():
    """A route taking a record's id answers 404 to a caller who may not see the record."""
    for rule, method in _routes(create_app(NoCsrf())):
        if any(name.endswith("_id") for name in rule.arguments):
            assert GONE in MATRIX[rule.endpoint, method].values(), (rule.endpoint, method)
