"""What was given at a session: medication, route, dose with unit, lot, time, who gave it.

Records, never advice: the clinician types the dose; nothing here proposes one,
fills one in from the template or remembers the last one. Clinicians of the session's
clinic record it (``board.scope``); several per session (a booster dose); refused once the
session is cancelled or discharged; audited without the note's text.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from kap.extensions import db
from kap.models import Clinic, DoseRoute, MedicationAdministration, TreatmentSession, User
from kap.models.base import utcnow
from kap.services import audit
from kap.services.board.monitoring import CARRY_OVER
from kap.services.board.scope import lock_session_for_update, records_by_session
from kap.services.errors import Conflict, Invalid
from kap.services.unit_of_work import use_case
from kap.timezones import local_day_bounds, local_to_utc, to_local

#: The route vocabulary: stored value -> label in a form.
ROUTES = {
    "intranasal": "Intranasal",
    "iv": "Intravenous (IV)",
    "im": "Intramuscular (IM)",
    "oral": "Oral",
    "sublingual": "Sublingual",
    "subcutaneous": "Subcutaneous",
}
#: How a route reads inside a sentence: "56 mg intranasal", "0.5 mg/kg IV".
ROUTE_WORDS = {
    "intranasal": "intranasal",
    "iv": "IV",
    "im": "IM",
    "oral": "oral",
    "sublingual": "sublingual",
    "subcutaneous": "subcutaneous",
}
UNITS = ("mg", "mg/kg", "mcg", "mL")
#: The administration route that matches a template's route (a form may pre-select it).
TEMPLATE_ROUTES: dict[str, str] = {
    DoseRoute.ESKETAMINE_NASAL: "intranasal",
    DoseRoute.IV_INFUSION: "iv",
    DoseRoute.IM_INJECTION: "im",
    DoseRoute.ORAL_LOZENGE: "sublingual",
}
MAX_MEDICATION = 120
MAX_LOT = 60
MAX_NOTE = 500
MAX_DOSE = Decimal("100000")
DOSE_DECIMALS = 3
#: A time given may be this far ahead of the server's clock (devices' clocks drift).
FUTURE_TOLERANCE = timedelta(minutes=5)


def route_for_template(session: TreatmentSession) -> str:
    """The route matching the session's template, for a form to pre-select ('' if none)."""
    return TEMPLATE_ROUTES.get(session.template_version.template.route, "")


def parse_dose(value: object) -> Decimal:
    """A positive decimal below 100000 with at most 3 decimals (never a float), or Invalid."""
    problem = Invalid("Check the dose.", {"dose": ["Enter the dose given, e.g. 56 or 0.5."]})
    if isinstance(value, bool) or value is None:
        raise problem
    if isinstance(value, int | float):
        value = repr(value)  # the shortest text that reads back as the same number
    if not isinstance(value, str) or not value.strip():
        raise problem
    try:
        dose = Decimal(value.strip())
    except InvalidOperation:
        raise problem from None
    if not dose.is_finite() or dose <= 0:
        raise Invalid("Check the dose.", {"dose": ["The dose must be more than 0."]})
    if dose >= MAX_DOSE:
        raise Invalid("Check the dose.", {"dose": ["The dose must be below 100000."]})
    exponent = dose.normalize().as_tuple().exponent  # an int: the dose is finite
    if isinstance(exponent, int) and -exponent > DOSE_DECIMALS:
        raise Invalid("Check the dose.", {"dose": ["Use at most 3 decimal places."]})
    return dose.quantize(Decimal("0.001"))


def dose_text(dose: Decimal) -> str:
    """'56', '0.5', '12.125': the dose as typed, without trailing zeros."""
    return format(dose.normalize(), "f")


def dose_number(dose: Decimal) -> int | float:
    """The dose as a JSON number (an int when whole)."""
    return int(dose) if dose == dose.to_integral_value() else float(dose)


def _text(value: object, name: str, limit: int, *, required: bool, message: str = "") -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"Check the {name}.", {name: ["Text, please."]})
    value = value.strip()
    if required and not value:
        raise Invalid(f"Check the {name}.", {name: [message or "This field is required."]})
    if len(value) > limit:
        raise Invalid(f"Check the {name}.", {name: [f"Up to {limit} characters."]})
    return value


def _check_time(session: TreatmentSession, zone: str, given_at: datetime, now: datetime) -> None:
    day_starts, day_ends = local_day_bounds(session.scheduled_at, zone)
    if given_at > now + FUTURE_TOLERANCE:
        raise Invalid("Check the time given.", {"at": ["The time given cannot be in the future."]})
    if given_at < day_starts:
        raise Invalid(
            "Check the time given.",
            {"at": ["The time given cannot be before the session's day."]},
        )
    if given_at >= day_ends + CARRY_OVER:
        raise Invalid(
            "Check the time given.",
            {"at": ["The time given must be on the session's day (or the night after it)."]},
        )


def _ensure_dosable(session: TreatmentSession, zone: str, now: datetime) -> None:
    """Conflict unless a dose may be recorded now: on the session's local day (or, once it is
    under way - checked in, started or dosed - until the carry-over after that day), and after
    check-in when its template requires one."""
    day_starts, day_ends = local_day_bounds(session.scheduled_at, zone)
    under_way = session.checked_in_at is not None or session.session_started_at is not None
    under_way = under_way or bool(administrations_of([session.id])[session.id])
    if not (
        day_starts <= now < day_ends or (under_way and day_ends <= now < day_ends + CARRY_OVER)
    ):
        raise Conflict(
            "Doses are recorded on the day of the session only; this session is booked for "
            f"{to_local(session.scheduled_at, zone):%a %-d %b %Y}.",
            code="not_today",
        )
    if session.template_version.requires_check_in and session.checked_in_at is None:
        raise Conflict(
            "Check the patient in first (ID, pre-dose vitals).", code="check_in_required"
        )


def given_at_from_clock(clock: time | None, zone: str, now: datetime) -> datetime | None:
    """A clock time typed on the board as the moment it last was (today, or yesterday when
    today's would be more than 5 minutes ahead: 23:50 typed at 00:10); None for none."""
    if clock is None:
        return None
    today = to_local(now, zone).date()
    moment = local_to_utc(today, clock, zone)
    if moment > now + FUTURE_TOLERANCE:
        moment = local_to_utc(today - timedelta(days=1), clock, zone)
    return moment


def validate(
    session: TreatmentSession, zone: str, fields: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The clean values of an administration, or Invalid naming every field at fault."""
    problems: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    checks: dict[str, Callable[[object], object]] = {
        "medication": lambda v: _text(
            v, "medication", MAX_MEDICATION, required=True, message="Enter the medication given."
        ),
        "route": lambda v: _choice(v, "route", ROUTES),
        "dose": parse_dose,
        "unit": lambda v: _choice(v, "unit", UNITS),
        "lot": lambda v: _text(v, "lot", MAX_LOT, required=False),
        "note": lambda v: _text(v, "note", MAX_NOTE, required=False),
    }
    for name, check in checks.items():
        try:
            clean[name] = check(fields.get(name))
        except Invalid as error:
            for field, messages in error.fields.items():
                problems.setdefault(field, []).extend(messages)
    given_at = fields.get("at") or now
    try:
        _check_time(session, zone, given_at, now)
    except Invalid as error:
        problems.update(error.fields)
    if problems:
        raise Invalid("Some details of the administration need another look.", problems)
    clean["given_at"] = given_at
    return clean


def _choice(value: object, name: str, options: Collection[str]) -> str:
    if isinstance(value, str) and value in options:
        return value
    raise Invalid(
        f"Choose the {name}.", {name: [f"Choose the {name}: " + ", ".join(options) + "."]}
    )


@use_case
def record_administration(
    user: User, session_id: int, fields: dict[str, Any], now: datetime | None = None
) -> MedicationAdministration:
    """Record what ``user`` gave at a session of their clinic.

    ``fields``: medication, route, dose (a number or decimal text), unit, lot, note, and
    ``at`` (an aware datetime, default now: not more than 5 minutes ahead, within the
    session's local day or the carry-over after it). Refused (409) off the session's day
    (``not_today``) and before check-in when the template requires it
    (``check_in_required``).
    """
    now = now or utcnow()
    # Clinicians of its clinic only; locked so no discharge slips in before this dose commits.
    session = lock_session_for_update(user, session_id)
    if session.status == "cancelled":
        raise Conflict("This session was cancelled.")
    if session.discharged_at is not None:
        raise Conflict("This patient has been discharged; the session record is closed.")
    _ensure_dosable(session, user.clinic.timezone, now)
    clean = validate(session, user.clinic.timezone, fields, now)
    given = MedicationAdministration(
        session_id=session.id,
        clinic_id=session.clinic_id,
        medication=clean["medication"],
        route=clean["route"],
        dose=clean["dose"],
        unit=clean["unit"],
        lot=clean["lot"],
        given_at=clean["given_at"],
        given_by_id=user.id,
        recorded_at=now,
        note=clean["note"],
    )
    db.session.add(given)
    db.session.flush()
    audit.record(
        "session.administration",
        actor=user,
        subject_type="medication_administration",
        subject_id=given.id,
        patient_id=session.patient_id,
        detail=(
            f"medication={given.medication}; dose={dose_text(given.dose)}; "
            f"unit={given.unit}; route={given.route}"
        ),
    )
    return given


def administrations_of(session_ids: list[int]) -> dict[int, list[MedicationAdministration]]:
    """What was given at each session, in order given, in one query (callers pass sessions
    already scoped)."""
    return records_by_session(
        MedicationAdministration, MedicationAdministration.given_at, session_ids
    )


def describe(given: MedicationAdministration, clinic: Clinic, given_by: str = "") -> str:
    """'Esketamine (Spravato) 56 mg intranasal at 10:10 by Dr. Tess Rivera, lot DEMO-24A17'."""
    from kap.services.board.monitoring import clock_time

    text = (
        f"{given.medication} {dose_text(given.dose)} {given.unit} "
        f"{ROUTE_WORDS.get(given.route, given.route)} at {clock_time(given.given_at, clinic)}"
    )
    who = given_by or (given.given_by.name if given.given_by else "")
    if who:
        text += f" by {who}"
    if given.lot:
        text += f", lot {given.lot}"
    return text
