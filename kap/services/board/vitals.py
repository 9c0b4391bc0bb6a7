"""Monitoring readings: vitals, the clinical state beside them, limits, flags and plausibility.

Pure rules with no database access: the board shows the flags, the board's and the API's
writes refuse implausible or incomplete readings, and the printable summary lists every
reading flagged the same way.

What each kind of reading needs (the Spravato REMS monitoring form records blood pressure
before the dose, about 40 minutes after it and before discharge, and sedation, dissociation
and respiratory status after dosing):

- ``pre_dose``: blood pressure and heart rate (SpO2 optional).
- ``post_dose`` and ``final``: blood pressure and heart rate, and sedation, dissociation and
  respiratory status.
- ``check``: at least one of the vitals, sedation, dissociation, respiratory status or a
  note (blood pressure as a pair when given).

``post_dose``, ``check`` and ``final`` are taken after dosing only (``observations``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kap.models import Clinic, SessionObservation
from kap.services.board.clinical_scales import (
    DISSOCIATION_CLEAR,
    DISSOCIATION_LABELS,
    SEDATION_CLEAR,
    SEDATION_LABELS,
)

VITALS = ("systolic", "diastolic", "heart_rate", "spo2")
VITAL_LABELS = {
    "systolic": "Systolic",
    "diastolic": "Diastolic",
    "heart_rate": "Heart rate",
    "spo2": "SpO2",
}
#: Out-of-range limits used until a clinic sets its own in ``Clinic.vitals_limits``.
DEFAULT_VITALS_LIMITS = {
    "systolic_min": 90,
    "systolic_max": 160,
    "diastolic_min": 50,
    "diastolic_max": 100,
    "heart_rate_min": 50,
    "heart_rate_max": 110,
    "spo2_min": 94,
}
#: Values outside these are typing mistakes, not readings (refused with a field message).
PLAUSIBLE = {
    "systolic": (50, 260),
    "diastolic": (20, 160),
    "heart_rate": (20, 250),
    "spo2": (50, 100),
}
KINDS = {
    "pre_dose": "Before dosing",
    "post_dose": "Post-dose check",
    "check": "Observation check",
    "final": "Final check",
}
#: Kinds that are a vitals reading: blood pressure and heart rate required.
VITALS_KINDS = ("pre_dose", "post_dose", "final")
#: Kinds that also need sedation, dissociation and respiratory status (REMS, after dosing).
STATE_KINDS = ("post_dose", "final")
#: Kinds taken only once the patient has been dosed.
AFTER_DOSING_KINDS = ("post_dose", "check", "final")
STATE_FIELDS = ("sedation", "dissociation", "respiratory_concern")


def vitals_limits(clinic: Clinic) -> dict[str, int]:
    """The clinic's out-of-range limits: its own settings over the defaults."""
    own = {
        key: value
        for key, value in (clinic.vitals_limits or {}).items()
        if key in DEFAULT_VITALS_LIMITS and isinstance(value, int) and not isinstance(value, bool)
    }
    return {**DEFAULT_VITALS_LIMITS, **own}


@dataclass(frozen=True)
class Reading:
    """One measured value and whether it is outside the clinic's limits."""

    name: str
    label: str
    value: int | None
    flag: str | None  # "high", "low" or None

    @property
    def flag_text(self) -> str:
        return {"high": "High", "low": "Low"}.get(self.flag or "", "")


def flag_for(name: str, value: int | None, limits: dict[str, int]) -> str | None:
    """'low', 'high' or None for one value."""
    if value is None:
        return None
    low, high = limits.get(f"{name}_min"), limits.get(f"{name}_max")
    if low is not None and value < low:
        return "low"
    if high is not None and value > high:
        return "high"
    return None


def readings(observation: SessionObservation, limits: dict[str, int]) -> dict[str, Reading]:
    """The observation's vitals, each flagged against ``limits``."""
    return {
        name: Reading(
            name,
            VITAL_LABELS[name],
            getattr(observation, name),
            flag_for(name, getattr(observation, name), limits),
        )
        for name in VITALS
    }


def has_vitals(observation: SessionObservation) -> bool:
    return any(getattr(observation, name) is not None for name in VITALS)


def validate_vitals(kind: str, values: dict[str, int | None]) -> dict[str, list[str]]:
    """Field problems with a vitals reading (empty when it is plausible and complete)."""
    problems: dict[str, list[str]] = {}
    if kind not in KINDS:
        problems["kind"] = ["Choose before dosing, post-dose check, observation check or final."]
    for name in ("systolic", "diastolic", "heart_rate"):
        if values.get(name) is None:
            problems[name] = [f"Enter the {VITAL_LABELS[name].lower()}."]
    for name, (low, high) in PLAUSIBLE.items():
        value = values.get(name)
        if value is not None and not low <= value <= high:
            unit = "%" if name == "spo2" else ""
            problems[name] = [f"{VITAL_LABELS[name]} must be between {low} and {high}{unit}."]
    systolic, diastolic = values.get("systolic"), values.get("diastolic")
    if (
        systolic is not None
        and diastolic is not None
        and "diastolic" not in problems
        and diastolic >= systolic
    ):
        problems["diastolic"] = ["Diastolic must be lower than systolic."]
    return problems


def observation_flags(observation: SessionObservation, limits: dict[str, int]) -> dict[str, str]:
    """Every value needing a look: vitals 'high'/'low' against ``limits``; sedation below
    SEDATION_CLEAR (not responding readily), dissociation beyond DISSOCIATION_CLEAR (moderate,
    severe) and a respiratory concern as 'attention' - what discharge also treats as a
    concern."""
    flags = {
        name: reading.flag
        for name, reading in readings(observation, limits).items()
        if reading.flag
    }
    if observation.sedation is not None and observation.sedation < SEDATION_CLEAR:
        flags["sedation"] = "attention"
    if observation.dissociation is not None and observation.dissociation not in DISSOCIATION_CLEAR:
        flags["dissociation"] = "attention"
    if observation.respiratory_concern:
        flags["respiratory_concern"] = "attention"
    return flags


def has_state(observation: SessionObservation) -> bool:
    """Whether sedation, dissociation or respiratory status was recorded."""
    return any(getattr(observation, name) is not None for name in STATE_FIELDS)


def validate_observation(kind: str, values: dict[str, Any], note: str = "") -> dict[str, list[str]]:
    """Field problems with a reading of ``kind`` (see the module docstring for what each needs).

    ``values``: the vitals as ints, ``sedation`` an int, ``dissociation`` a key of
    DISSOCIATION_LABELS, ``respiratory_concern`` a bool; None for what was not recorded.
    """
    if kind not in KINDS:
        return {"kind": ["Choose before dosing, post-dose check, observation check or final."]}
    if kind in VITALS_KINDS:
        problems = validate_vitals(kind, values)
    else:
        problems = {}
        for name, (low, high) in PLAUSIBLE.items():
            value = values.get(name)
            if value is not None and not low <= value <= high:
                unit = "%" if name == "spo2" else ""
                problems[name] = [f"{VITAL_LABELS[name]} must be between {low} and {high}{unit}."]
        systolic, diastolic = values.get("systolic"), values.get("diastolic")
        if (systolic is None) != (diastolic is None):
            missing = "diastolic" if diastolic is None else "systolic"
            problems.setdefault(missing, []).append("Enter both systolic and diastolic.")
        elif systolic is not None and diastolic >= systolic and "diastolic" not in problems:
            problems["diastolic"] = ["Diastolic must be lower than systolic."]
    sedation = values.get("sedation")
    if sedation is not None and sedation not in SEDATION_LABELS:
        problems["sedation"] = ["Choose a sedation level from 0 to 5."]
    dissociation = values.get("dissociation")
    if dissociation is not None and dissociation not in DISSOCIATION_LABELS:
        problems["dissociation"] = ["Choose none, mild, moderate or severe."]
    if kind in STATE_KINDS:
        required = {
            "sedation": "Record the sedation level.",
            "dissociation": "Record the dissociation.",
            "respiratory_concern": "Say whether there is a concern about breathing.",
        }
        for name, message in required.items():
            if values.get(name) is None:
                problems.setdefault(name, [message])
    if kind == "check" and not problems:
        recorded = [name for name in (*VITALS, *STATE_FIELDS) if values.get(name) is not None]
        if not recorded and not note:
            problems["note"] = [
                "Record at least one of: vitals, sedation, dissociation, breathing or a note."
            ]
    return problems
