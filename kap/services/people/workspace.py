"""The therapist's dashboard: their patients, sorted by who needs attention first.

Built from a fixed number of grouped queries, whatever the size of the care list: the
sessions and PHQ-9 scores are read once and feed the next session, the PHQ-9 change, the
overdue check-ins and the response/relapse signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import BindParameter, Select, and_, bindparam, func, select

from kap.extensions import db
from kap.models import (
    Alert,
    EntryRead,
    JournalEntry,
    SessionStatus,
    User,
)
from kap.models.base import utcnow
from kap.services.alerts import open_alerts
from kap.services.journal.entries import care_team_entry_filter
from kap.services.measures.checkins import checkins_due_for
from kap.services.measures.facts import answer_facts, session_facts
from kap.services.measures.schedule import DueCheckin
from kap.services.measures.signals import CourseSignal, current_signal, signals_for
from kap.services.people.access import patients_visible_to


class PatientRef(NamedTuple):
    """Who a dashboard line is about: what the page shows and links with. A tuple, not the
    User entity: loading 80 Users (with their clinic joined) cost more than all the rest of
    their lines' data together."""

    id: int
    name: str
    email: str


@dataclass
class PatientRow:
    """One line of the dashboard."""

    patient: PatientRef
    next_session_at: datetime | None = None
    open_alerts: int = 0
    unread_entries: int = 0
    baseline_phq9: int | None = None
    latest_phq9: int | None = None
    #: Due check-ins past ``schedule.OVERDUE_AFTER`` (or their session's start).
    overdue: list[DueCheckin] = field(default_factory=list)
    #: The latest started course's response/relapse signal (None: no course yet).
    signal: CourseSignal | None = None

    @property
    def phq9_change(self) -> int | None:
        if self.baseline_phq9 is None or self.latest_phq9 is None:
            return None
        return self.latest_phq9 - self.baseline_phq9

    @property
    def overdue_names(self) -> str:
        """The overdue questionnaires' names, e.g. "PHQ-9, GAD-7"."""
        return ", ".join(item.name for item in self.overdue)

    @property
    def overdue_since(self) -> datetime | None:
        """When the first of them became overdue."""
        return min((item.overdue_since for item in self.overdue), default=None)

    @property
    def sort_key(self) -> tuple[int, int, float, str]:
        """Open alerts first, then unread entries, then the soonest session."""
        soonest = self.next_session_at.timestamp() if self.next_session_at else float("inf")
        return (-self.open_alerts, -self.unread_entries, soonest, self.patient.name.lower())


@cache
def unread_shared_entries() -> Select[int, int]:
    """A query of (patient id, count) of the entries the therapist of the ``therapist_id``
    parameter may read (shared entries of their patients) that they have not opened; built
    once."""
    therapist_id: BindParameter[int] = bindparam("therapist_id")
    return (
        select(JournalEntry.patient_id, func.count())
        .where(care_team_entry_filter(therapist_id))
        .outerjoin(
            EntryRead,
            and_(EntryRead.entry_id == JournalEntry.id, EntryRead.therapist_id == therapist_id),
        )
        .where(EntryRead.entry_id.is_(None))
        .group_by(JournalEntry.patient_id)
    )


def dashboard_rows(
    therapist: User, now: datetime | None = None, *, alerts: Sequence[Alert] | None = None
) -> list[PatientRow]:
    """Every patient in the therapist's care with what needs their attention. ``alerts``:
    ``open_alerts(therapist)``, when the caller has read them already (the dashboard lists
    them too)."""
    now = now or utcnow()
    patients = db.session.execute(
        patients_visible_to(therapist)
        .with_only_columns(User.id, User.name, User.email)
        .order_by(User.name)
    )
    rows = {p.id: PatientRow(PatientRef(*p)) for p in patients}
    if not rows:
        return []
    ids = list(rows)
    # A therapist's patients are their care list: the facts are read by its index.
    care_of = therapist.id if therapist.is_therapist else None
    sessions = session_facts(ids, care_of=care_of)
    for patient_id, booked in sessions.items():
        rows[patient_id].next_session_at = next(
            (
                s.scheduled_at
                for s in booked
                if s.status == SessionStatus.SCHEDULED and s.scheduled_at >= now
            ),
            None,
        )
    for alert in open_alerts(therapist) if alerts is None else alerts:
        if alert.patient_id in rows:  # joined the care list since it was read
            rows[alert.patient_id].open_alerts += 1
    if therapist.is_therapist:  # nobody else reads journals
        unread = db.session.execute(unread_shared_entries(), {"therapist_id": therapist.id})
        for patient_id, count in unread:
            if patient_id in rows:
                rows[patient_id].unread_entries = count
    answers = answer_facts(ids, now, care_of=care_of)
    for patient_id, series in answers.phq9.items():
        if series:
            rows[patient_id].baseline_phq9, rows[patient_id].latest_phq9 = (
                series[0][1],
                series[-1][1],
            )
    due = checkins_due_for(therapist.clinic, ids, now, sessions=sessions, latest=answers.latest)
    signals = signals_for(ids, now, sessions=sessions, scores=answers.phq9)
    for patient_id, row in rows.items():
        row.overdue = [item for item in due[patient_id] if item.is_overdue(now)]
        row.signal = current_signal(signals[patient_id])
    return sorted(rows.values(), key=lambda row: row.sort_key)
