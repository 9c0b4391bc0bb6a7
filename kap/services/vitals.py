"""Vitals readings: what is measured, the clinic's out-of-range limits, flags and plausibility.

Pure rules with no database access: the board shows the flags, the board's writes refuse
implausible values, and the printable summary lists every reading flagged the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from kap.models import Clinic, SessionObservation

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
KINDS = {"pre_dose": "Before dosing", "check": "Observation check", "final": "Final check"}


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
        problems["kind"] = ["Choose before dosing, observation check or final check."]
    for name in ("systolic", "diastolic", "heart_rate"):
        if values.get(name) is None:
            problems[name] = [f"Enter the {VITAL_LABELS[name].lower()}."]
    for name, (low, high) in PLAUSIBLE.items():
        value = values.get(name)
        if value is not None and not low <= value <= high:
            unit = "%" if name == "spo2" else ""
            problems[name] = [f"{VITAL_LABELS[name]} must be between {low} and {high}{unit}."]
    systolic, diastolic = values.get("systolic"), values.get("diastolic")
    both = systolic is not None and diastolic is not None and "diastolic" not in problems
    if both and diastolic >= systolic:
        problems["diastolic"] = ["Diastolic must be lower than systolic."]
    return problems
