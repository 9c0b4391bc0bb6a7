"""The session-day records on a board row: check-in, what was given, protocol times, state.

Read-only: built from what ``board.board_for`` already loaded (the session, its observations
and administrations, staff names), with an explicit ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kap.models import Clinic, MedicationAdministration, SessionObservation, TreatmentSession
from kap.services.board.administrations import describe, route_for_template
from kap.services.board.check_in import is_session_day
from kap.services.board.clinical_scales import (
    DISSOCIATION_CLEAR,
    DISSOCIATION_LABELS,
    SEDATION_CLEAR,
    SEDATION_LABELS,
)
from kap.services.board.monitoring import clock_time, dosed_at, protocol_text, protocol_times
from kap.services.board.scope import StaffNames
from kap.services.board.vitals import has_state


@dataclass(frozen=True)
class ProtocolLine:
    """One protocol time in words, and whether it is overdue or done."""

    text: str
    overdue: bool
    done: bool


@dataclass
class RowRecords:
    """What the row shows and offers about check-in, doses, protocol times and state."""

    dosed: bool = False
    checked_in_text: str = ""
    waiting_for_check_in: bool = False
    can_check_in: bool = False
    has_pre_dose: bool = False
    administrations: list[str] = field(default_factory=list)
    protocol: list[ProtocolLine] = field(default_factory=list)
    latest_state: list[tuple[str, bool]] = field(default_factory=list)  # (text, attention)
    latest_state_at: datetime | None = None
    breathing_concern: bool = False
    route: str = ""

    @property
    def overdue(self) -> bool:
        return any(line.overdue for line in self.protocol)


def state_words(observation: SessionObservation) -> list[tuple[str, bool]]:
    """'Sedation 5 (Responds readily…)', 'Dissociation: mild', 'Breathing: no concern', each
    with whether it needs attention (sedation below 5, moderate or severe dissociation, a
    breathing concern; as ``vitals.observation_flags``)."""
    words = []
    if observation.sedation is not None:
        label = SEDATION_LABELS.get(observation.sedation, "")
        attention = observation.sedation < SEDATION_CLEAR
        words.append((f"Sedation {observation.sedation} ({label})", attention))
    if observation.dissociation is not None:
        label = DISSOCIATION_LABELS.get(observation.dissociation, observation.dissociation)
        attention = observation.dissociation not in DISSOCIATION_CLEAR
        words.append((f"Dissociation: {label.lower()}", attention))
    if observation.respiratory_concern is not None:
        concern = observation.respiratory_concern
        words.append(("Breathing: concern" if concern else "Breathing: no concern", concern))
    return words


def records_for(
    session: TreatmentSession,
    observations: list[SessionObservation],
    administrations: list[MedicationAdministration],
    clinic: Clinic,
    names: StaffNames,
    now: datetime,
) -> RowRecords:
    """The records part of one board row."""
    records = RowRecords(route=route_for_template(session))
    records.dosed = dosed_at(session, administrations) is not None
    records.has_pre_dose = any(o.kind == "pre_dose" for o in observations)
    if session.checked_in_at is not None:
        who = names.get(session.checked_in_by_id) or "a former colleague"
        records.checked_in_text = f"Checked in {clock_time(session.checked_in_at, clinic)} by {who}"
    elif not records.dosed:
        records.waiting_for_check_in = session.template_version.requires_check_in
        records.can_check_in = is_session_day(session, clinic.timezone, now)
    records.administrations = [
        describe(given, clinic, names.get(given.given_by_id, "")) for given in administrations
    ]
    records.protocol = [
        ProtocolLine(protocol_text(item, clinic, now), item.overdue, item.done_at is not None)
        for item in protocol_times(session, observations, administrations, now)
    ]
    with_state = [o for o in observations if has_state(o)]
    if with_state:
        latest = with_state[-1]
        records.latest_state = state_words(latest)
        records.latest_state_at = latest.recorded_at
        records.breathing_concern = bool(latest.respiratory_concern)
    return records
