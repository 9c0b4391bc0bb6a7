"""The printable monitoring record (page and PDF): everything the REMS form asks, gaps named."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from kap.extensions import db
from kap.models import (
    AuditEvent,
    SessionDischarge,
    SessionObservation,
    SessionStatus,
    TreatmentSession,
    User,
)
from kap.services.board import discharge

DEMO_DRIVER = "Alex Jordan (partner)"


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def esketamine_id(app, people) -> int:
    """The demo patient's esketamine session 9 days ago, with its complete record."""
    with app.app_context():
        session_id = db.session.scalar(select(SessionDischarge.session_id))
        session = db.session.get(TreatmentSession, session_id)
        assert session.patient_id == people["patient@demo.test"].id
        assert session.template_version.template.name.startswith("Esketamine")
        assert 8 <= (_now() - session.scheduled_at).days <= 9
        return session_id


@pytest.fixture
def walkthrough_id(app, people) -> int:
    """The demo patient's Walkthrough session today: nothing recorded yet."""
    with app.app_context():
        return db.session.scalar(
            select(TreatmentSession.id).where(
                TreatmentSession.patient_id == people["patient@demo.test"].id,
                TreatmentSession.status == SessionStatus.SCHEDULED,
                TreatmentSession.scheduled_at <= _now() + timedelta(hours=1),
            )
        )


def _section(page: str, heading_id: str) -> str:
    return page.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


def _pdf_text(response) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def _audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_demo_esketamine_record_is_complete_on_the_page(app, client, auth, esketamine_id):
    """Check-in, the dose, BP at the three times with the scales, sign-off, driver: all there."""
    auth.login("therapist2@demo.test")
    response = client.get(f"/board/sessions/{esketamine_id}/summary")
    assert response.status_code == 200
    page = response.text
    details = _section(page, "details-heading")
    assert "Demo Clinic" in details and "Pat Jordan" in details
    assert "Esketamine nasal spray" in details and "by Dr. Tess Rivera" in details
    doses = _section(page, "doses-heading")
    for text in ("Esketamine (Spravato)", "56 mg", "intranasal", "DEMO-24A17", "Dr. Tess Rivera"):
        assert text in doses
    protocol = _section(page, "protocol-heading")
    assert "Not recorded" not in protocol
    assert "Post-dose (about 40 min after dosing)" in protocol
    for text in ("128", "142", "126", "4: Lethargic response to name", "Mild", "No concern"):
        assert text in protocol
    assert protocol.count("5: Responds readily to name") == 2
    discharged = _section(page, "discharge-heading")
    assert "122 minutes after dosing" in discharged
    assert f"<dd>{DEMO_DRIVER}</dd>" in discharged
    assert "None: the final check was within the clinic's limits" in discharged
    assert re.search(r"Dr\. Tess Rivera at \d\d:\d\d", discharged)
    assert f'href="/board/sessions/{esketamine_id}/summary.pdf"' in page
    assert "css/record.css" in page


def test_gaps_read_not_recorded(app, client, auth, walkthrough_id):
    """Nothing recorded yet: every missing item says so, never a blank."""
    auth.login("admin@demo.test")
    page = client.get(f"/board/sessions/{walkthrough_id}/summary").text
    assert "Not recorded (not required by this template)" in _section(page, "details-heading")
    assert "Not recorded: no medication administration" in _section(page, "doses-heading")
    protocol = _section(page, "protocol-heading")
    assert protocol.count('<td colspan="8">Not recorded') == 3
    discharged = _section(page, "discharge-heading")
    assert "Not recorded (not discharged)" in discharged
    assert re.search(r"<dd>\s*</dd>", page) is None


def _final(session: TreatmentSession, at: datetime, *vitals: int) -> None:
    systolic, diastolic, pulse, spo2, sedation = vitals
    db.session.add(
        SessionObservation(
            session_id=session.id,
            clinic_id=session.clinic_id,
            kind="final",
            recorded_at=at,
            systolic=systolic,
            diastolic=diastolic,
            heart_rate=pulse,
            spo2=spo2,
            sedation=sedation,
        )
    )
    db.session.commit()


def test_override_and_reopening_are_on_the_record(app, client, auth, people, walkthrough_id):
    """An overridden discharge, reopened, then discharged again: all three on the record."""
    now = _now()
    with app.app_context():
        clinician = db.session.get(User, people["therapist@demo.test"].id)
        session = db.session.get(TreatmentSession, walkthrough_id)
        session.status = SessionStatus.DOWNTIME
        session.session_started_at = now - timedelta(minutes=20)
        _final(session, now - timedelta(minutes=3), 182, 108, 125, 90, 3)
        reason = "Known hypertensive; seen and cleared by Dr. Rivera."
        discharge.discharge(
            clinician, session.id, driver="Sam (brother)", override_reason=reason, now=now
        )
        discharge.reopen(clinician, session.id, "Dizzy at the door.", now=now)
        _final(session, now + timedelta(minutes=1), 130, 84, 80, 97, 5)
        discharge.discharge(
            clinician, session.id, driver=DEMO_DRIVER, now=now + timedelta(minutes=2)
        )
    auth.login("therapist@demo.test")
    page = client.get(f"/board/sessions/{walkthrough_id}/summary").text
    discharged = _section(page, "discharge-heading")
    assert "Discharge history" in discharged
    assert "systolic high, diastolic high, heart rate high, SpO2 low, sedation MOAA/S 3" in (
        discharged
    )
    assert "Known hypertensive; seen and cleared by Dr. Rivera." in discharged
    assert "Dizzy at the door." in discharged and "Sam (brother)" in discharged
    assert f"<dd>{DEMO_DRIVER}</dd>" in discharged  # the discharge in force
    assert "None: the final check was within" in discharged

    pdf = client.get(f"/board/sessions/{walkthrough_id}/summary.pdf")
    text = " ".join(_pdf_text(pdf).split())
    assert "Discharge history" in text
    assert "Known hypertensive; seen and cleared by Dr. Rivera." in text
    assert "Dizzy at the door." in text


def test_pdf_download_carries_the_same_record(app, client, auth, esketamine_id):
    """A real PDF with text: attachment, no-store, audited; the same facts as the page."""
    auth.login("therapist@demo.test")
    response = client.get(f"/board/sessions/{esketamine_id}/summary.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert re.search(
        r'filename="monitoring-record-\d{4}-\d\d-\d\d-pat-jordan-s\d+\.pdf"', disposition
    )
    assert "no-store" in response.headers["Cache-Control"]
    text = " ".join(_pdf_text(response).split())
    for expected in (
        "Session summary: Pat Jordan",
        "Demo Clinic",
        "Esketamine (Spravato)",
        "56 mg",
        "DEMO-24A17",
        "Before dosing",
        "128/82",
        "142/88",
        "126/80",
        "4: Lethargic response to name",
        "122 minutes after dosing",
        DEMO_DRIVER,
        "None: the final check was within the clinic's limits",
        "Printed from KAP Companion by Dr. Tess Rivera",
    ):
        assert expected in text, expected
    (event,) = _audit(app, "session.summary.pdf")
    assert event.subject_id == esketamine_id
    assert _audit(app, "session.summary.view") == []


def test_pdf_on_letter_paper(app, client, auth, esketamine_id):
    """?paper=letter: US Letter pages (612 x 792 points); anything else: A4."""
    auth.login("admin@demo.test")
    letter = client.get(f"/board/sessions/{esketamine_id}/summary.pdf?paper=letter")
    a4 = client.get(f"/board/sessions/{esketamine_id}/summary.pdf?paper=tabloid")
    size = lambda r: [round(float(v)) for v in PdfReader(io.BytesIO(r.data)).pages[0].mediabox]  # noqa: E731
    assert size(letter)[2:] == [612, 792]
    assert size(a4)[2:] == [595, 842]


def test_pdf_of_another_clinics_session_is_404(app, client, auth, esketamine_id):
    """Clinic-scoped, like the page."""
    auth.login("therapist@other.test")
    assert client.get(f"/board/sessions/{esketamine_id}/summary.pdf").status_code == 404
    assert _audit(app, "session.summary.pdf") == []


@pytest.mark.parametrize("dejavu", [True, False])
def test_pdf_never_drops_letters_of_a_name_silently(
    app, client, auth, people, esketamine_id, monkeypatch, dejavu
):
    """A name the font cannot hold prints with "?" and a footnote; the rest as written."""
    from kap.board import pdf_layout

    if not dejavu:
        monkeypatch.setattr(pdf_layout, "FONT_DIRS", ())
    elif pdf_layout._font_dir() is None:
        pytest.skip("DejaVu Sans is not installed here (Debian: fonts-dejavu-core)")
    with app.app_context():
        db.session.get(User, people["patient@demo.test"].id).name = "Zoë Łukasz 李"
        db.session.commit()
    auth.login("therapist@demo.test")
    text = _pdf_text(client.get(f"/board/sessions/{esketamine_id}/summary.pdf"))
    expected = "Zoë Łukasz ?" if dejavu else "Zoë ?ukasz ?"
    assert f"Session summary: {expected}" in text
    assert "Some characters could not be printed here; see the page." in text


def test_the_record_prints_the_post_dose_reading_the_board_counts(app, client, auth, esketamine_id):
    """A post-dose reading 15 minutes after dosing (the check is due at 40) is not the
    protocol's: the record's post-dose row shows the one the board counts, as the board does."""
    from kap.models import MedicationAdministration

    with app.app_context():
        session = db.session.get(TreatmentSession, esketamine_id)
        dosed = db.session.scalar(
            select(MedicationAdministration.given_at)
            .where(MedicationAdministration.session_id == esketamine_id)
            .order_by(MedicationAdministration.given_at)
        )
        db.session.add(
            SessionObservation(
                session_id=session.id,
                clinic_id=session.clinic_id,
                kind="post_dose",
                recorded_at=dosed + timedelta(minutes=15),
                recorded_by_id=session.checked_in_by_id,
                systolic=177,
                diastolic=99,
                heart_rate=90,
                sedation=3,
                dissociation="moderate",
                respiratory_concern=False,
            )
        )
        db.session.commit()
    auth.login("therapist2@demo.test")
    page = client.get(f"/board/sessions/{esketamine_id}/summary").text
    protocol = _section(page, "protocol-heading")
    assert "142" in protocol and "177" not in protocol
    assert "177" in page  # still listed among all readings
