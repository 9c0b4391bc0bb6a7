"""Signed consent: a clinic's versioned consent document, and patients signing it.

**Versions.** A clinic admin writes the document in Markdown; every save that changes it is
a new version (1, 2, … per clinic) and nothing saved ever changes, so what anyone signed stays
byte-identical. The newest version is the current one; a patient who signed an older version
is asked to sign again. Saving text identical to the current version makes no new version.

**What is signed.** The canonical text of a version is ``title + "\\n\\n" + body`` with the
title stripped and the body's line endings made ``\\n`` and its surrounding blank space
removed (``canonical_text``); its SHA-256 over the UTF-8 bytes is kept with the version and
copied into every signature. The page sends back the hash it showed, and signing refuses
(409 ``consent_changed``) when it is not the current version's: the text changed under the
patient.

**The typed name.** Required, at most 200 characters, and it must be the name the clinic has
for the account, compared without regard to case, accents' composition (NFKC) or runs of
spaces: a typed name that is not the patient's own would prove nothing. (A patient whose
account name is wrong asks the clinic to correct it.)

**The gate.** ``has_signed_current(patient)`` is False when the clinic has no consent
document at all: a template that requires consent cannot be started until the clinic
publishes one and the patient signs it (``kap.services.sessions.flow.advance_phase``).

Clinicians' reads are audited (``consent.read``); every signed copy downloaded is audited
(``consent.copy``). The audit rows carry ids, versions and hashes, never the typed name.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kap.extensions import db
from kap.models import TreatmentSession, User
from kap.models.base import utcnow
from kap.models.consent import (
    MAX_BODY_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_TYPED_NAME_LENGTH,
    ConsentDocument,
    ConsentSignature,
)
from kap.services import audit
from kap.services.errors import Conflict, Invalid, NotFound
from kap.services.people.access import get_patient_for
from kap.services.unit_of_work import audited_read, rollback_lost_race, use_case
from kap.timezones import to_local

CONSENT_REQUIRED_MESSAGE = (
    "Please read and sign the clinic's consent before you start this session."
)
CHANGED_MESSAGE = (
    "The consent document changed while you were reading it. "
    "Please read the current version below and sign it."
)


# --- The canonical text -------------------------------------------------------------------


def normalise_title(title: str) -> str:
    """The title as stored: one line, surrounding space removed."""
    return " ".join((title or "").split())


def normalise_body(body: str) -> str:
    """The body as stored: ``\\n`` line endings, surrounding blank space removed."""
    return (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def canonical_text(title: str, body_markdown: str) -> str:
    """The exact text a patient is shown and signs: the title, a blank line, the body."""
    return f"{title}\n\n{body_markdown}"


def text_sha256(title: str, body_markdown: str) -> str:
    """Hex SHA-256 of the canonical text's UTF-8 bytes."""
    return hashlib.sha256(canonical_text(title, body_markdown).encode("utf-8")).hexdigest()


def document_text(document: ConsentDocument) -> str:
    """The canonical text of a saved version."""
    return canonical_text(document.title, document.body_markdown)


# --- Clinic admins: writing versions -----------------------------------------------------


def _admin_only(admin: User) -> None:
    if not admin.is_clinic_admin:
        raise NotFound("No such consent document.")


def _newest(clinic_id: int) -> ConsentDocument | None:
    return db.session.scalar(
        select(ConsentDocument)
        .where(ConsentDocument.clinic_id == clinic_id)
        .order_by(ConsentDocument.version.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class DocumentSaved:
    document: ConsentDocument
    #: False when the text was the current version's (no new version, nobody asked again).
    created: bool


@use_case
def save_document(
    admin: User, title: str, body_markdown: str, based_on: int | None = None
) -> DocumentSaved:
    """Save the clinic's consent document as a new version (the newest is the current one).

    ``based_on``: the version the admin was editing (0 for none yet); when another version
    was saved since, Conflict ``stale`` (nothing is overwritten unseen). Identical text saves
    nothing new.
    """
    _admin_only(admin)
    if not isinstance(title, str) or not isinstance(body_markdown, str):
        raise Invalid("Title and text must be text.")
    title = normalise_title(title)
    body = normalise_body(body_markdown)
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = ["Give the document a title."]
    elif len(title) > MAX_TITLE_LENGTH:
        errors["title"] = [f"Keep the title under {MAX_TITLE_LENGTH} characters."]
    if not body:
        errors["body_markdown"] = ["Write the consent text."]
    elif len(body) > MAX_BODY_LENGTH:
        errors["body_markdown"] = [f"Keep the text under {MAX_BODY_LENGTH:,} characters."]
    if errors:
        raise Invalid("The consent document needs attention.", errors)
    latest = _newest(admin.clinic_id)
    newest_version = latest.version if latest else 0
    if based_on is not None and based_on != newest_version:
        raise Conflict(
            f"Version {newest_version} was saved while you were editing. Your text is below; "
            "compare it with the current version and save again.",
            code="stale",
        )
    if latest is not None and latest.title == title and latest.body_markdown == body:
        return DocumentSaved(latest, created=False)
    document = ConsentDocument(
        clinic_id=admin.clinic_id,
        version=newest_version + 1,
        title=title,
        body_markdown=body,
        sha256=text_sha256(title, body),
        created_by_id=admin.id,
    )
    db.session.add(document)
    try:
        db.session.flush()
    except IntegrityError:  # another admin saved the same version number at the same moment
        raise Conflict(
            "Another version was saved at the same moment. Look at it and save again.",
            code="stale",
        ) from None
    audit.record(  # the rows first, then the audit chain
        "consent.document_save",
        actor=admin,
        subject_type="consent_document",
        subject_id=document.id,
        detail=f"version={document.version} sha256={document.sha256}",
    )
    return DocumentSaved(document, created=True)


@dataclass(frozen=True)
class DocumentRow:
    document: ConsentDocument
    signatures: int


def documents_of(admin: User) -> list[DocumentRow]:
    """The clinic's versions, newest (current) first, each with how many patients signed it."""
    _admin_only(admin)
    counts = (
        select(ConsentSignature.document_id, func.count().label("signed"))
        .where(ConsentSignature.clinic_id == admin.clinic_id)
        .group_by(ConsentSignature.document_id)
        .subquery()
    )
    rows = db.session.execute(
        select(ConsentDocument, func.coalesce(counts.c.signed, 0))
        .outerjoin(counts, counts.c.document_id == ConsentDocument.id)
        .where(ConsentDocument.clinic_id == admin.clinic_id)
        .order_by(ConsentDocument.version.desc())
    ).all()
    return [DocumentRow(document, int(signed)) for document, signed in rows]


# --- Patients: reading and signing ---------------------------------------------------------


def current_document(patient: User) -> ConsentDocument | None:
    """The current (newest) version of the patient's clinic's consent, if it has one."""
    return _newest(patient.clinic_id)


def _signature_on(patient_id: int, document_id: int) -> ConsentSignature | None:
    return db.session.scalar(
        select(ConsentSignature).where(
            ConsentSignature.patient_id == patient_id,
            ConsentSignature.document_id == document_id,
        )
    )


def signatures_on_file(patient_id: int) -> list[ConsentSignature]:
    """Every consent a patient signed, newest first (no scope check: callers hold it)."""
    return list(
        db.session.scalars(
            select(ConsentSignature)
            .where(ConsentSignature.patient_id == patient_id)
            .order_by(ConsentSignature.signed_at.desc(), ConsentSignature.id.desc())
        )
    )


@dataclass(frozen=True)
class ConsentStatus:
    """Where a patient stands with their clinic's consent."""

    current: ConsentDocument | None
    #: The patient's signature on the current version, if any.
    signed_current: ConsentSignature | None
    #: Every signature of the patient, newest first.
    signatures: list[ConsentSignature]

    @property
    def state(self) -> str:
        """'no_document', 'signed' (the current version), 'older' (only an older version)
        or 'never'."""
        if self.current is None:
            return "no_document"
        if self.signed_current is not None:
            return "signed"
        return "older" if self.signatures else "never"

    @property
    def needs_signing(self) -> bool:
        return self.state in ("older", "never")

    @property
    def latest(self) -> ConsentSignature | None:
        return self.signatures[0] if self.signatures else None


def _status_of(patient: User) -> ConsentStatus:
    current = current_document(patient)
    signatures = signatures_on_file(patient.id)
    signed = next((s for s in signatures if current and s.document_id == current.id), None)
    return ConsentStatus(current, signed, signatures)


def signature_status(patient: User) -> ConsentStatus:
    """The patient's own consent state: signed the current version, an older one, or never."""
    if not patient.is_patient:
        raise NotFound("No such patient.")
    return _status_of(patient)


def has_signed_current(patient: User) -> bool:
    """The gate: the patient signed their clinic's current consent (False when it has none)."""
    current = current_document(patient)
    return current is not None and _signature_on(patient.id, current.id) is not None


def consent_missing(session: TreatmentSession) -> bool:
    """Whether the session's template requires a signed consent the patient lacks."""
    if not session.template_version.requires_consent:
        return False
    return not has_signed_current(session.patient)


def _comparable(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _check_signing(patient: User, typed_name: object, agreed: object) -> str:
    errors: dict[str, list[str]] = {}
    name = " ".join(typed_name.split()) if isinstance(typed_name, str) else ""
    if not name:
        errors["typed_name"] = ["Type your full name to sign."]
    elif len(name) > MAX_TYPED_NAME_LENGTH:
        errors["typed_name"] = [f"Keep your name under {MAX_TYPED_NAME_LENGTH} characters."]
    elif _comparable(name) != _comparable(patient.name):
        errors["typed_name"] = [
            f"Type your full name as your clinic has it: {patient.name}. "
            "If that is not your name, ask your clinic to correct it."
        ]
    if agreed is not True:
        errors["agreed"] = ["Tick the box to agree to this consent."]
    if errors:
        raise Invalid("Your signature needs attention.", errors)
    return name


@dataclass(frozen=True)
class Signed:
    signature: ConsentSignature
    #: False when this patient had already signed this version (a double submit).
    created: bool


@use_case
def sign(
    patient: User,
    document_id: int,
    typed_name: str,
    agreed: bool,
    shown_sha256: str,
    now: datetime | None = None,
) -> Signed:
    """The patient signs the current version they were shown.

    Conflict ``consent_changed`` when ``document_id`` is an older version of the clinic's
    document or ``shown_sha256`` is not the current version's hash; NotFound when it is not
    the clinic's at all. Signing the same version again (a double submit, two
    devices) answers the first signature and writes nothing.
    """
    if not patient.is_patient:
        raise NotFound("No such consent document.")
    current = current_document(patient)
    if current is None:
        raise NotFound("Your clinic has no consent document to sign.")
    if document_id != current.id:
        shown = db.session.get(ConsentDocument, document_id)
        if shown is None or shown.clinic_id != patient.clinic_id:
            raise NotFound("No such consent document.")
        raise Conflict(CHANGED_MESSAGE, code="consent_changed")  # an older version
    if shown_sha256 != current.sha256:
        raise Conflict(CHANGED_MESSAGE, code="consent_changed")
    name = _check_signing(patient, typed_name, agreed)
    existing = _signature_on(patient.id, current.id)
    if existing is not None:
        return Signed(existing, created=False)
    signature = ConsentSignature(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        document_id=current.id,
        document_sha256=current.sha256,
        typed_name=name,
        agreed=True,
        signed_at=(now or utcnow()).astimezone(UTC),
    )
    db.session.add(signature)
    patient_id, signed_document_id = patient.id, current.id
    try:
        db.session.flush()
    except IntegrityError:  # the same version signed at once from another request: it wins
        rollback_lost_race()
        winner = _signature_on(patient_id, signed_document_id)
        if winner is None:
            raise
        return Signed(winner, created=False)
    audit.record(  # the rows first, then the audit chain
        "consent.sign",
        actor=patient,
        subject_type="consent_signature",
        subject_id=signature.id,
        patient_id=patient.id,
        detail=f"document={current.id} version={current.version} sha256={current.sha256}",
    )
    return Signed(signature, created=True)


# --- Clinicians, and the signed copy -------------------------------------------------------


@dataclass(frozen=True)
class PatientConsent:
    """A patient's consent record as their care team sees it."""

    patient: User
    status: ConsentStatus


@audited_read
def signatures_of(viewer: User, patient_id: int) -> PatientConsent:
    """A patient's signatures and whether the current version is signed, for the care team
    (a therapist of the patient, or a clinic admin); NotFound for anyone else."""
    if viewer.is_patient:
        raise NotFound("No such patient.")
    patient = get_patient_for(viewer, patient_id)
    status = _status_of(patient)
    audit.record(
        "consent.read",
        actor=viewer,
        subject_type="user",
        subject_id=patient.id,
        patient_id=patient.id,
    )
    return PatientConsent(patient, status)


@dataclass(frozen=True)
class SignedCopy:
    filename: str
    text: str


def _copy_text(signature: ConsentSignature, patient: User) -> str:
    document = signature.document
    text = document_text(document)
    zone = patient.clinic.timezone
    local = to_local(signature.signed_at, zone)
    utc = signature.signed_at.astimezone(UTC)
    size = len(text.encode("utf-8"))
    return (
        f"{text}\n\n"
        "---\n\n"
        "## Signature\n\n"
        f"- Signed by (typed name): {signature.typed_name}\n"
        f"- Patient account: {patient.name}\n"
        "- Ticked: I have read and agree to this consent\n"
        f"- Signed at: {local:%a %-d %b %Y, %H:%M:%S} ({zone})\n"
        f"- Signed at (UTC): {utc:%Y-%m-%dT%H:%M:%SZ}\n"
        f"- Document: {patient.clinic.name}, consent version {document.version}\n"
        f"- SHA-256 of the document text (the first {size} bytes of this file, UTF-8): "
        f"{signature.document_sha256}\n"
    )


@audited_read
def signed_copy(viewer: User, signature_id: int) -> SignedCopy:
    """The exact document text a signature is on, followed by the signature block.

    The patient gets their own; their care team (or the clinic admin) too; anyone else
    NotFound.
    """
    signature = db.session.get(ConsentSignature, signature_id)
    if signature is None or signature.clinic_id != viewer.clinic_id:
        raise NotFound("No such signed consent.")
    if viewer.is_patient:
        if signature.patient_id != viewer.id:
            raise NotFound("No such signed consent.")
        patient = viewer
    else:
        try:
            patient = get_patient_for(viewer, signature.patient_id)
        except NotFound:
            raise NotFound("No such signed consent.") from None
    text = _copy_text(signature, patient)
    audit.record(
        "consent.copy",
        actor=viewer,
        subject_type="consent_signature",
        subject_id=signature.id,
        patient_id=patient.id,
        detail=f"version={signature.document.version}",
    )
    day = to_local(signature.signed_at, patient.clinic.timezone)
    filename = f"consent-v{signature.document.version}-signed-{day:%Y-%m-%d}.md"
    return SignedCopy(filename, text)
