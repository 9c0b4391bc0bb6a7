"""The discharge rule, pure: what stands between a session and discharge, by field key.

Discharge needs all of:

- the observation time over (``board.monitoring.observation_ends_at``);
- a final check that counts, with blood pressure and heart rate. A final counts when it was
  recorded since the latest dose, no earlier than ``FINAL_CHECK_TOLERANCE_MINUTES`` before
  observation ends (clinically the final check is taken as observation ends: a "final" one
  minute after dosing says nothing about the patient going home), and after the latest
  reopening of a discharge (a reopened patient needs a new final check, never the one they
  were first discharged on). The latest such final is the one that counts;
- that final check clear: no vital outside the clinic's limits (``vitals.readings``) and,
  read as a clinician — a sedated or breathing-impaired patient must not go home on one
  click — no respiratory concern, sedation (when recorded) back to MOAA/S 5, dissociation
  (when recorded) none or mild (``final_check_concerns``);
- every reading recorded after that final (a post-dose or observation check) clear by the
  same measure: a later bad reading is not hidden behind an earlier good final. Its
  concerns join the final's; any concern needs a clinician's written override reason;
- the ride home confirmed: who is driving.

Every blocker is collected at once, each under a field key (``OBSERVATION``,
``FINAL_VITALS``, ``OVERRIDE_REASON``, ``DRIVER``) that the API's 409 and the board share.
The rules take the session, its observations, the latest reopening and an explicit ``now``,
and read nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kap.models import Clinic, SessionObservation, SessionStatus, TreatmentSession
from kap.services.board.clinical_scales import DISSOCIATION_CLEAR, SEDATION_CLEAR
from kap.services.board.monitoring import (
    Administrations,
    clock_time,
    minutes_until,
    monitoring_checks,
    observation_ends_at,
    observation_starts_at,
)
from kap.services.board.vitals import KINDS, VITALS, Reading, readings, vitals_limits

#: A discharge can be undone this long after it was recorded (mistakes happen); later, what
#: happened after the patient left belongs in a clinical note.
REOPEN_WINDOW_MINUTES = 60
MIN_OVERRIDE_LENGTH = 10
MAX_REASON_LENGTH = 1000
MAX_DRIVER_LENGTH = 120
#: A final check counts from this long before observation ends (taken as observation ends).
FINAL_CHECK_TOLERANCE_MINUTES = 15

OBSERVATION = "observation"
FINAL_VITALS = "final_vitals"
OVERRIDE_REASON = "override_reason"
DRIVER = "driver"
BLOCKED_CODE = "discharge_blocked"
DRIVER_MISSING = "Confirm the ride home: write who is driving the patient."


@dataclass(frozen=True)
class Readiness:
    """Where a session stands for discharge, before anyone types a driver or a reason.

    ``closed`` says why it cannot be discharged at all (cancelled, already discharged);
    ``blockers`` what must happen first (observation time, a final check); ``concerns`` the
    out-of-range codes of the final check and of any reading after it (e.g.
    ``systolic_high``, ``sedation_3``, each once), which need a written override, and
    ``concerns_text`` the same in words.
    """

    closed: str = ""
    blockers: dict[str, str] = field(default_factory=dict)
    final: SessionObservation | None = None
    concerns: tuple[str, ...] = ()
    concerns_text: str = ""
    #: Where the concerns come from: the final's vitals, its clinical state, later readings.
    final_vitals_out: bool = False
    final_clear: bool = True

    @property
    def needs_override(self) -> bool:
        return bool(self.concerns)

    @property
    def can_proceed(self) -> bool:
        """Nothing but the driver (and any override reason) stands in the way."""
        return not self.closed and not self.blockers

    @property
    def override_message(self) -> str:
        if not self.needs_override:
            return ""
        if self.final_vitals_out:
            head = "Final vitals are outside the clinic's limits"
        elif not self.final_clear:
            head = "The final check is not clear for discharge"
        else:
            head = "A reading after the final check is not clear for discharge"
        return (
            f"{head}: {self.concerns_text}. "
            "Record new vitals, or write why the patient may leave anyway."
        )


def _bp_text(systolic: Reading, diastolic: Reading) -> str:
    if systolic.flag and systolic.flag == diastolic.flag:
        return f"BP {systolic.value}/{diastolic.value} ({systolic.flag})"
    marked = [f"{r.value} ({r.flag})" if r.flag else f"{r.value}" for r in (systolic, diastolic)]
    return "BP " + "/".join(marked)


def final_check_concerns(final: SessionObservation, clinic: Clinic) -> tuple[list[str], list[str]]:
    """What keeps ``final`` from being clear: (codes, the same in words)."""
    flagged = readings(final, vitals_limits(clinic))
    codes = [f"{name}_{r.flag}" for name, r in flagged.items() if r.flag]
    words = []
    if flagged["systolic"].flag or flagged["diastolic"].flag:
        words.append(_bp_text(flagged["systolic"], flagged["diastolic"]))
    if flagged["heart_rate"].flag:
        words.append(f"heart rate {final.heart_rate} ({flagged['heart_rate'].flag})")
    if flagged["spo2"].flag:
        words.append(f"SpO2 {final.spo2}% ({flagged['spo2'].flag})")
    if final.sedation is not None and final.sedation < SEDATION_CLEAR:
        codes.append(f"sedation_{final.sedation}")
        words.append(f"sedation MOAA/S {final.sedation} (not back to {SEDATION_CLEAR})")
    if final.dissociation and final.dissociation not in DISSOCIATION_CLEAR:
        codes.append(f"dissociation_{final.dissociation}")
        words.append(f"dissociation {final.dissociation}")
    if final.respiratory_concern:
        codes.append("respiratory_concern")
        words.append("a respiratory concern")
    return codes, words


def _later_concerns(
    final: SessionObservation, checks: list[SessionObservation], clinic: Clinic
) -> tuple[list[str], list[str]]:
    """The concerns of every reading recorded after ``final`` (codes, words with their time)."""
    codes, words = [], []
    for later in checks[checks.index(final) + 1 :]:
        later_codes, later_words = final_check_concerns(later, clinic)
        if later_codes:
            codes.extend(later_codes)
            label = KINDS.get(later.kind, later.kind)
            at = clock_time(later.recorded_at, clinic)
            words.append(f"{label} at {at}: " + ", ".join(later_words))
    return codes, words


def _no_final_counts(
    finals: list[SessionObservation],
    earliest: datetime,
    ends: datetime,
    reopened_at: datetime | None,
    clinic: Clinic,
    now: datetime,
) -> str:
    """Why no final check counts, and when one may be taken."""
    counts_from = (
        f"A final check counts from {clock_time(earliest, clinic)} "
        f"({FINAL_CHECK_TOLERANCE_MINUTES} min before observation ends at "
        f"{clock_time(ends, clinic)})"
    )
    if reopened_at is not None and any(f.recorded_at <= reopened_at for f in finals):
        return (
            f"The discharge was reopened at {clock_time(reopened_at, clinic)}: record a new "
            "final check after reopening."
        )
    if finals:
        return f"{counts_from}; the one recorded is too early: record one then."
    message = "Record a final vitals check (none since observation began)."
    return f"{message} {counts_from}." if now < earliest else message


def readiness(
    session: TreatmentSession,
    observations: list[SessionObservation],
    clinic: Clinic,
    now: datetime,
    administrations: Administrations = (),
    reopened_at: datetime | None = None,
) -> Readiness:
    """The discharge rule for one session (pure: reads only what it is given).

    Observation and the final check count from the latest dose (``administrations``, as
    ``board.monitoring`` reads them: a booster restarts both), and the final check from
    ``FINAL_CHECK_TOLERANCE_MINUTES`` before observation ends and after ``reopened_at`` (the
    latest reopening of a discharge, if any).
    """
    if session.status == SessionStatus.CANCELLED:
        return Readiness(closed="This session was cancelled.")
    if session.discharged_at is not None:
        at = clock_time(session.discharged_at, clinic)
        return Readiness(closed=f"Already discharged at {at}.")
    ends = observation_ends_at(session, administrations)
    dosed = observation_starts_at(session, administrations)
    if ends is None or dosed is None:  # both None until dosing
        return Readiness(
            blockers={
                OBSERVATION: "The session has not started: observation begins at dosing.",
                FINAL_VITALS: "Record a final vitals check after observation has begun.",
            }
        )
    blockers = {}
    if now < ends:
        left = minutes_until(ends, now)
        blockers[OBSERVATION] = f"Observation runs until {clock_time(ends, clinic)} ({left} left)."
    earliest = max(dosed, ends - timedelta(minutes=FINAL_CHECK_TOLERANCE_MINUTES))
    checks = [
        o
        for o in monitoring_checks(session, observations, administrations)
        if o.recorded_at >= dosed
    ]
    finals = [o for o in checks if o.kind == "final"]
    counted = [
        o
        for o in finals
        if o.recorded_at >= earliest and (reopened_at is None or o.recorded_at > reopened_at)
    ]
    if not counted:
        blockers[FINAL_VITALS] = _no_final_counts(finals, earliest, ends, reopened_at, clinic, now)
        return Readiness(blockers=blockers)
    final = counted[-1]
    if None in (final.systolic, final.diastolic, final.heart_rate):
        blockers[FINAL_VITALS] = (
            "The latest final check has no blood pressure or heart rate: record final vitals."
        )
        return Readiness(blockers=blockers, final=final)
    codes, words = final_check_concerns(final, clinic)
    vitals_out = any(code.rsplit("_", 1)[0] in VITALS for code in codes)
    final_clear = not codes
    later_codes, later_words = _later_concerns(final, checks, clinic)
    return Readiness(
        blockers=blockers,
        final=final,
        concerns=tuple(dict.fromkeys([*codes, *later_codes])),
        concerns_text="; ".join(filter(None, [", ".join(words), *later_words])),
        final_vitals_out=vitals_out,
        final_clear=final_clear,
    )


def blockers_for(ready: Readiness, driver: str, override_reason: str) -> dict[str, list[str]]:
    """Every blocker, by field key, once the driver and override reason are given."""
    fields = {key: [message] for key, message in ready.blockers.items()}
    if ready.needs_override and not override_reason:
        fields[OVERRIDE_REASON] = [ready.override_message]
    elif ready.needs_override and len(override_reason) < MIN_OVERRIDE_LENGTH:
        fields[OVERRIDE_REASON] = [
            f"Write at least {MIN_OVERRIDE_LENGTH} characters on why the patient may leave "
            f"with {ready.concerns_text}."
        ]
    if not driver:
        fields[DRIVER] = [DRIVER_MISSING]
    return fields


def can_reopen(session: TreatmentSession, now: datetime) -> bool:
    """Discharged, and within the reopening window."""
    at = session.discharged_at
    return at is not None and now - at <= timedelta(minutes=REOPEN_WINDOW_MINUTES)
