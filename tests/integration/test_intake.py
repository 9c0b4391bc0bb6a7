"""Screening intake: review items for the care team, the clinician's decision, and the gate
before a session (409 intake_required)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select, text

from kap.extensions import db
from kap.models import (
    Alert,
    AuditEvent,
    IntakeSubmission,
    MeasureResponse,
    SessionStatus,
    TreatmentSession,
)
from kap.services.alerts import open_alerts, resolve_alert
from kap.services.errors import Conflict, Invalid, NotFound
from kap.services.screening import intake as screening
from kap.services.sessions import flow as session_flow
from tests.formscrape import form_data
from tests.helpers import INTAKE_CHOICES, user_by_email

MEDICATIONS = "Sertraline 100 mg once a day\nIbuprofen when needed"
NOTE = "Blood pressure checked at the assessment visit: 128/82."


def answers(auditc=(0, 0, 0), **chosen) -> dict:
    """A complete intake: 'No' to every question and a medication list, unless ``chosen``."""
    intake = {item: 0 for item in INTAKE_CHOICES} | {"medications": MEDICATIONS} | chosen
    return {"intake": intake, "auditc": list(auditc)}


def _submit(email="patient@demo.test", **chosen):
    return screening.submit(user_by_email(email), answers(**chosen))


def _review_alerts(user_email: str, patient_email: str) -> list[Alert]:
    patient = user_by_email(patient_email)
    return [
        alert
        for alert in open_alerts(user_by_email(user_email), patient.id)
        if alert.kind == "intake_review"
    ]


def _walkthrough_ready(patient_email: str = "patient@demo.test") -> TreatmentSession:
    """The demo patient's Walkthrough today with every required item ticked."""
    patient = user_by_email(patient_email)
    session = db.session.scalar(
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient.id,
            TreatmentSession.status == SessionStatus.SCHEDULED,
        )
        .order_by(TreatmentSession.scheduled_at)
    )
    for item in session.template_version.checklist_items:
        if item.required:
            session_flow.set_item_checked(patient, session.id, item.id, True)
    return session


# --- review items --------------------------------------------------------------------------


def test_a_needs_review_answer_raises_a_review_item_for_the_care_team_only(ctx, people):
    """High blood pressure: Yes opens one intake_review alert the care team and the clinic
    admin see; a colleague outside the team and another clinic see nothing."""
    submission = _submit(heart=1)
    assert submission.needs_review == ["heart"]
    assert len(_review_alerts("therapist@demo.test", "patient@demo.test")) == 1
    assert len(_review_alerts("admin@demo.test", "patient@demo.test")) == 1
    assert _review_alerts("therapist2@demo.test", "patient@demo.test") == []
    assert _review_alerts("therapist@other.test", "patient@demo.test") == []
    owner = user_by_email("patient@demo.test")
    assert [
        s.id
        for s in screening.intakes_awaiting(user_by_email("therapist@demo.test"))
        if s.patient_id == owner.id
    ] == [submission.id]
    assert all(
        s.patient_id != owner.id
        for email in ("therapist2@demo.test", "therapist@other.test", "admin@other.test")
        for s in screening.intakes_awaiting(user_by_email(email))
    )


def test_answers_without_a_review_mark_raise_no_alert(ctx, people):
    """All 'No' and a low AUDIT-C: submitted, waiting for a decision, no alert."""
    submission = _submit()
    assert submission.needs_review == []
    assert submission.status == "submitted"
    assert _review_alerts("therapist@demo.test", "patient@demo.test") == []


@pytest.mark.parametrize(
    ("chosen", "flagged"),
    [
        ({"macrolides": 1}, ["macrolides"]),
        ({"grapefruit": 1}, ["grapefruit"]),
        ({"psychosis_family": 2}, ["psychosis_family"]),  # Not sure needs a review too
        ({"pregnancy": 1, "drugs": 1}, ["pregnancy", "drugs"]),
        ({"auditc": (1, 1, 1)}, ["auditc"]),  # AUDIT-C 3: at the clinic's mark
    ],
)
def test_each_marked_answer_is_flagged_by_id(ctx, people, chosen, flagged):
    """What needs a review is named by item id (or the included code), never by answer."""
    auditc = chosen.pop("auditc", (0, 0, 0))
    submission = screening.submit(
        user_by_email("patient@demo.test"), answers(auditc=auditc, **chosen)
    )
    assert submission.needs_review == flagged


def test_auditc_below_the_mark_is_not_flagged_and_is_stored_as_a_check_in(ctx, people):
    """AUDIT-C 2 is below the mark of 3; it is kept as the patient's own AUDIT-C check-in."""
    owner = user_by_email("patient@demo.test")
    before = db.session.scalar(
        select(db.func.count())
        .select_from(MeasureResponse)
        .where(MeasureResponse.patient_id == owner.id, MeasureResponse.instrument == "auditc")
    )
    submission = screening.submit(owner, answers(auditc=(1, 1, 0)))
    assert submission.needs_review == []
    latest = db.session.scalars(
        select(MeasureResponse)
        .where(MeasureResponse.patient_id == owner.id, MeasureResponse.instrument == "auditc")
        .order_by(MeasureResponse.id.desc())
    ).first()
    assert latest.score == 2
    assert (
        db.session.scalar(
            select(db.func.count())
            .select_from(MeasureResponse)
            .where(MeasureResponse.patient_id == owner.id, MeasureResponse.instrument == "auditc")
        )
        == before + 1
    )


def test_bad_answers_are_named_each_and_store_nothing(ctx, people):
    """A missing required answer, an answer out of range and a bad AUDIT-C answer are all
    reported at once; nothing is written."""
    before = db.session.scalar(select(db.func.count()).select_from(IntakeSubmission))
    bad = answers(auditc=(9, 0, 0), heart=7)
    del bad["intake"]["liver"]
    with pytest.raises(Invalid) as error:
        screening.submit(user_by_email("patient@demo.test"), bad)
    fields = error.value.fields
    assert "liver" in fields and "heart" in fields
    assert any(key.startswith("auditc") for key in fields)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(IntakeSubmission)) == before


# --- the gate ------------------------------------------------------------------------------


def test_start_is_blocked_with_intake_required_until_cleared(ctx, people):
    """A new submission waits for a decision: 409 intake_required; cleared: the session starts."""
    owner = user_by_email("patient@demo.test")
    session = _walkthrough_ready()
    submission = _submit(heart=1)
    with pytest.raises(Conflict) as refused:
        session_flow.advance_phase(owner, session.id, "session")
    assert refused.value.code == "intake_required"
    screening.decide(user_by_email("therapist@demo.test"), submission.id, "cleared", "")
    _, changed = session_flow.advance_phase(owner, session.id, "session")
    assert changed and session.status == "session"


def test_not_cleared_keeps_the_session_blocked(ctx, people):
    """Not cleared is a decision, not a clearance: the start stays refused."""
    owner = user_by_email("patient@demo.test")
    session = _walkthrough_ready()
    submission = _submit(psychosis=1)
    screening.decide(user_by_email("therapist@demo.test"), submission.id, "not_cleared", NOTE)
    with pytest.raises(Conflict) as refused:
        session_flow.advance_phase(owner, session.id, "session")
    assert refused.value.code == "intake_required"
    assert session.status == "scheduled"


def test_needs_assessment_blocks_until_a_final_decision(ctx, people):
    """Needs assessment keeps the start blocked; after the assessment, cleared opens it."""
    owner = user_by_email("patient@demo.test")
    therapist = user_by_email("therapist@demo.test")
    session = _walkthrough_ready()
    submission = _submit(heart=2)
    screening.decide(therapist, submission.id, "needs_assessment", NOTE)
    assert not screening.is_cleared(owner)
    assert submission.id in [s.id for s in screening.intakes_awaiting(therapist)]
    screening.decide(therapist, submission.id, "cleared", "")
    session_flow.advance_phase(owner, session.id, "session")
    assert session.status == "session"


def test_a_resubmission_needs_a_new_decision(ctx, people):
    """The demo patient is cleared; a new intake (a new medication) blocks again until decided,
    and the earlier submission can no longer be decided."""
    owner = user_by_email("patient@demo.test")
    therapist = user_by_email("therapist@demo.test")
    assert screening.is_cleared(owner)
    earlier = screening.latest_intake(owner)
    newer = _submit(grapefruit=1)
    assert screening.intake_status(owner) == "submitted" and not screening.is_cleared(owner)
    with pytest.raises(Conflict) as refused:
        screening.decide(therapist, earlier.id, "cleared", "")
    assert refused.value.code in ("intake_superseded", "intake_decided")
    screening.decide(therapist, newer.id, "cleared", "")
    assert screening.is_cleared(owner)


def test_a_resubmission_closes_the_earlier_open_review_alert(ctx, people):
    """Two submissions never leave two open review items: the newest is the one to review."""
    _submit(heart=1)
    _submit(heart=1, seizures=1)
    alerts = _review_alerts("therapist@demo.test", "patient@demo.test")
    assert len(alerts) == 1


def test_a_template_without_the_requirement_starts_without_an_intake(ctx, people):
    """requires_intake off: the intake does not gate the start."""
    owner = user_by_email("patient@demo.test")
    session = _walkthrough_ready()
    _submit(heart=1)
    session.template_version.requires_intake = False
    db.session.commit()
    session_flow.advance_phase(owner, session.id, "session")
    assert session.status == "session"


def test_api_phase_answers_409_intake_required(app, people, api_as):
    """The phase endpoint says intake_required in the error format."""
    with app.app_context():
        session = _walkthrough_ready()
        _submit(heart=1)
        session_id = session.id
    api = api_as("patient@demo.test")
    answer = api.post(f"/api/v1/sessions/{session_id}/phase", json={"phase": "session"})
    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "intake_required"


# --- the decision --------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["not_cleared", "needs_assessment"])
@pytest.mark.parametrize("note", ["", "   "])
def test_a_decision_other_than_cleared_needs_a_note(ctx, people, decision, note):
    """Not cleared and needs assessment say why; without a note nothing is recorded."""
    submission = _submit(heart=1)
    with pytest.raises(Invalid) as error:
        screening.decide(user_by_email("therapist@demo.test"), submission.id, decision, note)
    assert "note" in error.value.fields
    db.session.rollback()
    assert db.session.get(IntakeSubmission, submission.id).status == "submitted"


@pytest.mark.parametrize("decision", ["", "approved", None, 1])
def test_an_unknown_decision_is_invalid(ctx, people, decision):
    """Only the three decisions exist; the app never invents one."""
    submission = _submit()
    with pytest.raises(Invalid) as error:
        screening.decide(user_by_email("therapist@demo.test"), submission.id, decision, NOTE)
    assert "decision" in error.value.fields


@pytest.mark.parametrize(
    "email",
    [
        "patient@demo.test",
        "therapist2@demo.test",
        "therapist@other.test",
        "admin@other.test",
        "patient2@demo.test",
    ],
)
def test_only_the_care_team_or_clinic_admin_may_decide(ctx, people, email):
    """The patient, a colleague outside the team and another clinic get NotFound; unchanged."""
    submission = _submit(heart=1)
    with pytest.raises(NotFound):
        screening.decide(user_by_email(email), submission.id, "cleared", "")
    db.session.rollback()
    assert db.session.get(IntakeSubmission, submission.id).status == "submitted"


def test_the_clinic_admin_may_decide_and_the_review_alert_closes(ctx, people):
    """A decision resolves the submission's review alert with who and when; audited, ids only."""
    admin = user_by_email("admin@demo.test")
    submission = _submit(heart=1)
    decided = screening.decide(admin, submission.id, "needs_assessment", NOTE)
    assert decided.decided_by_id == admin.id and decided.decided_at is not None
    assert _review_alerts("therapist@demo.test", "patient@demo.test") == []
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "intake.decide")
    ).all()[-1]
    assert event.subject_id == submission.id and event.detail == "decision=needs_assessment"
    assert NOTE not in (event.detail or "")


def test_a_decided_intake_cannot_be_decided_again(ctx, people):
    """Cleared is final for that submission: a second decision is a conflict."""
    therapist = user_by_email("therapist@demo.test")
    submission = _submit()
    screening.decide(therapist, submission.id, "cleared", "")
    with pytest.raises(Conflict) as refused:
        screening.decide(therapist, submission.id, "not_cleared", NOTE)
    assert refused.value.code == "intake_decided"


def test_the_review_alert_is_closed_by_a_decision_not_by_a_note(ctx, people):
    """Resolving the review alert like a Call staff would leave the intake undecided: refused."""
    _submit(heart=1)
    [alert] = _review_alerts("therapist@demo.test", "patient@demo.test")
    with pytest.raises(Conflict):
        resolve_alert(user_by_email("therapist@demo.test"), alert.id, "Looked at it.")


# --- privacy -------------------------------------------------------------------------------


def test_answers_and_the_decision_note_are_encrypted_at_rest(ctx, people):
    """Raw SQL shows neither the medication list nor the note; the model reads both back."""
    submission = _submit(heart=1)
    screening.decide(user_by_email("therapist@demo.test"), submission.id, "not_cleared", NOTE)
    raw = db.session.execute(
        text("SELECT answers, decision_note, needs_review FROM intake_submissions WHERE id = :id"),
        {"id": submission.id},
    ).one()
    stored = " ".join(str(value) for value in raw)
    for plain in ("Sertraline", "Ibuprofen", "128/82", "medications"):
        assert plain not in raw[0] + raw[1], plain
    assert "heart" in stored  # the flagged item's id, no answer text
    db.session.expire_all()
    row = db.session.get(IntakeSubmission, submission.id)
    assert json.loads(row.answers)["texts"]["medications"] == MEDICATIONS
    assert row.decision_note == NOTE


def test_the_audit_log_holds_ids_only(ctx, people):
    """intake.submit and intake.read record who and which submission, never an answer."""
    submission = _submit(heart=1)
    screening.read_intake(user_by_email("therapist@demo.test"), submission.patient_id)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(("intake.submit", "intake.read")))
    ).all()
    assert {event.action for event in events} == {"intake.submit", "intake.read"}
    for event in events:
        assert "Sertraline" not in (event.detail or "")


def test_only_the_care_team_and_admin_read_the_answers(ctx, people):
    """read_intake: the care team and the clinic admin; anyone else NotFound."""
    submission = _submit(heart=1)
    review = screening.read_intake(user_by_email("therapist@demo.test"), submission.patient_id)
    assert [row.item_id for row in review.flagged] == ["heart"]
    assert screening.read_intake(user_by_email("admin@demo.test"), submission.patient_id)
    for email in ("therapist2@demo.test", "patient@demo.test", "therapist@other.test"):
        with pytest.raises(NotFound):
            screening.read_intake(user_by_email(email), submission.patient_id)


# --- demo ----------------------------------------------------------------------------------


def test_demo_intakes(ctx, people):
    """patient@demo.test is cleared by their therapist; patient2 waits with a flagged answer
    and an open review alert for their care team."""
    owner = user_by_email("patient@demo.test")
    latest = screening.latest_intake(owner)
    assert latest.status == "cleared"
    assert latest.decided_by_id == user_by_email("therapist@demo.test").id
    robin = user_by_email("patient2@demo.test")
    waiting = screening.latest_intake(robin)
    assert waiting.status == "submitted" and "heart" in waiting.needs_review
    assert len(_review_alerts("therapist2@demo.test", "patient2@demo.test")) == 1
    assert _review_alerts("therapist@demo.test", "patient2@demo.test") == []


# --- pages ---------------------------------------------------------------------------------


def _intake_form(page) -> dict:
    html = page.get("/patient/intake?again=1").text
    return form_data(html, "/patient/intake")


def test_patient_submits_the_intake_on_the_page(app, people, page_as):
    """The form by section, Submit intake, then 'Submitted — your care team will review it'."""
    page = page_as("patient2@demo.test")
    html = page.get("/patient/intake?again=1").text
    for heading in (
        "Medications",
        "Conditions",
        "Substance use",
        "Treatments tried",
        "Anything else",
        "Submit intake",
    ):
        assert heading in html
    assert "<legend>Do you drink grapefruit juice?" in html
    data = _intake_form(page) | {f"intake-{item}": "0" for item in INTAKE_CHOICES}
    data |= {
        "intake-medications": "Lisinopril 10 mg",
        "auditc-1": "0",
        "auditc-2": "0",
        "auditc-3": "0",
    }
    answer = page.post("/patient/intake", data=data)
    assert answer.status_code == 302
    status = page.get(answer.headers["Location"]).text
    assert "Submitted — your care team will review it" in status


def test_bad_intake_input_re_renders_with_every_message_and_keeps_the_text(app, people, page_as):
    """Missing answers: 400, a message per question, and the medication list still there."""
    page = page_as("patient2@demo.test")
    data = _intake_form(page) | {"intake-medications": "Lisinopril 10 mg", "intake-heart": "1"}
    answer = page.post("/patient/intake", data=data)
    assert answer.status_code == 400
    html = answer.text
    assert "Lisinopril 10 mg" in html
    assert 'value="1" required checked' in html or 'value="1" checked' in html
    assert html.count('class="field__error"') >= len(INTAKE_CHOICES) - 1 + 3  # every unanswered one
    with app.app_context():
        robin = user_by_email("patient2@demo.test")
        assert (
            len(
                db.session.scalars(
                    select(IntakeSubmission).where(IntakeSubmission.patient_id == robin.id)
                ).all()
            )
            == 1
        )  # the demo's only


def test_home_shows_the_intake_card_until_cleared(app, people, page_as):
    """patient2 (waiting) sees the Intake card; the cleared demo patient does not."""
    assert 'id="intake-heading"' in page_as("patient2@demo.test").get("/patient/").text
    assert 'id="intake-heading"' not in page_as("patient@demo.test").get("/patient/").text


def test_prepare_page_says_the_intake_is_missing_and_start_is_disabled(app, people, page_as):
    """patient2's first session: the reason with a link, and Start session disabled by it."""
    with app.app_context():
        robin = user_by_email("patient2@demo.test")
        session_id = db.session.scalar(
            select(TreatmentSession.id)
            .where(TreatmentSession.patient_id == robin.id)
            .order_by(TreatmentSession.scheduled_at)
        )
    html = page_as("patient2@demo.test").get(f"/patient/sessions/{session_id}").text
    assert 'id="start-intake"' in html and 'href="/patient/intake"' in html
    [button] = re.findall(r"<button[^>]*\bdata-start\b[^>]*>", html)
    assert "disabled" in button and "start-intake" in button


def test_therapist_sees_awaiting_intakes_and_records_a_decision(app, people, page_as):
    """therapist2's dashboard lists Robin's intake; the page shows the flagged answer first;
    Record decision clears it. therapist@demo.test sees none of it."""
    page = page_as("therapist2@demo.test")
    dashboard = page.get("/therapist/").text
    assert "Intakes awaiting review" in dashboard and "Robin Lee" in dashboard
    assert "Robin Lee" not in page_as("therapist@demo.test").get("/therapist/").text
    with app.app_context():
        robin = user_by_email("patient2@demo.test")
        submission_id = screening.latest_intake(robin).id
    url = f"/therapist/patients/{robin.id}/intake"
    html = page.get(url).text
    assert (
        html.index("Needs review") < html.index("high blood pressure") < html.index("Other answers")
    )
    action = f"{url}/{submission_id}/decision"
    form = form_data(html, action)
    refused = page.post(action, data=form | {"decision": "not_cleared", "note": ""})
    assert refused.status_code == 400 and "Write a note" in refused.text
    done = page.post(action, data=form | {"decision": "cleared", "note": "Seen in clinic."})
    assert done.status_code == 302
    with app.app_context():
        assert screening.latest_intake(user_by_email("patient2@demo.test")).status == "cleared"
    assert "Intakes awaiting review" not in page.get("/therapist/").text


def test_the_patients_data_export_includes_their_intake(ctx, people):
    """What the patient answered is theirs to download; the clinician's note is not in it."""
    from kap.services.people.data_rights import export_patient_data

    submission = _submit(heart=1)
    screening.decide(user_by_email("therapist@demo.test"), submission.id, "not_cleared", NOTE)
    exported = export_patient_data(user_by_email("patient@demo.test"))
    latest = exported["intakes"][-1]
    assert latest["status"] == "not_cleared"
    assert latest["answers"]["texts"]["medications"] == MEDICATIONS
    assert NOTE not in json.dumps(exported)
