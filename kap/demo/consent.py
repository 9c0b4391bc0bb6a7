"""Demo consent documents: Demo Clinic's (signed by the demo patient) and Other Clinic's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from kap.extensions import db
from kap.models import Clinic, User
from kap.models.base import utcnow
from kap.models.consent import ConsentDocument, ConsentSignature
from kap.services.screening.consent import normalise_body, text_sha256

DEMO_TITLE = "Consent to ketamine-assisted psychotherapy"

DEMO_BODY = """\
Please read this carefully. Ask your care team about anything that is unclear before you sign.
You can ask for a printed copy, and you can download your signed copy at any time.

# What ketamine-assisted therapy is

Ketamine is an anaesthetic medicine that, at lower doses, can ease depression, anxiety and
post-traumatic stress for some people. In ketamine-assisted psychotherapy you receive ketamine
at the clinic, under medical supervision, within a course of psychotherapy: preparation
sessions before, the medicine session itself, and integration sessions afterwards. Ketamine for
these conditions is, in most cases, an **off-label** use. It does not help everyone, and its
benefits may fade over weeks; your care team will review with you whether it is helping.

# What you may feel, and the risks

- **Dissociation.** Feeling detached from your body or surroundings, changes in vision, sound
  and time, and sometimes strong emotions. It usually passes within one to two hours after the
  dose. Staff stay with you throughout.
- **Raised blood pressure and heart rate** during and shortly after the dose. We measure your
  blood pressure before the dose, during monitoring, and before you leave.
- **Nausea and vomiting**, dizziness, headache and blurred vision. Tell staff; medicine for
  nausea can be given.
- **Bladder problems.** Frequent or heavy use of ketamine can damage the bladder (pain, needing
  to pass urine often or urgently, blood in the urine). We will ask you about bladder symptoms
  every month; tell us at once if you notice any.
- **Misuse.** Ketamine can be misused and can lead to dependence. It is given only at the
  clinic; never take ketamine outside this treatment. Tell us about any past or present
  substance use.
- Rarely, an unpleasant or frightening experience, confusion, or a worsening of mood in the
  days afterwards. Your care team will help you prepare and integrate what you experience.

# Before and after each session

- **No alcohol** for at least 24 hours before and after a session: alcohol with ketamine is
  dangerous.
- Follow the fasting instructions on your preparation checklist.
- Tell us about every medicine you take, including herbal remedies, and about any new medicine
  (some, such as clarithromycin, change how ketamine acts; avoid grapefruit on session days).
- **Arrange a ride home.** You may not leave alone; a responsible adult must collect you.
- **Do not drive**, cycle, operate machinery or make important decisions until the next day
  after a good night's sleep.

# Your rights

- Taking part is voluntary. **You may stop** at any time: you can ask staff to stop a session,
  or end your treatment, without losing access to other care at this clinic.
- You can ask questions at any time, and you can withdraw this consent by telling your care
  team. Withdrawing does not undo care already given.

# Emergencies

During a session, use **Call staff** in the app or speak to the staff in the room. After a
session, if you feel unsafe, have chest pain, severe headache, difficulty breathing, or
thoughts of harming yourself, call the emergency number (911) or the crisis line (988) now,
and then tell the clinic. The app's Crisis support page lists these numbers.

# Your privacy

Your journal is private: your care team reads only the entries you choose to share, and you
can stop sharing an entry at any time. Your check-ins, session records and this consent are
part of your clinical record, seen by your care team and kept as the law requires. You can
download your data from the app.

# Agreement

By signing, I confirm that I have read this document, that my questions were answered, and
that I agree to ketamine-assisted psychotherapy at this clinic on these terms.
"""

OTHER_TITLE = "Consent to treatment — Other Clinic"

OTHER_BODY = """\
This clinic offers ketamine-assisted therapy under medical supervision. Ketamine can cause
dissociation, raised blood pressure, nausea and, with frequent use, bladder problems, and it
can be misused.

- No alcohol for 24 hours before and after a session.
- A responsible adult takes you home; no driving until the next day.
- You may stop a session or your treatment at any time.
- In an emergency call 911 or 988.

Your journal is private unless you choose to share an entry.
"""


def _document(clinic: Clinic, title: str, body: str, author: User | None) -> ConsentDocument:
    existing = db.session.scalar(
        select(ConsentDocument)
        .where(ConsentDocument.clinic_id == clinic.id)
        .order_by(ConsentDocument.version.desc())
        .limit(1)
    )
    if existing is not None:
        return existing
    body = normalise_body(body)
    document = ConsentDocument(
        clinic_id=clinic.id,
        version=1,
        title=title,
        body_markdown=body,
        sha256=text_sha256(title, body),
        created_by_id=author.id if author else None,
        created_at=utcnow() - timedelta(days=60),
    )
    db.session.add(document)
    db.session.flush()
    return document


def seed_demo_consent(users: dict[str, User]) -> None:
    """Each demo clinic's consent; the demo patient (and Other Clinic's) has signed their
    clinic's, patient2 not."""
    demo = _document(
        users["patient@demo.test"].clinic, DEMO_TITLE, DEMO_BODY, users["admin@demo.test"]
    )
    other = _document(
        users["patient@other.test"].clinic, OTHER_TITLE, OTHER_BODY, users["admin@other.test"]
    )
    for patient, document in (
        (users["patient@demo.test"], demo),
        (users["patient@other.test"], other),
    ):
        signed = db.session.scalar(
            select(ConsentSignature.id).where(
                ConsentSignature.patient_id == patient.id,
                ConsentSignature.document_id == document.id,
            )
        )
        if signed is None:
            db.session.add(
                ConsentSignature(
                    clinic_id=patient.clinic_id,
                    patient_id=patient.id,
                    document_id=document.id,
                    document_sha256=document.sha256,
                    typed_name=patient.name,
                    agreed=True,
                    signed_at=utcnow().replace(second=0, microsecond=0) - timedelta(days=45),
                )
            )
    db.session.commit()
