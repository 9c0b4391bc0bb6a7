"""Signed consent: versions, signing bound to the text's hash, scoping, pages and the start gate."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from kap.extensions import db
from kap.models import AuditEvent, SessionStatus, TemplateVersion, TreatmentSession
from kap.models.consent import ConsentDocument, ConsentSignature
from kap.services.errors import Conflict, Invalid, NotFound
from kap.services.screening import consent
from kap.services.sessions import flow as session_flow
from kap.services.sessions.start_window import window_for
from tests.formscrape import form_data
from tests.helpers import user_by_email


def _audit(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def _signatures(patient_id: int) -> int:
    return db.session.scalar(select(func.count()).where(ConsentSignature.patient_id == patient_id))


def _new_version(body: str = "Version two: you may stop at any time.") -> ConsentDocument:
    admin = user_by_email("admin@demo.test")
    return consent.save_document(admin, "Consent to treatment", body).document


def _sign(patient, document: ConsentDocument, name: str | None = None):
    return consent.sign(patient, document.id, name or patient.name, True, document.sha256)


def _require_consent(version: TemplateVersion, required: bool = True) -> None:
    """Make the session's template version require consent (or not: the demo's all do)."""
    version.requires_consent = required
    db.session.commit()


# --- the demo ------------------------------------------------------------------------------


def test_demo_patient_signed_the_current_version_and_patient2_has_not(ctx, people):
    patient, patient2 = user_by_email("patient@demo.test"), user_by_email("patient2@demo.test")
    assert consent.has_signed_current(patient)
    assert consent.signature_status(patient).state == "signed"
    assert not consent.has_signed_current(patient2)
    assert consent.signature_status(patient2).state == "never"
    other = consent.current_document(user_by_email("patient@other.test"))
    demo = consent.current_document(patient)
    assert other is not None and demo is not None and other.id != demo.id
    for words in ("dissociation", "blood pressure", "bladder", "alcohol", "driv", "ride home"):
        assert words in demo.body_markdown.lower(), words


# --- signing -------------------------------------------------------------------------------


def test_signing_binds_the_version_and_the_hash_of_the_text_shown(ctx, people):
    patient2 = user_by_email("patient2@demo.test")
    document = consent.current_document(patient2)
    shown = f"{document.title}\n\n{document.body_markdown}".encode()
    assert document.sha256 == hashlib.sha256(shown).hexdigest()
    signed = _sign(patient2, document, name="  robin   LEE ")
    assert signed.created
    signature = db.session.get(ConsentSignature, signed.signature.id)
    assert signature.document_id == document.id
    assert signature.document_sha256 == document.sha256
    assert signature.agreed is True and signature.signed_at is not None
    assert signature.typed_name == "robin LEE"
    assert consent.has_signed_current(patient2)
    (event,) = _audit("consent.sign")
    assert event.patient_id == patient2.id and event.subject_id == signature.id
    assert document.sha256 in event.detail and f"version={document.version}" in event.detail
    assert "robin" not in event.detail.lower()


def test_typed_name_is_encrypted_at_rest(ctx, people):
    patient2 = user_by_email("patient2@demo.test")
    signature = _sign(patient2, consent.current_document(patient2)).signature
    stored = db.session.execute(
        text("SELECT typed_name FROM consent_signatures WHERE id = :id"), {"id": signature.id}
    ).scalar_one()
    assert "Robin" not in stored and stored


def test_a_new_version_asks_again_until_it_is_signed(ctx, people):
    patient = user_by_email("patient@demo.test")
    first = consent.current_document(patient)
    assert consent.has_signed_current(patient)
    second = _new_version()
    assert second.version == first.version + 1 and second.sha256 != first.sha256
    assert not consent.has_signed_current(patient)
    status = consent.signature_status(patient)
    assert status.state == "older" and status.needs_signing
    assert status.latest.document_id == first.id
    _sign(patient, second)
    assert consent.has_signed_current(patient)
    assert consent.signature_status(patient).state == "signed"
    assert _signatures(patient.id) == 2  # the first signature is kept


def test_versions_never_change_and_identical_text_makes_none(ctx, people):
    admin = user_by_email("admin@demo.test")
    first = consent.current_document(admin)
    kept = (first.title, first.body_markdown, first.sha256)
    again = consent.save_document(admin, first.title, first.body_markdown + "\r\n\r\n")
    assert not again.created and again.document.id == first.id
    _new_version()
    db.session.refresh(first)
    assert (first.title, first.body_markdown, first.sha256) == kept
    assert [row.document.version for row in consent.documents_of(admin)] == [2, 1]
    (saved,) = _audit("consent.document_save")
    assert "version=2" in saved.detail and saved.patient_id is None


def test_a_stale_hash_or_an_older_version_is_refused(ctx, people):
    patient2 = user_by_email("patient2@demo.test")
    shown = consent.current_document(patient2)
    with pytest.raises(Conflict) as stale:
        consent.sign(patient2, shown.id, patient2.name, True, "0" * 64)
    assert stale.value.code == "consent_changed"
    newer = _new_version()
    with pytest.raises(Conflict) as replaced:  # the text changed under the patient
        consent.sign(patient2, shown.id, patient2.name, True, shown.sha256)
    assert replaced.value.code == "consent_changed"
    with pytest.raises(Conflict):  # the new id with the old hash
        consent.sign(patient2, newer.id, patient2.name, True, shown.sha256)
    assert _signatures(patient2.id) == 0
    assert _audit("consent.sign") == []


def test_another_clinics_document_is_not_found(ctx, people):
    patient2 = user_by_email("patient2@demo.test")
    foreign = consent.current_document(user_by_email("patient@other.test"))
    with pytest.raises(NotFound):
        consent.sign(patient2, foreign.id, patient2.name, True, foreign.sha256)
    assert _signatures(patient2.id) == 0


@pytest.mark.parametrize(
    ("name", "agreed", "field"),
    [
        ("", True, "typed_name"),
        ("   ", True, "typed_name"),
        ("R" * 201, True, "typed_name"),
        ("Somebody Else", True, "typed_name"),
        ("Robin", True, "typed_name"),
        ("Robin Lee", False, "agreed"),
    ],
)
def test_a_signature_needs_the_patients_own_name_and_the_tick(ctx, people, name, agreed, field):
    patient2 = user_by_email("patient2@demo.test")
    document = consent.current_document(patient2)
    with pytest.raises(Invalid) as refused:
        consent.sign(patient2, document.id, name, agreed, document.sha256)
    assert field in refused.value.fields
    assert _signatures(patient2.id) == 0


def test_signing_twice_keeps_one_signature(ctx, people):
    patient2 = user_by_email("patient2@demo.test")
    document = consent.current_document(patient2)
    first = _sign(patient2, document)
    second = _sign(patient2, document)
    assert first.created and not second.created
    assert second.signature.id == first.signature.id
    assert _signatures(patient2.id) == 1
    assert len(_audit("consent.sign")) == 1


def test_only_patients_sign_and_only_admins_write_documents(ctx, people):
    therapist = user_by_email("therapist@demo.test")
    document = consent.current_document(therapist)
    with pytest.raises(NotFound):
        consent.sign(therapist, document.id, therapist.name, True, document.sha256)
    with pytest.raises(NotFound):
        consent.save_document(therapist, "Mine", "Text")
    with pytest.raises(NotFound):
        consent.documents_of(user_by_email("patient@demo.test"))


def test_an_edit_based_on_an_old_version_is_refused(ctx, people):
    admin = user_by_email("admin@demo.test")
    _new_version()
    with pytest.raises(Conflict) as stale:
        consent.save_document(admin, "Consent", "My edit of version 1", based_on=1)
    assert stale.value.code == "stale"
    assert consent.save_document(admin, "Consent", "My edit", based_on=2).document.version == 3


def test_an_empty_document_is_refused_with_field_messages(ctx, people):
    admin = user_by_email("admin@demo.test")
    with pytest.raises(Invalid) as refused:
        consent.save_document(admin, "  ", "\n\n")
    assert set(refused.value.fields) == {"title", "body_markdown"}


# --- clinicians and the signed copy ----------------------------------------------------------


def test_the_care_team_and_admin_read_signatures_others_get_not_found(ctx, people):
    patient = user_by_email("patient@demo.test")
    for email in ("therapist@demo.test", "admin@demo.test"):
        seen = consent.signatures_of(user_by_email(email), patient.id)
        assert seen.status.state == "signed" and len(seen.status.signatures) == 1
    for email in ("therapist2@demo.test", "therapist@other.test", "admin@other.test"):
        with pytest.raises(NotFound):
            consent.signatures_of(user_by_email(email), patient.id)
    with pytest.raises(NotFound):
        consent.signatures_of(user_by_email("patient2@demo.test"), patient.id)
    reads = _audit("consent.read")
    assert len(reads) == 2 and {r.patient_id for r in reads} == {patient.id}


def test_signed_copy_is_the_exact_text_then_the_signature(ctx, people):
    patient = user_by_email("patient@demo.test")
    signature = consent.signature_status(patient).signed_current
    document = signature.document
    copy = consent.signed_copy(patient, signature.id)
    canonical = f"{document.title}\n\n{document.body_markdown}".encode()
    assert copy.text.encode().startswith(canonical)
    assert hashlib.sha256(copy.text.encode()[: len(canonical)]).hexdigest() == document.sha256
    block = copy.text[len(canonical.decode()) :]
    assert f"the first {len(canonical)} bytes of this file" in block
    assert f"Signed by (typed name): {signature.typed_name}" in block
    utc = signature.signed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"Signed at (UTC): {utc}" in block
    assert "(America/New_York)" in block
    assert f"consent version {document.version}" in block and document.sha256 in block
    assert copy.filename.startswith(f"consent-v{document.version}-signed-")
    (event,) = _audit("consent.copy")
    assert event.actor_id == patient.id and signature.typed_name not in event.detail


def test_signed_copy_scoping(ctx, people):
    patient = user_by_email("patient@demo.test")
    signature_id = consent.signature_status(patient).signed_current.id
    assert consent.signed_copy(user_by_email("therapist@demo.test"), signature_id).text
    for email in (
        "patient2@demo.test",
        "therapist2@demo.test",
        "patient@other.test",
        "therapist@other.test",
        "admin@other.test",
    ):
        with pytest.raises(NotFound):
            consent.signed_copy(user_by_email(email), signature_id)
    with pytest.raises(NotFound):
        consent.signed_copy(patient, signature_id + 1000)


# --- the start gate --------------------------------------------------------------------------


def test_a_template_requiring_consent_cannot_start_until_it_is_signed(ctx, people, session_id):
    patient = user_by_email("patient@demo.test")
    session = db.session.get(TreatmentSession, session_id)
    _require_consent(session.template_version)
    assert consent.has_signed_current(patient)
    current = _new_version()  # the clinic updates its consent: the patient must sign again
    with pytest.raises(Conflict) as refused:
        session_flow.advance_phase(patient, session.id, "session")
    assert refused.value.code == "consent_required"
    assert "consent" in refused.value.message
    _sign(patient, current)
    with pytest.raises(Conflict) as unticked:  # the next check: required preparation items
        session_flow.advance_phase(patient, session.id, "session")
    assert unticked.value.code == "conflict"
    for item in session.template_version.checklist_items:
        if item.required:
            session_flow.set_item_checked(patient, session.id, item.id, True)
    _, changed = session_flow.advance_phase(patient, session.id, "session")
    assert changed and session.status == SessionStatus.SESSION


def test_not_today_still_comes_before_consent_required(ctx, people, session_id):
    patient = user_by_email("patient@demo.test")
    session = db.session.get(TreatmentSession, session_id)
    _require_consent(session.template_version)
    _new_version()
    tomorrow = window_for(session).closes_at + timedelta(hours=2)
    with pytest.raises(Conflict) as refused:
        session_flow.advance_phase(patient, session.id, "session", now=tomorrow)
    assert refused.value.code == "not_today"


def test_templates_that_do_not_require_consent_are_not_gated(ctx, people, session_id):
    patient = user_by_email("patient@demo.test")
    session = db.session.get(TreatmentSession, session_id)
    _require_consent(session.template_version, required=False)
    _new_version()
    assert not consent.consent_missing(session)
    with pytest.raises(Conflict) as refused:
        session_flow.advance_phase(patient, session.id, "session")
    assert refused.value.code == "conflict"  # only the unticked items


def test_phase_endpoint_answers_409_consent_required(app, people, session_id, api_as):
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        _require_consent(session.template_version)
        _new_version()
        patient = user_by_email("patient@demo.test")
        next_week = db.session.scalars(
            select(TreatmentSession.id)
            .where(
                TreatmentSession.patient_id == patient.id,
                TreatmentSession.status == SessionStatus.SCHEDULED,
                TreatmentSession.id != session_id,
            )
            .order_by(TreatmentSession.scheduled_at.desc())
        ).first()
        db.session.remove()
    api = api_as("patient@demo.test")
    answer = api.post(f"/api/v1/sessions/{session_id}/phase", json={"phase": "session"})
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "consent_required"
    later = api.post(f"/api/v1/sessions/{next_week}/phase", json={"phase": "session"})
    assert later.status_code == 409
    assert later.get_json()["error"]["code"] == "not_today"  # outside the window: that first


def test_prepare_page_says_sign_the_consent_first(app, people, session_id, page_as):
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        _require_consent(session.template_version)
        _new_version()
        db.session.remove()
    browser = page_as("patient@demo.test")
    html = browser.get(f"/patient/sessions/{session_id}").get_data(as_text=True)
    assert "Sign the consent first" in html
    assert 'href="/patient/consent"' in html
    assert 'id="start-consent" data-start-blocker' in html
    start = html[html.index("<button", html.index("data-start-form")) :]
    start = start[: start.index(">")]
    assert "disabled" in start and "start-consent" in start
    refused = browser.post(
        f"/patient/sessions/{session_id}/start",
        data=form_data(html, "/start"),
        follow_redirects=True,
    )
    assert "sign the clinic" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(TreatmentSession, session_id).status == "scheduled"


# --- pages ---------------------------------------------------------------------------------


def test_patient_reads_and_signs_on_the_consent_page(app, people, page_as):
    browser = page_as("patient2@demo.test")
    home = browser.get("/patient/").get_data(as_text=True)
    assert "Read and sign the consent" in home
    page = browser.get("/patient/consent").get_data(as_text=True)
    assert "Consent to ketamine-assisted psychotherapy" in page
    assert "<h3>What ketamine-assisted therapy is</h3>" in page
    assert ">Type your full name</label>" in page
    assert "I have read and agree to this consent" in page
    fields = form_data(page, "/patient/consent/sign")
    unticked = browser.post(
        "/patient/consent/sign", data=fields | {"typed_name": "Robin Lee"}
    )  # no tick: the name typed is kept
    assert unticked.status_code == 400
    again = unticked.get_data(as_text=True)
    assert 'value="Robin Lee"' in again and "Tick the box" in again
    signed = browser.post(
        "/patient/consent/sign",
        data=fields | {"typed_name": "Robin Lee", "agreed": "y"},
        follow_redirects=True,
    )
    html = signed.get_data(as_text=True)
    assert "You signed this consent" in html and "Download signed copy" in html
    assert "Read and sign the consent" not in browser.get("/patient/").get_data(as_text=True)
    with app.app_context():
        patient2 = user_by_email("patient2@demo.test")
        signature_id = consent.signature_status(patient2).signed_current.id
    download = browser.get(f"/patient/consent/signatures/{signature_id}/copy")
    assert download.status_code == 200
    assert download.mimetype == "text/markdown"
    assert "attachment" in download.headers["Content-Disposition"]
    assert "no-store" in download.headers["Cache-Control"]
    assert "Signed by (typed name): Robin Lee" in download.get_data(as_text=True)


def test_a_document_changed_while_reading_is_not_signed(app, people, page_as):
    browser = page_as("patient2@demo.test")
    fields = form_data(browser.get("/patient/consent").get_data(as_text=True), "/consent/sign")
    with app.app_context():
        newer = _new_version("A new text the patient has not seen.")
        newer_id = newer.id
    answer = browser.post(
        "/patient/consent/sign", data=fields | {"typed_name": "Robin Lee", "agreed": "y"}
    )
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "changed while you were reading" in html
    assert "A new text the patient has not seen." in html
    assert f'value="{newer_id}"' in html  # the form now carries the version shown
    with app.app_context():
        assert _signatures(user_by_email("patient2@demo.test").id) == 0


def test_therapist_sees_the_consent_section(app, people, page_as, patient):
    html = page_as("therapist@demo.test").get(f"/therapist/patients/{patient.id}")
    page = html.get_data(as_text=True)
    assert 'id="consent-heading">Consent' in page
    assert "<strong>Signed</strong> the current version (1)" in page
    assert "Signed copy" in page
    with app.app_context():
        _new_version()
    page = page_as("therapist@demo.test").get(f"/therapist/patients/{patient.id}")
    assert "<strong>Not signed</strong> the current version (2)" in page.get_data(as_text=True)


def test_other_therapists_cannot_download_the_copy(app, people, page_as, patient):
    with app.app_context():
        signature_id = consent.signature_status(user_by_email(patient.email)).signed_current.id
    url = f"/therapist/consent/signatures/{signature_id}/copy"
    assert page_as("therapist@demo.test").get(url).status_code == 200
    assert page_as("therapist2@demo.test").get(url).status_code == 404
    assert page_as("therapist@other.test").get(url).status_code == 404


def test_admin_writes_a_new_version_and_bad_input_keeps_the_text(app, people, page_as):
    browser = page_as("admin@demo.test")
    page = browser.get("/clinic/consent").get_data(as_text=True)
    assert "Every patient will be asked to sign again" in page
    assert "Write version 2" in page
    fields = form_data(page, "/clinic/consent")
    assert fields["based_on"] == "1"
    empty = browser.post("/clinic/consent", data=fields | {"title": "", "body_markdown": "Kept"})
    assert empty.status_code == 400
    assert "Give the document a title." in empty.get_data(as_text=True)
    assert "Kept" in empty.get_data(as_text=True)
    saved = browser.post(
        "/clinic/consent",
        data=fields | {"title": "Consent v2", "body_markdown": "# New\n\n<script>x</script>"},
        follow_redirects=True,
    )
    html = saved.get_data(as_text=True)
    assert "Saved as version 2" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    stale = browser.post(
        "/clinic/consent", data=fields | {"title": "Edit of 1", "body_markdown": "Old"}
    )
    assert stale.status_code == 409
    assert "Version 2 was saved while you were editing" in stale.get_data(as_text=True)


def test_admin_makes_a_template_require_consent_in_the_editor(app, people, page_as):
    from kap.demo.content import WALKTHROUGH
    from kap.models import SessionTemplate

    with app.app_context():
        template = db.session.scalar(
            select(SessionTemplate).where(SessionTemplate.name == WALKTHROUGH)
        )
        template_id = template.id
        _require_consent(template.current_version, required=False)  # the demo's all do
    browser = page_as("admin@demo.test")
    page = browser.get(f"/clinic/templates/{template_id}").get_data(as_text=True)
    assert "Requires a signed consent" in page
    fields = form_data(page, "/clinic/templates")
    assert "requires_consent" not in fields
    saved = browser.post(
        f"/clinic/templates/{template_id}",
        data=fields | {"requires_consent": "y", "action": "save"},
    )
    assert saved.status_code == 302
    with app.app_context():
        template = db.session.get(SessionTemplate, template_id)
        assert template.current_version.requires_consent
    page = browser.get(f"/clinic/templates/{template_id}").get_data(as_text=True)
    assert 'name="requires_consent" value="y" checked' in page
