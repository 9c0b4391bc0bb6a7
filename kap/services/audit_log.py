"""The audit log as a clinic admin reads it: filters, and names instead of ids.

A read model: it writes nothing but the audit row of an export (``record_export``). Names
for a page of events are looked up in a fixed number of statements — one per kind of thing
named (people, sessions, templates, audio files, courses) — however many rows the page has.
Lookups stay inside the admin's clinic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import QueryableAttribute

from kap.extensions import db
from kap.models import (
    AudioFile,
    AuditEvent,
    Course,
    SessionTemplate,
    TemplateVersion,
    TreatmentSession,
    User,
)
from kap.services import audit
from kap.services.audit import KNOWN_ACTIONS, events_of_clinic
from kap.services.unit_of_work import audited_read
from kap.timezones import to_local

ROLE_LABELS = {"patient": "patient", "therapist": "therapist", "clinic_admin": "clinic admin"}
#: How subjects without a name of their own read ("Journal entry #12").
SUBJECT_LABELS = {
    "user": "Person",
    "session": "Session",
    "course": "Course",
    "template": "Template",
    "audio_file": "Audio file",
    "journal_entry": "Journal entry",
    "journal_comment": "Reply",
    "clinical_note": "Clinical note",
    "alert": "Alert",
    "session_observation": "Monitoring check",
    "medication_administration": "Administration",
    "patient": "Patient",
    "measure_response": "Check-in",
    "clinic": "Clinic settings",
    "board": "Session board",
    "consent_document": "Consent version",
    "consent_signature": "Signed consent",
    "intake": "Intake",
    "clinic_instrument": "Questionnaire",
    "reminder_preferences": "Reminder choices",
    "push_subscription": "Device notifications",
    "calendar_feed": "Calendar link",
}


@dataclass(frozen=True)
class Person:
    """Someone named in the log: their name (a deleted patient's pseudonym) and role."""

    id: int
    name: str
    role: str

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role_label})"


@dataclass(frozen=True)
class EventRow:
    """One event with its people and subject in words."""

    event: AuditEvent
    actor: Person | None
    patient: Person | None
    subject: str


def _person(user_id: int, name: str, role: str, deleted_at: datetime | None) -> Person:
    # Deletion replaces the name with the pseudonym "Deleted patient" (data_rights.py); the
    # number keeps two deleted patients apart in the log.
    return Person(user_id, f"{name} #{user_id}" if deleted_at else name, role)


def people_of_clinic(clinic_id: int) -> list[Person]:
    """Everyone in the clinic, by role then name (the person filter's choices)."""
    rows = db.session.execute(
        select(User.id, User.name, User.role, User.deleted_at)
        .where(User.clinic_id == clinic_id)
        .order_by(User.role, User.name, User.id)
    )
    return [_person(*row) for row in rows]


def person_filter(query: Select[AuditEvent], person_id: int | None) -> Select[AuditEvent]:
    """Events where the person acted, is the patient, or is the subject (e.g. deactivated)."""
    if person_id is None:
        return query
    return query.where(
        or_(
            AuditEvent.actor_id == person_id,
            AuditEvent.patient_id == person_id,
            and_(AuditEvent.subject_type == "user", AuditEvent.subject_id == person_id),
        )
    )


def filtered_events(
    clinic_id: int,
    *,
    since: datetime | None = None,
    action: str | None = None,
    person_id: int | None = None,
    can_match: bool = True,
) -> Select[AuditEvent]:
    """The clinic's events, newest first, as the page's filters ask (none when the action
    filter ``can_match`` no stored text)."""
    query = person_filter(events_of_clinic(clinic_id, since=since, action=action), person_id)
    return query if can_match else query.where(false())


def events_in(query: Select[AuditEvent]) -> Iterator[AuditEvent]:
    """The events ``query`` finds, one by one (the CSV export reads them in batches)."""
    return iter(db.session.scalars(query))


def action_choices(clinic_id: int) -> list[str]:
    """Every action the code records, and any other found in the clinic's log, sorted."""
    logged = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.clinic_id == clinic_id).distinct()
    )
    return sorted(set(KNOWN_ACTIONS) | set(logged))


def _ids(events: Sequence[AuditEvent], subject_type: str) -> set[int]:
    return {e.subject_id for e in events if e.subject_type == subject_type and e.subject_id}


def _people(clinic_id: int, events: Sequence[AuditEvent]) -> dict[int, Person]:
    ids = {e.actor_id for e in events if e.actor_id} | {
        e.patient_id for e in events if e.patient_id
    }
    ids |= _ids(events, "user")
    if not ids:
        return {}
    rows = db.session.execute(
        select(User.id, User.name, User.role, User.deleted_at).where(
            User.clinic_id == clinic_id, User.id.in_(ids)
        )
    )
    return {row[0]: _person(*row) for row in rows}


#: A clinic's subjects named by one column of their own.
_Named = TypeVar("_Named", SessionTemplate, AudioFile)
#: The statement reading (id, columns…) of a clinic's subjects among some ids.
_SubjectRows = Callable[[int, set[int]], Select[*tuple[Any, ...]]]


def _clinic_rows(
    model: type[_Named], column: QueryableAttribute[str]
) -> Callable[[int, set[int]], Select[int, str]]:
    """(id, ``column``) of a clinic's ``model`` rows among some ids."""
    return lambda clinic_id, ids: select(model.id, column).where(
        model.clinic_id == clinic_id, model.id.in_(ids)
    )


def _session_rows(clinic_id: int, ids: set[int]) -> Select[int, datetime, str]:
    return (
        select(TreatmentSession.id, TreatmentSession.scheduled_at, SessionTemplate.name)
        .join(TemplateVersion, TemplateVersion.id == TreatmentSession.template_version_id)
        .join(SessionTemplate, SessionTemplate.id == TemplateVersion.template_id)
        .where(TreatmentSession.clinic_id == clinic_id, TreatmentSession.id.in_(ids))
    )


def _course_rows(clinic_id: int, ids: set[int]) -> Select[int, str]:
    return (
        select(Course.id, SessionTemplate.name)
        .join(SessionTemplate, SessionTemplate.id == Course.template_id)
        .where(Course.clinic_id == clinic_id, Course.id.in_(ids))
    )


#: Subjects named in words: the statement reading (id, columns…) of a clinic's subjects among
#: some ids, and the words for one row's columns (given the clinic's time zone first).
_SUBJECT_NAMES: dict[str, tuple[_SubjectRows, Callable[..., str]]] = {
    "session": (
        _session_rows,
        lambda zone, at, name: f"Session {to_local(at, zone):%a %-d %b %Y, %H:%M} ({name})",
    ),
    "template": (
        _clinic_rows(SessionTemplate, SessionTemplate.name),
        lambda zone, name: f"Template “{name}”",
    ),
    "audio_file": (
        _clinic_rows(AudioFile, AudioFile.original_name),
        lambda zone, name: f"Audio file “{name}”",
    ),
    "course": (_course_rows, lambda zone, name: f"Course of {name}"),
}


def _subjects(
    clinic_id: int, timezone: str, events: Sequence[AuditEvent], people: dict[int, Person]
) -> dict[tuple[str, int], str]:
    """{(subject_type, id): words} for the subjects that have names (a statement per type
    that occurs on the page, none for the others)."""
    words: dict[tuple[str, int], str] = {}
    for subject_type, (statement, wording) in _SUBJECT_NAMES.items():
        ids = _ids(events, subject_type)
        if ids:
            for subject_id, *columns in db.session.execute(statement(clinic_id, ids)):
                words[(subject_type, subject_id)] = wording(timezone, *columns)
    for uid in _ids(events, "user"):
        if uid in people:
            words[("user", uid)] = people[uid].label
    return words


def _subject_words(event: AuditEvent, named: dict[tuple[str, int], str]) -> str:
    if not event.subject_type:
        return ""
    if event.subject_id and (event.subject_type, event.subject_id) in named:
        return named[(event.subject_type, event.subject_id)]
    label = SUBJECT_LABELS.get(event.subject_type, event.subject_type.replace("_", " ").title())
    return f"{label} #{event.subject_id}" if event.subject_id else label


def describe(clinic_id: int, timezone: str, events: Sequence[AuditEvent]) -> list[EventRow]:
    """The events with names: actor and patient, and the subject in words."""
    people = _people(clinic_id, events)
    named = _subjects(clinic_id, timezone, events, people)
    return [
        EventRow(
            event=e,
            actor=people.get(e.actor_id) if e.actor_id else None,
            patient=people.get(e.patient_id) if e.patient_id else None,
            subject=_subject_words(e, named),
        )
        for e in events
    ]


@audited_read
def record_export(admin: User) -> None:
    """Audit that ``admin`` exported their clinic's log (before the file is written)."""
    audit.record("audit.export", actor=admin, subject_type="clinic", subject_id=admin.clinic_id)
