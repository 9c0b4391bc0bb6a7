"""Monitoring a dosed session: protocol times, when observation ends, when a check is due.

Dosing is the earliest recorded administration's time (``dosed_at``), or, when staff have
recorded none, the moment the patient pressed Start session. Observation runs for the
template's ``observation_minutes`` from the LATEST administration (a booster dose restarts
the clock), or from the start of the session when none is recorded.

Protocol times (``protocol_times``): pre-dose vitals before dosing; the post-dose check
``post_dose_check_minutes`` after dosing (when the template sets it), which counts when
recorded from ``POST_DOSE_EARLY`` before its due time onwards; the final check when
observation ends, which counts when recorded since observation began. Monitoring checks fall
due every ``monitoring_interval_minutes``: the first that long after dosing, each next one
that long after the latest post-dose, observation or final check. What a discharge needs is
in ``kap.services.board.discharge_rules``.

The rules take the session, its observations and administrations and an explicit ``now``,
and read nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from kap.models import (
    Clinic,
    MedicationAdministration,
    SessionObservation,
    TreatmentSession,
)
from kap.timezones import to_local

#: A post-dose check counts from this long before its due time (any time after is late, but
#: counts): a reading a few minutes early is the protocol's reading, not an extra one.
POST_DOSE_EARLY = timedelta(minutes=10)
#: A session started, checked in or dosed stays under way past its local day's midnight (on
#: the board, and for recording its doses) until discharged, for this long at most.
CARRY_OVER = timedelta(hours=24)
Administrations = Sequence[MedicationAdministration]

# --- Time in words --------------------------------------------------------------------------


def minutes_text(minutes: int) -> str:
    """'45 min', '2 h', '1 h 05 min'."""
    hours, rest = divmod(max(minutes, 0), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest:02d} min"


def whole_minutes(delta: timedelta) -> int:
    """``delta`` in whole minutes, rounded down, never below 0."""
    return max(int(delta.total_seconds() // 60), 0)


def minutes_until(later: datetime, now: datetime) -> str:
    """Whole minutes from ``now`` to ``later``, rounded up (a countdown never shows 0 early)."""
    return minutes_text(-int((now - later).total_seconds() // 60))


def clock_time(moment: datetime, clinic: Clinic) -> str:
    """'14:30' in the clinic's time zone."""
    return to_local(moment, clinic.timezone).strftime("%H:%M")


# --- The rules ------------------------------------------------------------------------------


def dosed_at(session: TreatmentSession, administrations: Administrations = ()) -> datetime | None:
    """When the patient was dosed: the earliest administration, else the session's start."""
    if administrations:
        return min(given.given_at for given in administrations)
    return session.session_started_at


def observation_starts_at(
    session: TreatmentSession, administrations: Administrations = ()
) -> datetime | None:
    """The latest administration (a booster restarts the clock), else the session's start."""
    if administrations:
        return max(given.given_at for given in administrations)
    return session.session_started_at


def observation_ends_at(
    session: TreatmentSession, administrations: Administrations = ()
) -> datetime | None:
    """When the monitored observation is over (None until dosing)."""
    starts = observation_starts_at(session, administrations)
    if starts is None:
        return None
    return starts + timedelta(minutes=session.template_version.observation_minutes)


def monitoring_checks(
    session: TreatmentSession,
    observations: list[SessionObservation],
    administrations: Administrations = (),
) -> list[SessionObservation]:
    """The post-dose, observation and final checks recorded since dosing (none before it)."""
    dosed = dosed_at(session, administrations)
    if dosed is None:
        return []
    return [
        o
        for o in observations
        if o.kind in ("post_dose", "check", "final") and o.recorded_at >= dosed
    ]


def next_check_due_at(
    session: TreatmentSession,
    observations: list[SessionObservation],
    interval_minutes: int,
    administrations: Administrations = (),
) -> datetime | None:
    """The interval after the latest monitoring check, or after dosing if none (None before)."""
    dosed = dosed_at(session, administrations)
    if dosed is None or session.discharged_at is not None:
        return None
    checks = monitoring_checks(session, observations, administrations)
    latest = checks[-1].recorded_at if checks else dosed
    return latest + timedelta(minutes=interval_minutes)


@dataclass(frozen=True)
class ProtocolTime:
    """One reading the protocol asks for: when it is due, and when it was taken."""

    kind: str  # "pre_dose", "post_dose" or "final"
    label: str
    due_at: datetime | None  # None: before dosing, whenever that is
    done_at: datetime | None
    overdue: bool


def _first(
    observations: list[SessionObservation], kind: str, since: datetime | None
) -> SessionObservation | None:
    return next(
        (o for o in observations if o.kind == kind and (since is None or o.recorded_at >= since)),
        None,
    )


def _last(
    observations: list[SessionObservation], kind: str, since: datetime | None
) -> SessionObservation | None:
    return next(
        (
            o
            for o in reversed(observations)
            if o.kind == kind and (since is None or o.recorded_at >= since)
        ),
        None,
    )


def protocol_readings(
    session: TreatmentSession,
    observations: list[SessionObservation],
    administrations: Administrations,
) -> dict[str, SessionObservation | None]:
    """The reading that counts for each protocol time (``observations`` in time order), the
    one rule for the board and the printed record: the LATEST pre-dose reading (staff may
    re-measure a high first BP; the dose was decided on the last one, and none is accepted
    after dosing); the first post-dose from ``POST_DOSE_EARLY`` before it is due (when the
    template has one and the patient is dosed); the LATEST final check since observation began
    (the one a discharge is decided on, as ``discharge_rules`` counts it)."""
    dosed = dosed_at(session, administrations)
    chosen = {"pre_dose": _last(observations, "pre_dose", None), "post_dose": None, "final": None}
    minutes = session.template_version.post_dose_check_minutes
    if minutes > 0 and dosed is not None:
        due = dosed + timedelta(minutes=minutes)
        chosen["post_dose"] = _first(observations, "post_dose", due - POST_DOSE_EARLY)
    if observation_ends_at(session, administrations) is not None:
        since = observation_starts_at(session, administrations)
        chosen["final"] = _last(observations, "final", since)
    return chosen


def _taken_at(observation: SessionObservation | None) -> datetime | None:
    return observation.recorded_at if observation is not None else None


def protocol_times(
    session: TreatmentSession,
    observations: list[SessionObservation],
    administrations: Administrations,
    now: datetime,
) -> list[ProtocolTime]:
    """Pre-dose vitals, the post-dose check (when the template has one) and the final check."""
    dosed = dosed_at(session, administrations)
    chosen = protocol_readings(session, observations, administrations)
    pre_done = _taken_at(chosen["pre_dose"])
    times = [ProtocolTime("pre_dose", "Pre-dose vitals", None, pre_done, False)]
    if dosed is not None and pre_done is None:  # dosed without them: missing for good
        times[0] = ProtocolTime("pre_dose", "Pre-dose vitals", dosed, None, True)
    minutes = session.template_version.post_dose_check_minutes
    if minutes > 0 and dosed is not None:
        due = dosed + timedelta(minutes=minutes)
        done = _taken_at(chosen["post_dose"])
        overdue = done is None and now > due
        times.append(ProtocolTime("post_dose", "Post-dose vitals", due, done, overdue))
    ends = observation_ends_at(session, administrations)
    if ends is not None:
        done = _taken_at(chosen["final"])
        overdue = done is None and now > ends
        times.append(ProtocolTime("final", "Final check", ends, done, overdue))
    return times


def protocol_text(item: ProtocolTime, clinic: Clinic, now: datetime) -> str:
    """'Post-dose vitals due 10:50 (in 12 min)', 'Overdue: post-dose vitals, due 10:50
    (7 min ago)', 'Post-dose vitals done 10:51', 'Pre-dose vitals due before dosing'."""
    if item.done_at is not None:
        return f"{item.label} done {clock_time(item.done_at, clinic)}"
    if item.due_at is None:
        return f"{item.label} due before dosing"
    if item.kind == "pre_dose":
        return f"Missing: pre-dose vitals (none before dosing at {clock_time(item.due_at, clinic)})"
    if item.overdue:
        ago = minutes_text(whole_minutes(now - item.due_at))
        return f"Overdue: {item.label.lower()}, due {clock_time(item.due_at, clinic)} ({ago} ago)"
    return (
        f"{item.label} due {clock_time(item.due_at, clinic)} (in {minutes_until(item.due_at, now)})"
    )


def suggested_kind(
    session: TreatmentSession,
    now: datetime,
    administrations: Administrations = (),
    observations: list[SessionObservation] | None = None,
) -> str:
    """The reading kind staff most likely record next."""
    if dosed_at(session, administrations) is None:
        return "pre_dose"
    for item in protocol_times(session, observations or [], administrations, now):
        if (
            item.kind == "post_dose"
            and item.done_at is None
            and item.due_at is not None
            and now >= item.due_at - POST_DOSE_EARLY
        ):
            return "post_dose"
    ends = observation_ends_at(session, administrations)
    return "final" if ends is not None and now >= ends else "check"
