"""A clinic's own settings: name, time zone, preparation numbers, start window, phone, crisis
contacts. Every saved change is audited (``clinic.settings.update``, the changed field names)."""

from __future__ import annotations

import re
from zoneinfo import available_timezones

from kap.models import Clinic, User
from kap.services import audit
from kap.services.errors import Invalid
from kap.services.unit_of_work import use_case

MAX_CONTACTS = 6
#: Session mode may open at most 12 hours before the booked time (and never before its day).
MAX_START_WINDOW_MINUTES = 720
MAX_PHONE_LENGTH = 40
_PHONE = re.compile(r"[0-9 +\-()]*")
PHONE_MESSAGE = (
    f"Use digits, spaces, +, -, ( and ) only, up to {MAX_PHONE_LENGTH} characters "
    "(e.g. +1 212 555 0142)."
)
_CONTACT_KEYS = ("name", "phone", "sms", "url", "description")


def tel_uri(phone: str) -> str:
    """A ``tel:`` link for a number as people write it: '+1 212 555 0142' → 'tel:+12125550142'."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return f"tel:{'+' if phone.strip().startswith('+') else ''}{digits}"


def clinic_phone_line(clinic: Clinic) -> dict[str, str] | None:
    """The clinic's own line for the Crisis support page ({name, phone, tel}), or None."""
    if not clinic.phone:
        return None
    return {"name": clinic.name, "phone": clinic.phone, "tel": tel_uri(clinic.phone)}


def _phone_errors(phone: str) -> list[str]:
    if not phone:
        return []
    if (
        len(phone) > MAX_PHONE_LENGTH
        or not _PHONE.fullmatch(phone)
        or sum(ch.isdigit() for ch in phone) < 3
    ):
        return [PHONE_MESSAGE]
    return []


@use_case
def update_settings(
    actor: User,
    *,
    name: str,
    timezone: str,
    fasting_hours: int,
    clear_liquids_hours: int,
    substance_free_hours: int,
    crisis_contacts: list[dict[str, str]],
    start_window_minutes: int,
    phone: str = "",
) -> Clinic:
    """Change the actor's clinic's settings after checking every value; audit what changed."""
    phone = (phone or "").strip()
    errors: dict[str, list[str]] = {}
    if not name.strip() or len(name) > 200:
        errors["name"] = ["Enter the clinic's name (up to 200 characters)."]
    if timezone not in available_timezones():
        errors["timezone"] = ["Choose a time zone from the list."]
    for field, value, high in (
        ("fasting_hours", fasting_hours, 24),
        ("clear_liquids_hours", clear_liquids_hours, 24),
        ("substance_free_hours", substance_free_hours, 168),
    ):
        if value is None or not 0 <= value <= high:
            errors[field] = [f"Enter a whole number of hours from 0 to {high}."]
    if (
        not isinstance(start_window_minutes, int)
        or not 0 <= start_window_minutes <= MAX_START_WINDOW_MINUTES
    ):
        errors["start_window_minutes"] = [
            f"Enter a whole number of minutes from 0 to {MAX_START_WINDOW_MINUTES}."
        ]
    if phone_errors := _phone_errors(phone):
        errors["phone"] = phone_errors
    # Errors keep each row's own index (the page shows every row, filled or not).
    rows = [
        (index, contact)
        for index, contact in enumerate(crisis_contacts[:MAX_CONTACTS])
        if any((value or "").strip() for value in contact.values())
    ]
    contacts = [contact for _, contact in rows]
    if not contacts:
        errors["contacts"] = ["Keep at least one crisis contact."]
    for index, contact in rows:
        if not (contact.get("name") or "").strip():
            errors[f"contacts-{index}-name"] = ["Name the contact."]
        if not any((contact.get(k) or "").strip() for k in ("phone", "sms", "url")):
            errors[f"contacts-{index}-phone"] = ["Give a phone number, text number or website."]
        url = (contact.get("url") or "").strip()
        if url and not url.startswith("https://"):
            errors[f"contacts-{index}-url"] = ["Websites must start with https://"]
    if errors:
        raise Invalid("Some fields need attention.", errors)
    clinic = actor.clinic
    wanted = {
        "name": name.strip(),
        "timezone": timezone,
        "fasting_hours": fasting_hours,
        "clear_liquids_hours": clear_liquids_hours,
        "substance_free_hours": substance_free_hours,
        "start_window_minutes": start_window_minutes,
        "phone": phone,
        "crisis_contacts": [
            {k: (c.get(k) or "").strip()[:300] for k in _CONTACT_KEYS} for c in contacts
        ],
    }
    current = {field: getattr(clinic, field) for field in wanted}
    # Stored contacts may lack keys the form always sends (e.g. "url"): compare them filled in.
    current["crisis_contacts"] = [
        {k: (c.get(k) or "") for k in _CONTACT_KEYS} for c in clinic.crisis_contacts or []
    ]
    changed = [field for field, value in wanted.items() if current[field] != value]
    for field in changed:
        setattr(clinic, field, wanted[field])
    if changed:
        # Field names only: free text (names, numbers, contacts) stays out of the audit log.
        audit.record(
            "clinic.settings.update",
            actor=actor,
            subject_type="clinic",
            subject_id=clinic.id,
            detail="changed=" + ",".join(changed),
        )
    return clinic
