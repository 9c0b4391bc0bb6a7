"""Monitoring a dosed session: when observation ends and when a check is due (timing only).

Observation runs from the start of the session (dosing) for the template's
``observation_minutes``. Monitoring checks fall due every ``monitoring_interval_minutes``:
the first that long after dosing, each next one that long after the latest check. What a
discharge needs is in ``kap.services.discharge``.

The rules take the session, its observations and an explicit ``now``, and read nothing else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kap.models import Clinic, SessionObservation, TreatmentSession
from kap.services.scheduling import to_local

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


def observation_ends_at(session: TreatmentSession) -> datetime | None:
    """When the monitored observation is over (None until dosing)."""
    if session.session_started_at is None:
        return None
    return session.session_started_at + timedelta(
        minutes=session.template_version.observation_minutes
    )


def monitoring_checks(
    session: TreatmentSession, observations: list[SessionObservation]
) -> list[SessionObservation]:
    """The checks and final checks recorded since dosing (none before it)."""
    started = session.session_started_at
    if started is None:
        return []
    return [o for o in observations if o.kind in ("check", "final") and o.recorded_at >= started]


def next_check_due_at(
    session: TreatmentSession, observations: list[SessionObservation], interval_minutes: int
) -> datetime | None:
    """The interval after the latest monitoring check, or after dosing if none (None before)."""
    if session.session_started_at is None or session.discharged_at is not None:
        return None
    checks = monitoring_checks(session, observations)
    latest = checks[-1].recorded_at if checks else session.session_started_at
    return latest + timedelta(minutes=interval_minutes)


def suggested_kind(session: TreatmentSession, now: datetime) -> str:
    """The vitals kind staff most likely record next."""
    ends = observation_ends_at(session)
    if ends is None:
        return "pre_dose"
    return "final" if now >= ends else "check"
